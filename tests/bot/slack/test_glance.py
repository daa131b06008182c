"""`/crm account`, `/crm contact`, the "open" buttons and the managers' lists through Slack: signed requests
into create_app(), Block Kit replies via response_url (issue 13)."""
from __future__ import annotations

from tests.bot.slack.harness import blocks_text, buttons


def test_account_card_and_its_open_buttons_over_slack(slack, fake_slack):  # type: ignore[no-untyped-def]
    for text in ('lead add "Ann Lee" company="Acme Inc." email=ann@acme.com', "lead convert L-1",
                 "quote D-1 PRO x10 discount=25", "ticket new Acme high Login fails", "log D-1 call Budget agreed"):
        assert slack.command("U01EMMA", text).status_code == 200
    r = slack.command("U01EMMA", "account acme")
    assert r.status_code == 200  # answered inline (within the budget) or through response_url: last_response has it
    reply = slack.last_response()
    text = blocks_text(reply)
    assert reply["response_type"] == "ephemeral"
    assert "Account · Acme Inc." in text and "Ann Lee · ann@acme.com" in text
    assert "Q-1 v1 · ¥10,170.00 · waiting for approval A-1 (level 1 of 2)" in text
    assert "T-1 · high · Login fails" in text
    assert "Budget agreed — Emma Jones (D-1)" in text
    assert [(label, action.split("#")[0], value) for label, action, value in buttons(reply)] == [("Open D-1", "record.open", "D-1"), ("Open T-1", "record.open", "T-1"),
                              ("Open contact", "contact.open", "1")]
    slack.click("U01EMMA", "record.open", "D-1")
    deal = blocks_text(slack.last_response())
    assert "Deal D-1" in deal and "Latest quote" in deal and "waiting for approval A-1" in deal
    slack.click("U01EMMA", "contact.open", "1")
    assert "Contact · Ann Lee" in blocks_text(slack.last_response())
    # someone who may not see Acme gets a refusal, not the card, even with a crafted click
    slack.click("U01TOM", "contact.open", "1")
    assert "Ann Lee" not in blocks_text(slack.last_response())
    slack.command("U01TOM", "account acme")
    assert "no account you may see has that name" in blocks_text(slack.last_response())


def test_a_manager_lists_the_team_over_slack_in_chinese_and_english(slack):  # type: ignore[no-untyped-def]
    slack.command("U01LI", "商机 新建 云图 amount=3000")
    slack.command("U01HAN", "商机 新建 华为 amount=9000")
    slack.command("U01EMMA", "deal new Acme amount=5000")
    slack.command("U01WANG", "商机 列表 团队 阶段=资格确认")
    text = blocks_text(slack.last_response())
    assert "团队商机" in text and "D-1 · 云图 · 资格确认 · ¥3,000.00 · 李雷" in text and "D-2 · 华为" in text
    assert "D-3" not in text  # Emma is in Sam's team
    slack.command("U01SAM", "deal list team overdue")
    assert "Team deals" in blocks_text(slack.last_response()) and "overdue only" in blocks_text(slack.last_response())
    slack.command("U01EMMA", "deal list tema")
    assert "did you mean team?" in blocks_text(slack.last_response())
