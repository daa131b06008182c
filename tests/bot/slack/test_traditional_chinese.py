"""A third language is a catalog and nothing else: cards/locales/zh_TW.po (the help text's and the deal card's
messages) and cards/templates/zh_TW/help.txt.j2. A Slack user whose users.info locale is zh-TW reads them in
Traditional Chinese; every message the partial catalog lacks falls back to Simplified Chinese, never English."""
from __future__ import annotations

from sqlalchemy import select

from crm_core.models import User
from tests.bot.slack.harness import blocks_text, buttons


def test_a_zh_tw_slack_user_reads_help_and_the_deal_card_in_traditional_chinese(slack, fake_slack, slack_wiring):
    fake_slack.add_user("U0TW", "陳美玲", locale="zh-TW")
    slack.command("U0TW", "help")
    help_text = blocks_text(slack.last_response())
    assert "chatcrm 說明" in help_text and "*線索合併*" in help_text and "*報價審批*" in help_text
    with slack_wiring.session_factory() as s:
        assert s.scalar(select(User.locale).where(User.name == "陳美玲")) == "zh_TW"

    slack.command("U0TW", "deal new 台北雲端 amount=5000")
    card = blocks_text(slack.last_response())
    assert "商機 D-1 · " in card and "負責人" in card and "預計成交" in card and "加權金額" in card
    assert "资格确认" in card  # the stage's name from the configuration: its Chinese label
    assert [b[0] for b in buttons(slack.last_response())][:4] == ["記錄跟進", "推進階段", "新建報價", "協作群"]
    assert "Owner" not in card and "Stage" not in card

    slack.command("U0TW", "my")  # not in the Traditional catalog: Simplified Chinese, not English
    mine = blocks_text(slack.last_response())
    assert "我的商机" in mine and "My open deals" not in mine

    slack.command("U0TW", "dael")  # a usage card: Simplified, with the command as a Chinese reader types it
    usage = blocks_text(slack.last_response())
    assert "无法识别「dael」" in usage
