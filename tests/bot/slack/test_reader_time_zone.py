"""Times show in the reader's own zone when it is not the company's: Slack's users.info `tz` is stored as
the user's zone on first contact, and the lead card's "Respond by" names the zone it is in."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm_core.models import Lead, User
from tests.bot.slack.harness import blocks_text


def test_a_slack_user_in_london_reads_the_respond_by_time_in_london_time(slack, fake_slack, slack_wiring):
    fake_slack.add_user("U0LDN", "Lena Hart", tz="Europe/London")
    slack.command("U0LDN", 'lead add "Pat Doe" company="Doe Widgets" email=pat@doe.example')
    card = blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        assert s.scalar(select(User.timezone).where(User.name == "Lena Hart")) == "Europe/London"
        due = s.scalar(select(Lead.first_response_due_at))
    london = due.astimezone(ZoneInfo("Europe/London"))
    shanghai = due.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{london:%Y-%m-%d %H:%M} {london.tzname()}" in card
    assert f"{shanghai:%Y-%m-%d %H:%M}" not in card


def test_a_reader_in_the_company_zone_reads_company_time_without_a_zone(slack, fake_slack, slack_wiring):
    fake_slack.add_user("U0SHA", "Wu Hua", tz="Asia/Shanghai", locale="en-US")
    slack.command("U0SHA", 'lead add "Pat Doe" company="Doe Widgets" email=pat@doe.example')
    card = blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        due = s.scalar(select(Lead.first_response_due_at))
    shanghai = due.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{shanghai:%Y-%m-%d %H:%M}" in card and "CST" not in card
