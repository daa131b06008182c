"""A reader in another time zone than the company's reads a ticket's times in their own zone, named
(“Respond by 05:34” for someone in London meant Shanghai time before)."""
from __future__ import annotations

from sqlalchemy import update

from crm_core.models import User


def test_ticket_times_show_in_the_readers_zone(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    out = emma.exec("ticket new Acme high Login fails")
    assert "GMT" not in out and "09:" in out  # company time (Shanghai, 09:00 + SLA) for a reader without a zone
    with wiring.session_factory.begin() as s:
        s.execute(update(User).where(User.key == "emma").values(timezone="Europe/London"))
    out = emma.exec("ticket T-1")
    assert "GMT" in out  # 01:00 London = 09:00 Shanghai: the zone is named, so it cannot be read as company time
    assert "09:" not in out.split("GMT")[0][-8:]


def test_a_reminder_keeps_the_zone_slack_gave_the_person(console_bot, wiring):  # type: ignore[no-untyped-def]
    """No zone in [[users]]: the one stored from Slack's users.info is the person's (the same zone the cards use)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from crm_core.models import Reminder
    with wiring.session_factory.begin() as s:
        s.execute(update(User).where(User.key == "emma").values(timezone="Europe/London"))
    console_bot("emma").exec("remind tomorrow 10:00 call Ann back")
    with wiring.session_factory() as s:
        reminder = s.query(Reminder).one()
        local = reminder.due_at.astimezone(ZoneInfo("Europe/London"))
    assert (local.hour, local.minute) == (10, 0)
    assert local.date() == datetime(2026, 3, 3).date()  # the day after Monday 2026-03-02 in London
