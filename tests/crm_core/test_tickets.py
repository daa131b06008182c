"""Tickets: SLA due times per priority, ownership, ack / close (idempotence and refusals), breaches."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from crm_core.config import load_config
from crm_core.errors import Conflict, Forbidden, InvalidValue
from crm_core.models import Account, Activity, Ticket
from crm_core.refs import Ref
from crm_core.services.activities import do_log_activity
from crm_core.services.conversion import do_convert_lead
from crm_core.services.deals import do_create_deal
from crm_core.services.leads import LeadInput, do_create_lead
from crm_core.services.access import access_ticket
from crm_core.services.tickets import (clock_state, csat_recipient, do_ack, do_close, do_open_ticket,
                                       near_breach, next_due, resolution_overdue, response_overdue, sla_due)
from crm_core.services.users import user_by_key
from tests.conftest import T0
from cards.errors import error_text


def open_ticket(wiring, key: str, account: str = "Acme", priority: str = "urgent", *, at: datetime = T0,  # type: ignore[no-untyped-def]
                subject: str = "Login fails") -> int:
    with wiring.runner.uow() as uow:
        actor = user_by_key(uow.session, key)
        return do_open_ticket(uow, actor, account_name=account, priority=priority, subject=subject, now=at).id


def load(wiring, ticket_id: int) -> Ticket:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


def act(wiring, key: str, ticket_id: int, what: str, at: datetime):  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        actor = user_by_key(uow.session, key)
        ticket = access_ticket(uow, actor, ticket_id, for_update=True)
        if what == "ack":
            return do_ack(uow, actor, ticket, now=at)
        return do_close(uow, actor, ticket, now=at)


class TestSlaDueTimes:
    @pytest.mark.parametrize("priority,respond,resolve", [
        ("urgent", 60, 1440), ("high", 240, 2880), ("normal", 480, 7200), ("low", 1440, 14400)])
    def test_due_times_come_from_the_priority_and_are_stored_at_creation(self, wiring, priority, respond,  # type: ignore[no-untyped-def]
                                                                         resolve):
        due = sla_due(wiring.config, priority, T0)
        assert (due.respond_by, due.resolve_by) == (T0 + timedelta(minutes=respond), T0 + timedelta(minutes=resolve))
        ticket = load(wiring, open_ticket(wiring, "sup", priority=priority))
        assert (ticket.priority, ticket.opened_at) == (priority, T0)
        assert (ticket.respond_due_at, ticket.resolve_due_at) == (due.respond_by, due.resolve_by)

    def test_a_configured_sla_is_used_and_a_later_change_does_not_move_existing_clocks(self):  # type: ignore[no-untyped-def]
        base = load_config(None).model_dump(mode="json")
        base["sla"]["ticket"]["urgent"] = {"respond_minutes": 5, "resolve_minutes": 90}
        from crm_core.config import parse_config
        cfg = parse_config(base)
        due = sla_due(cfg, "URGENT", T0)
        assert (due.respond_by - T0, due.resolve_by - T0) == (timedelta(minutes=5), timedelta(minutes=90))

    def test_an_unknown_priority_says_which_ones_exist(self, wiring):  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidValue) as err:
            sla_due(wiring.config, "critical", T0)
        assert "urgent, high, normal, low" in error_text(err.value, "en")


class TestOpening:
    def test_a_reps_ticket_goes_to_support_and_the_account_is_found_by_its_normalised_name(self, wiring):  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            li = user_by_key(uow.session, "li")
            account_id = do_create_deal(uow, li, account_name="Acme Inc.", amount=Decimal(1000), name=None,
                                        close_date=None, now=T0).account_id
        ticket = load(wiring, open_ticket(wiring, "emma", account="ACME"))
        with wiring.session_factory() as s:
            assert ticket.account_id == account_id
            assert s.get(Account, account_id).owner_id == user_by_key(s, "li").id  # unchanged
            assert ticket.owner_id == user_by_key(s, "sup").id
            assert ticket.created_by_id == user_by_key(s, "emma").id

    def test_support_keeps_their_own_tickets_and_a_new_account_is_created(self, wiring):  # type: ignore[no-untyped-def]
        ticket = load(wiring, open_ticket(wiring, "sup", account="Initech"))
        with wiring.session_factory() as s:
            assert ticket.owner_id == user_by_key(s, "sup").id
            assert s.scalar(select(Account.name).where(Account.id == ticket.account_id)) == "Initech"

    def test_an_empty_subject_is_refused(self, wiring):  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidValue) as err:
            open_ticket(wiring, "sup", subject="  ")
        assert "ticket new Acme high" in error_text(err.value, "en")
        with wiring.session_factory() as s:
            assert s.scalar(select(Ticket.id)) is None


class TestAckAndClose:
    def test_acking_twice_keeps_the_first_response(self, wiring):  # type: ignore[no-untyped-def]
        tid = open_ticket(wiring, "sup")
        assert act(wiring, "sup", tid, "ack", T0 + timedelta(minutes=20)) is True
        assert act(wiring, "sup", tid, "ack", T0 + timedelta(minutes=90)) is False
        ticket = load(wiring, tid)
        assert ticket.responded_at == T0 + timedelta(minutes=20) and ticket.closed_at is None

    def test_closing_twice_is_refused_and_changes_nothing(self, wiring):  # type: ignore[no-untyped-def]
        tid = open_ticket(wiring, "sup")
        act(wiring, "sup", tid, "close", T0 + timedelta(hours=2))
        with pytest.raises(Conflict) as err:
            act(wiring, "sup", tid, "close", T0 + timedelta(hours=3))
        assert "already closed on 2026-03-02 11:00" in error_text(err.value, "en")
        assert "已于 2026-03-02 11:00 关闭" in error_text(err.value, "zh_CN")
        assert load(wiring, tid).closed_at == T0 + timedelta(hours=2)

    def test_acking_a_closed_ticket_is_refused(self, wiring):  # type: ignore[no-untyped-def]
        tid = open_ticket(wiring, "sup")
        act(wiring, "sup", tid, "close", T0 + timedelta(minutes=30))
        with pytest.raises(Conflict) as err:
            act(wiring, "sup", tid, "ack", T0 + timedelta(minutes=40))
        assert "nothing to acknowledge" in error_text(err.value, "en") and "ticket new" in error_text(err.value, "en")

    def test_closing_an_unacknowledged_ticket_counts_as_its_first_response(self, wiring):  # type: ignore[no-untyped-def]
        tid = open_ticket(wiring, "sup")
        act(wiring, "sup", tid, "close", T0 + timedelta(minutes=30))
        ticket = load(wiring, tid)
        assert ticket.responded_at == ticket.closed_at == T0 + timedelta(minutes=30)
        assert ticket.status == "closed"

    def test_who_may_work_a_ticket(self, wiring):  # type: ignore[no-untyped-def]
        with wiring.runner.uow() as uow:
            do_create_deal(uow, user_by_key(uow.session, "li"), account_name="Acme", amount=None, name=None,
                           close_date=None, now=T0)
        tid = open_ticket(wiring, "emma")  # owner: sup; account owner: li
        with pytest.raises(Forbidden):
            act(wiring, "tom", tid, "ack", T0)
        assert act(wiring, "li", tid, "ack", T0) is True  # the account owner
        for key in ("emma", "wang", "sup", "admin"):  # opener, li's manager, support, admin
            assert act(wiring, key, tid, "ack", T0) is False


class TestBreaches:
    def test_overdue_responses_and_resolutions_are_found_by_due_time(self, wiring):  # type: ignore[no-untyped-def]
        urgent = open_ticket(wiring, "sup", priority="urgent")
        low = open_ticket(wiring, "sup", priority="low", account="Globex")
        with wiring.session_factory() as s:
            assert response_overdue(s, T0 + timedelta(minutes=60)) == []
            assert [t.id for t in response_overdue(s, T0 + timedelta(minutes=61))] == [urgent]
            assert [t.id for t in response_overdue(s, T0 + timedelta(days=2))] == [urgent, low]
        act(wiring, "sup", urgent, "ack", T0 + timedelta(minutes=70))
        with wiring.session_factory() as s:
            assert [t.id for t in response_overdue(s, T0 + timedelta(days=2))] == [low]
            assert [t.id for t in resolution_overdue(s, T0 + timedelta(hours=25))] == [urgent]
        act(wiring, "sup", urgent, "close", T0 + timedelta(hours=26))
        with wiring.session_factory() as s:
            assert resolution_overdue(s, T0 + timedelta(hours=26)) == []

    def test_the_scans_use_the_partial_due_indexes(self, wiring):  # type: ignore[no-untyped-def]
        from sqlalchemy import text
        with wiring.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                plan = " ".join(str(r) for r in conn.execute(text(
                    "EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE responded_at IS NULL AND respond_due_at <= '2026'")))
            else:
                conn.execute(text("SET LOCAL enable_seqscan = off"))  # this transaction only
                plan = " ".join(str(r) for r in conn.execute(text(
                    "EXPLAIN SELECT id FROM tickets WHERE responded_at IS NULL AND respond_due_at <= now()")))
        assert "ix_tickets_respond_due_open" in plan

    def test_my_tickets_near_breach_are_the_next_clock_within_a_day_soonest_first(self, wiring):  # type: ignore[no-untyped-def]
        low = open_ticket(wiring, "sup", priority="low")  # respond by T0 + 24 h
        normal = open_ticket(wiring, "sup", priority="normal")  # respond by T0 + 8 h
        far = open_ticket(wiring, "sup", priority="low", at=T0 + timedelta(days=3))
        with wiring.session_factory() as s:
            sup = user_by_key(s, "sup").id
            assert [t.id for t in near_breach(s, sup, T0)] == [normal, low]
        act(wiring, "sup", normal, "ack", T0 + timedelta(hours=1))  # next clock: resolve by T0 + 5 d
        with wiring.session_factory() as s:
            assert [t.id for t in near_breach(s, sup, T0 + timedelta(hours=1))] == [low]
            assert [t.id for t in near_breach(s, sup, T0 + timedelta(days=2))] == [low]  # breached stays listed
            assert far in [t.id for t in near_breach(s, sup, T0 + timedelta(days=3, hours=1))]

    def test_a_long_breached_list_is_cut_in_the_database_to_the_soonest_next_clocks(self, wiring):  # type: ignore[no-untyped-def]
        ids = [open_ticket(wiring, "sup", priority=("urgent", "normal", "low")[i % 3], at=T0 + timedelta(hours=i))
               for i in range(14)]
        for ticket_id in ids[::4]:  # answered: their next clock is the resolution's
            act(wiring, "sup", ticket_id, "ack", T0 + timedelta(hours=15))
        now = T0 + timedelta(days=6)  # every clock has run out: all 14 are listed, soonest first
        with wiring.session_factory() as s:
            sup = user_by_key(s, "sup").id
            everything = sorted(s.scalars(select(Ticket).where(Ticket.owner_id == sup)),
                                key=lambda t: (next_due(t), t.id))
            assert len(everything) == 14
            assert [t.id for t in near_breach(s, sup, now)] == [t.id for t in everything[:10]]
        loaded: list[int] = []

        def counted(target: Ticket, _ctx: object) -> None:
            loaded.append(target.id)

        event.listen(Ticket, "load", counted)
        try:
            with wiring.session_factory() as s:  # only the page shown is read from the database
                page = near_breach(s, sup, now, limit=5)
        finally:
            event.remove(Ticket, "load", counted)
        assert [t.id for t in page] == [t.id for t in everything[:5]]
        assert sorted(loaded) == sorted(t.id for t in page)  # not all 14 brought in, then cut

    @pytest.mark.parametrize("done,now,state,minutes", [
        (None, T0 - timedelta(minutes=10), "running", 10), (None, T0 + timedelta(minutes=7), "breached", 7),
        (T0 - timedelta(minutes=3), T0 + timedelta(days=1), "met", 3), (T0 + timedelta(hours=2), T0, "late", 120)])
    def test_clock_states(self, done, now, state, minutes):  # type: ignore[no-untyped-def]
        c = clock_state(T0, done, now)
        assert (c.state, c.minutes) == (state, minutes)


def test_the_csat_check_goes_to_the_contact_owner_else_the_account_owner(wiring):  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        emma = user_by_key(uow.session, "emma")
        lead = do_create_lead(uow, LeadInput(name="Ann", company="Acme Inc."), actor=emma, now=T0).lead
        do_convert_lead(uow, emma, lead.id, amount=None, now=T0)
        li = user_by_key(uow.session, "li")
        do_create_deal(uow, li, account_name="Globex", amount=None, name=None, close_date=None, now=T0)
    with_contact, without = open_ticket(wiring, "sup", account="ACME"), open_ticket(wiring, "sup", account="globex")
    with wiring.session_factory() as s:
        who, contact = csat_recipient(s, s.get(Ticket, with_contact))
        assert (who.key, contact.name if contact else None) == ("emma", "Ann")
        who, contact = csat_recipient(s, s.get(Ticket, without))
        assert (who.key, contact) == ("li", None)


def test_an_activity_can_be_logged_on_a_ticket(wiring):  # type: ignore[no-untyped-def]
    tid = open_ticket(wiring, "sup")
    with wiring.runner.uow() as uow:
        do_log_activity(uow, user_by_key(uow.session, "sup"), Ref("ticket", tid), "call", "rang the customer", now=T0)
    with wiring.session_factory() as s:
        assert s.scalar(select(Activity.ticket_id)) == tid
    with pytest.raises(Forbidden), wiring.runner.uow() as uow:
        do_log_activity(uow, user_by_key(uow.session, "tom"), Ref("ticket", tid), "note", "x", now=T0)


def test_times_are_stored_as_utc(wiring):  # type: ignore[no-untyped-def]
    tid = open_ticket(wiring, "sup", at=datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8))))
    assert load(wiring, tid).opened_at == T0
