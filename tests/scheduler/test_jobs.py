"""Stale deals, the morning task list, ticket SLA clocks and renewal reminders: each nudge once, at its
time, and not after its cause is resolved."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from crm_core.models import Contract, Deal
from scheduler.jobs.deals import run_stale_deals
from scheduler.jobs.renewals import run_renewals
from scheduler.jobs.tasks import run_tasks_due
from scheduler.jobs.tickets import run_ticket_sla
from tests.scheduler.helpers import last_id, messages, notes


def uow(wiring):  # type: ignore[no-untyped-def]
    return wiring.uow()


def shanghai(clock, day: int, hh: int, mm: int) -> None:  # type: ignore[no-untyped-def]
    """Set the clock to March `day` 2026, hh:mm in Asia/Shanghai."""
    clock.set(datetime(2026, 3, day, hh, mm, tzinfo=timezone(timedelta(hours=8))))


class TestStaleDeals:
    def test_no_activity_nudges_once_per_episode_with_the_log_button(self, wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        emma.exec('deal new Acme amount=50000 name="Acme pilot"')
        clock.advance(days=13, hours=23)
        assert run_stale_deals(uow=uow(wiring), clock=clock) == 0
        clock.advance(hours=1)  # 14 days without activity ([stale] no_activity_days default)
        mark = last_id(wiring)
        assert run_stale_deals(uow=uow(wiring), clock=clock) == 1
        rows = messages(wiring, since_id=mark)
        assert [(who, kind) for who, kind, _ in rows] == [("emma", "nudge.deal.stale")]
        assert "No activity on D-1 for 14 days. Log what happened, or move it on." in rows[0][2]
        assert "Log activity" in rows[0][2]  # the card's button
        assert run_stale_deals(uow=uow(wiring), clock=clock) == 0
        emma.exec("log D-1 call they are still evaluating")
        clock.advance(days=13)
        assert run_stale_deals(uow=uow(wiring), clock=clock) == 0  # the activity ended the episode
        clock.advance(days=1)
        assert run_stale_deals(uow=uow(wiring), clock=clock) == 1  # a new episode

    def test_too_long_in_a_stage(self, wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        emma.exec('deal new Acme amount=50000 name="Acme pilot"')
        emma.exec("deal set D-1 contact=Ann")
        emma.exec("advance D-1")  # discovery: stale_days = 21
        for _ in range(3):
            clock.advance(days=7)
            emma.exec("log D-1 note still talking")
        mark = last_id(wiring)
        assert run_stale_deals(uow=uow(wiring), clock=clock) == 1
        assert notes(wiring, since_id=mark) == [
            ("emma", "D-1 has been in Discovery for 21 days (limit 21). Move it on, or log why it waits.")]
        emma.exec("deal set D-1 amount=50000 close=2026-06-30 budget=yes")
        emma.exec("advance D-1")
        clock.advance(days=1)
        assert run_stale_deals(uow=uow(wiring), clock=clock) == 0


class TestMorningTasks:
    def test_each_owner_gets_one_list_at_the_digest_minute(self, wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
        console_bot("emma").exec('deal new Acme amount=50000 name="Acme pilot"')  # task due in 2 days
        shanghai(clock, 4, 8, 29)
        assert run_tasks_due(uow=uow(wiring), clock=clock) == 0
        shanghai(clock, 4, 8, 30)
        mark = last_id(wiring)
        assert run_tasks_due(uow=uow(wiring), clock=clock) == 1
        rows = messages(wiring, since_id=mark)
        assert [(who, kind) for who, kind, _ in rows] == [("emma", "tasks.due")]
        assert rows[0][2].startswith("Your tasks for today (1)\n• #1 Confirm budget and timeline · D-1 · due today")
        shanghai(clock, 4, 9, 30)
        assert run_tasks_due(uow=uow(wiring), clock=clock) == 0
        shanghai(clock, 5, 8, 30)
        mark = last_id(wiring)
        assert run_tasks_due(uow=uow(wiring), clock=clock) == 1
        assert "overdue since 2026-03-04" in messages(wiring, since_id=mark)[0][2]


class TestTicketSla:
    def test_warnings_breaches_and_acknowledging_stops_the_respond_chain(self, wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
        out = console_bot("emma").exec("ticket new Acme urgent Login fails")
        assert "T-1" in out
        with wiring.session_factory() as s:
            from crm_core.models import Ticket
            owner = s.get(Ticket, 1).owner.key
        assert owner == "sup"  # the support-tagged user
        clock.advance(minutes=44)
        assert run_ticket_sla(uow=uow(wiring), clock=clock) == 0
        clock.advance(minutes=1)  # 15 min before respond-by (09:00 + 60 min)
        mark = last_id(wiring)
        assert run_ticket_sla(uow=uow(wiring), clock=clock) == 1
        assert notes(wiring, since_id=mark) == [("sup", "请在 15 分钟内（10:00 前）响应 T-1：工单 响应 T-1")]
        clock.advance(minutes=15)
        mark = last_id(wiring)
        assert run_ticket_sla(uow=uow(wiring), clock=clock) == 2
        assert notes(wiring, since_id=mark) == [
            ("sup", "SLA 超时：T-1（紧急）未在 10:00 前响应。负责人：孙客服。"),
            ("wang", "SLA 超时：T-1（紧急）未在 10:00 前响应。负责人：孙客服。"),
        ]
        assert run_ticket_sla(uow=uow(wiring), clock=clock) == 0
        console_bot("sup").exec("ticket ack T-1")
        clock.advance(hours=22, minutes=45)  # 15 min before resolve-by (+24 h)
        mark = last_id(wiring)
        assert run_ticket_sla(uow=uow(wiring), clock=clock) == 1
        assert notes(wiring, since_id=mark) == [("sup", "请在 15 分钟内（09:00 前）解决 T-1：工单 关闭 T-1")]
        console_bot("sup").exec("ticket close T-1")
        clock.advance(hours=1)
        assert run_ticket_sla(uow=uow(wiring), clock=clock) == 0

    def test_a_breach_is_posted_to_the_tickets_swarm_channel(self, wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
        console_bot("emma").exec("ticket new Acme urgent Login fails")
        console_bot("sup").exec("swarm T-1")
        clock.advance(minutes=60)
        mark = last_id(wiring)
        run_ticket_sla(uow=uow(wiring), clock=clock)
        swarm_posts = [(who, kind) for who, kind, _ in messages(wiring, since_id=mark) if who.startswith("swarm")]
        assert swarm_posts == [("swarm:1", "nudge.ticket.sla_breach")]


class TestRenewals:
    def _won_contract(self, console_bot) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        emma.exec('deal new Acme amount=120000 name="Acme 2026"')
        assert "Closed won" in emma.exec("won D-1")

    def test_reminders_at_each_threshold_and_the_renewal_deal_at_the_first(self, wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
        self._won_contract(console_bot)
        with wiring.session_factory() as s:
            end = s.scalar(select(Contract.end_date))
        assert end.isoformat() == "2027-03-02"
        clock.set(datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc))  # 91 days before (company time)
        assert run_renewals(uow=uow(wiring), clock=clock) == 0
        clock.advance(days=1)  # 90 days before
        mark = last_id(wiring)
        assert run_renewals(uow=uow(wiring), clock=clock) == 1
        rows = notes(wiring, since_id=mark)
        assert rows[0] == ("emma", "C-1 ends on 2027-03-02 — in 90 days. Value ¥120,000.00.")
        with wiring.session_factory() as s:
            renewal = s.scalar(select(Deal).where(Deal.id == 2))
            assert renewal is not None and renewal.fields == {"renewal_of": "C-1"}
        assert run_renewals(uow=uow(wiring), clock=clock) == 0
        clock.advance(days=30)  # 60 days
        assert run_renewals(uow=uow(wiring), clock=clock) == 1
        console_bot("emma").exec("won D-2")  # renewed: the 30-day reminder does not come
        clock.advance(days=30)
        assert run_renewals(uow=uow(wiring), clock=clock) == 0

    def test_low_health_adds_the_manager(self, wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
        self._won_contract(console_bot)
        emma = console_bot("emma")
        emma.exec("contract set C-1 usage=0 nps=-100")
        emma.exec("ticket new Acme low Export is slow")
        emma.exec("ticket new Acme low Wrong totals")  # health: 0 + 0 + 10 + 20 = 30, at risk
        clock.set(datetime(2026, 12, 2, 0, 0, tzinfo=timezone.utc))
        mark = last_id(wiring)
        assert run_renewals(uow=uow(wiring), clock=clock) == 2
        who = [w for w, kind, _ in messages(wiring, since_id=mark) if kind == "nudge.contract.renewal"]
        assert who == ["emma", "sam"]
