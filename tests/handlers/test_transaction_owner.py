"""One transaction owner (issue 12): every unit of work of the process flushes its events into the outbox in
the same transaction, a unit that would commit a state change without its events refuses, and a read-only
command takes no write lock."""
from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import func, select

from crm_core.models import Lead, OutboxMessage
from crm_core.services.leads import LeadInput, do_create_lead
from crm_core.uow import UnflushedEvents, UnitOfWork
from handlers.invocation import Invocation


def _count(wiring, model) -> int:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.scalar(select(func.count(model.id))) or 0


def test_a_unit_without_the_event_flush_refuses_to_commit_and_keeps_nothing(wiring) -> None:  # type: ignore[no-untyped-def]
    """What every adapter that opened its own transaction used to risk: the lead saved, its owner never told."""
    bare = UnitOfWork(wiring.session_factory, wiring.config)  # not from the owner: no before-commit step
    with pytest.raises(UnflushedEvents, match="LeadAssigned"):
        with bare as uow:
            do_create_lead(uow, LeadInput(name="Zed", region="intl"), actor=None, now=wiring.clock.now())
    assert _count(wiring, Lead) == 0 and _count(wiring, OutboxMessage) == 0


def test_every_unit_of_the_owner_writes_its_events_with_its_changes(wiring, outbox_rows) -> None:  # type: ignore[no-untyped-def]
    with wiring.uow() as uow:
        lead = do_create_lead(uow, LeadInput(name="Zed", region="intl"), actor=None, now=wiring.clock.now()).lead
        owner_id = lead.owner_id
    assert [(r.kind, r.target_id) for r in outbox_rows()] == [("lead.assigned", owner_id)]


def test_a_failed_unit_writes_neither_its_changes_nor_its_events(wiring) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="boom"):
        with wiring.uow() as uow:
            do_create_lead(uow, LeadInput(name="Zed", region="intl"), actor=None, now=wiring.clock.now())
            raise RuntimeError("boom")
    assert _count(wiring, Lead) == 0 and _count(wiring, OutboxMessage) == 0


def test_a_read_only_unit_refuses_a_write(wiring) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception):  # noqa: B017 - SQLite: "attempt to write a readonly database"; PG: READ ONLY
        with wiring.uow(read_only=True) as uow:
            do_create_lead(uow, LeadInput(name="Zed", region="intl"), actor=None, now=wiring.clock.now())
    assert _count(wiring, Lead) == 0


def test_a_read_only_command_answers_while_another_process_holds_the_write_lock(wiring, console_bot,  # type: ignore[no-untyped-def]
                                                                               user_id, database_url) -> None:
    """`deal list` declares it only reads (Registered.writes): on SQLite it runs without BEGIN IMMEDIATE, so a
    long write elsewhere does not make it wait for the busy timeout."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the write lock is SQLite's; PostgreSQL runs the same command READ ONLY")
    console_bot("emma").exec("deal new Acme amount=1000")
    emma = user_id("emma")
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    answers: list[str] = []
    try:
        run = threading.Thread(target=lambda: answers.append(wiring.runner.run(Invocation(
            actor_id=emma, kind="command", name="deal list", args={}, platform="console")).text()))
        run.start()
        run.join(timeout=5)
        assert answers and "D-1" in answers[0], "the read waited for the write lock"
    finally:
        other.execute("ROLLBACK")
        other.close()
        run.join()
