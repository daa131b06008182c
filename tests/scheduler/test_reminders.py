"""A reminder is delivered once, at its time in its person's zone: the clock moves, nothing sleeps.

Emma works from London (`timezone = "Europe/London"` in [[users]]); the company is in Shanghai. On Monday
2026-03-02 she types `remind D-1 friday 10:00 call back`: Friday 10:00 London is 10:00 UTC (18:00 in
Shanghai). Two schedulers that run the job at once send it once."""
from __future__ import annotations

import threading
import tomllib
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from cards.model import Card
from crm_core.config import SAMPLE_CONFIG_PATH, Config, parse_config
from crm_core.models import OutboxMessage, Reminder
from scheduler.jobs.reminders import run_reminders
from tests.scheduler.helpers import messages


@pytest.fixture
def config() -> Config:
    data = tomllib.loads(SAMPLE_CONFIG_PATH.read_text(encoding="utf-8"))
    for user in data["users"]:
        if user["key"] == "emma":
            user["timezone"] = "Europe/London"
    return parse_config(data)


def utc(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=timezone.utc)


def test_a_reminder_arrives_once_at_ten_in_the_persons_zone(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("deal new Acme amount=5000")
    out = emma.exec("remind D-1 friday 10:00 call back about the pilot")
    assert "I will remind you on 2026-03-06 (Fri) 10:00 (Europe/London): call back about the pilot" in out

    clock.set(utc(6, 9, 59, 30))  # 09:59:30 in London: not yet
    assert run_reminders(uow=wiring.uow(), clock=clock) == 0
    assert messages(wiring, kinds=("reminder",)) == []

    clock.set(utc(6, 10, 0, 0))  # 10:00 in London (18:00 in Shanghai)
    assert run_reminders(uow=wiring.uow(), clock=clock) == 1
    [(who, kind, text)] = messages(wiring, kinds=("reminder",))
    assert (who, kind) == ("emma", "reminder")
    assert "Reminder" in text and "call back about the pilot" in text and "Set for 10:00 · D-1" in text

    clock.advance(seconds=30)  # the next ticks send nothing more
    assert run_reminders(uow=wiring.uow(), clock=clock) == 0
    clock.advance(days=1)
    assert run_reminders(uow=wiring.uow(), clock=clock) == 0
    assert len(messages(wiring, kinds=("reminder",))) == 1
    with wiring.session_factory() as s:
        assert s.scalars(select(Reminder.sent_at)).one() == utc(6, 10)


def test_the_same_words_mean_the_company_zone_for_someone_without_one(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    li = console_bot("li")
    assert "我会在 2026-03-06（周五） 10:00 提醒你：回电话" in li.exec("提醒 周五 10:00 回电话")
    clock.set(utc(6, 1, 59))  # 09:59 in Shanghai
    assert run_reminders(uow=wiring.uow(), clock=clock) == 0
    clock.set(utc(6, 2, 0))   # 10:00 in Shanghai
    assert run_reminders(uow=wiring.uow(), clock=clock) == 1
    [(who, _, text)] = messages(wiring, kinds=("reminder",))
    assert who == "li" and "⏰ 提醒" in text and "回电话" in text


def test_a_late_scheduler_still_delivers_each_reminder_once(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    li = console_bot("li")
    for hh in ("10:00", "11:00", "12:00"):
        li.exec(f"提醒 明天 {hh} 第{hh}件事")
    clock.set(utc(3, 5))  # 13:00 next day in Shanghai: the scheduler was down all morning
    assert run_reminders(uow=wiring.uow(), clock=clock) == 3
    assert run_reminders(uow=wiring.uow(), clock=clock) == 0
    texts = [Card.from_dict(r.payload).text() for r in _rows(wiring)]
    assert [t.split("\n")[1] for t in texts] == ["第10:00件事", "第11:00件事", "第12:00件事"]


def test_two_schedulers_at_once_send_each_reminder_once(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    li = console_bot("li")
    for i in range(6):
        li.exec(f"提醒 明天 10:00 事情{i}")
    clock.set(utc(3, 2))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def scheduler() -> None:
        barrier.wait()
        results.append(run_reminders(uow=wiring.uow(), clock=clock))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(results) == 6
    rows = _rows(wiring)
    assert len(rows) == 6 and len({r.dedupe_key for r in rows}) == 6
    with wiring.session_factory() as s:
        assert all(r.sent_at == utc(3, 2) for r in s.scalars(select(Reminder)))


def test_the_scan_is_a_bounded_number_of_statements(wiring, console_bot, clock, assert_query_count) -> None:  # type: ignore[no-untyped-def]
    li = console_bot("li")
    for i in range(5):
        li.exec(f"提醒 明天 10:00 事情{i}")
    clock.set(utc(3, 2))
    with assert_query_count(at_most=4 + 2 * 5 + 1):  # claim, users (+ identities), per reminder the outbox
        # key check and insert, one stamp for all
        assert run_reminders(uow=wiring.uow(), clock=clock) == 5
    clock.advance(minutes=1)
    with assert_query_count(at_most=3):  # nothing due: one indexed lookup
        assert run_reminders(uow=wiring.uow(), clock=clock) == 0


def _rows(wiring) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder").order_by(OutboxMessage.id)))
