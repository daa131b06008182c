"""Names and search through Slack: signed slash commands, pick-list buttons, and the type-ahead deal picker
(external_select whose options come from the same resolver, through Bolt's options listener)."""
from __future__ import annotations

import json
from urllib.parse import quote

from sqlalchemy import func, select

from crm_core.models import Activity, Contact, Deal
from tests.bot.slack.harness import blocks_text, buttons, select as chosen, text


def test_a_name_with_several_deals_answers_buttons_that_rerun_the_command(slack, slack_wiring):
    slack.command("U01EMMA", "deal new Globex amount=1000")
    slack.command("U01EMMA", 'deal new Globex amount=2000 name="Globex phase 2"')
    slack.command("U01EMMA", "won globex")
    reply = slack.last_response()
    assert "Which deal do you mean by “globex”?" in blocks_text(reply)
    picks = [b for b in buttons(reply) if b[1].startswith("record.pick")]
    assert [(label, value) for label, _, value in picks] == [("D-1", "won D-1"), ("D-2", "won D-2")]
    with slack_wiring.session_factory() as s:
        assert {d.status for d in s.scalars(select(Deal))} == {"open"}
    slack.click("U01EMMA", picks[1][1], "won D-2")
    assert "Closed won" in blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        assert [(d.id, d.status) for d in s.scalars(select(Deal).order_by(Deal.id))] == [(1, "open"), (2, "won")]


def test_search_answers_open_buttons_and_a_name_nobody_has_offers_search(slack):
    slack.command("U01EMMA", "deal new 深圳某某科技 amount=1000")
    slack.command("U01EMMA", "search szmm")
    reply = slack.last_response()
    assert "Deal D-1 · 深圳某某科技" in blocks_text(reply)
    assert [(label, value) for label, action, value in buttons(reply) if action.startswith("search.open")] == [
        ("Open D-1", "D-1"), ("Open 深圳某某科技", "account:1")]
    slack.click("U01EMMA", "search.open", "D-1")
    assert "Deal D-1" in blocks_text(slack.last_response())
    slack.command("U01EMMA", "deal Nowhere")
    reply = slack.last_response()
    assert "No deal you can see is called “Nowhere”" in blocks_text(reply)
    assert [(label, value) for label, action, value in buttons(reply) if action.startswith("search.run")] == [
        ("Search", "Nowhere")]


def test_the_deal_picker_types_ahead_through_the_search(slack, slack_wiring):
    slack.command("U01EMMA", "deal new 深圳某某科技 amount=1000")
    slack.command("U01EMMA", "deal new Globex amount=1000")
    slack.command("U01LI", "deal new 深圳别家 amount=1000")  # li's deal: emma may not see it
    slack.log_message_shortcut("U01EMMA", "客户要改发票抬头")
    view = slack.opened_view()
    r = slack.suggest("U01EMMA", view, "deal", "shenzhen")
    assert r.status_code == 200
    options = r.json()["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [("D-1", "D-1 · 深圳某某科技")]
    assert [o["value"] for o in slack.suggest("U01EMMA", view, "deal", "glo").json()["options"]] == ["D-2"]
    assert slack.suggest("U01EMMA", view, "deal", "nothing like it").json() == {"options": []}
    slack.submit("U01EMMA", view, {"deal": chosen("D-1"), "kind": chosen("note"), "text": text("客户要改发票抬头")})
    with slack_wiring.session_factory() as s:
        assert [(a.deal_id, a.text) for a in s.scalars(select(Activity))] == [(1, "客户要改发票抬头")]


def test_an_unsigned_options_request_is_refused(slack):
    slack.command("U01EMMA", "deal new Globex amount=1000")
    slack.log_message_shortcut("U01EMMA", "hello")
    view = slack.opened_view()
    body = "payload=" + quote(json.dumps({"type": "block_suggestion", "user": {"id": "U01EMMA"}, "value": "glo",
                                         "action_id": "value", "block_id": "deal", "team": {"id": "T0001"}}))
    r = slack.post(body, "application/x-www-form-urlencoded", secret="not-the-secret")
    assert r.status_code == 401


def test_a_typo_in_a_new_deals_customer_asks_with_buttons_and_creates_nothing_until_pressed(slack, slack_wiring):
    """Slack escapes `&` in a command's text (`&amp;`); the account offered is the one stored, and its button
    re-runs the command with that name quoted in place of the typo."""
    slack.command("U01EMMA", 'deal new "Acme & Sons Ltd" amount=1000')
    slack.command("U01EMMA", "deal new Acme & Son amount=5")
    reply = slack.last_response()
    assert "No account is called “Acme & Son”" in blocks_text(reply), blocks_text(reply)
    picks = [(label, value) for label, action, value in buttons(reply) if action.startswith("record.pick")]
    assert picks == [("Acme & Son", 'deal new "Acme & Sons Ltd" amount=5'),
                     ("New account “Acme & Son”", "deal new Acme & Son amount=5 new_account=yes")], picks
    with slack_wiring.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Deal)) == 1
    slack.click("U01EMMA", [a for _, a, _ in buttons(reply) if a.startswith("record.pick")][0], picks[0][1])
    assert "Deal D-2 · Acme & Sons Ltd" in blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        assert [d.account.name for d in s.scalars(select(Deal).order_by(Deal.id))] == ["Acme & Sons Ltd"] * 2


def test_a_typo_in_a_deals_contact_asks_with_buttons_and_adds_nobody_until_pressed(slack, slack_wiring):
    """A name with a typographic apostrophe, as a phone keyboard types it, offered in the quotes it does not hold."""
    slack.command("U01EMMA", 'deal new "Cyberdyne GmbH" amount=1000')
    slack.command("U01EMMA", "deal set D-1 contact=“Mallory O’Brien”")
    slack.command("U01EMMA", "deal set D-1 contact=Malory")
    reply = slack.last_response()
    assert "No contact at Cyberdyne GmbH is called “Malory”" in blocks_text(reply), blocks_text(reply)
    picks = [(label, value) for label, action, value in buttons(reply) if action.startswith("record.pick")]
    assert picks == [("Mallory O’", 'deal set D-1 contact="Mallory O’Brien"'),
                     ("New contact “Malory”", "deal set D-1 contact=Malory new_contact=yes")], picks
    slack.click("U01EMMA", [a for _, a, _ in buttons(reply) if a.startswith("record.pick")][0], picks[0][1])
    assert "Mallory O’Brien" in blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        assert list(s.scalars(select(Contact.name))) == ["Mallory O’Brien"]
