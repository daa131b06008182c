"""Domain events → outbox rows, in the same transaction (cosmicpython's collect_new_events, made durable).

Each area registers notifiers with @on(EventType). A notifier writes outbox rows through
`crm_core.outbox.enqueue` with an idempotency key, so a retried action cannot notify twice.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.events import Event
from crm_core.models import User
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork, UnitOfWorkFactory

Notifier = Callable[[UnitOfWork, Event, datetime], None]
NOTIFIERS: dict[type[Event], list[Notifier]] = {}


def on(event_type: type[Event]) -> Callable[[Notifier], Notifier]:
    def deco(fn: Notifier) -> Notifier:
        NOTIFIERS.setdefault(event_type, []).append(fn)
        return fn
    return deco

R = TypeVar("R")


def record_and_recipient(uow: UnitOfWork, model: type[R], record_id: int, user_id: int) -> tuple[R, User, str] | None:
    """The record an event names and the person to tell about it, with that person's language; None when either
    is gone (nothing to tell then)."""
    record = uow.session.get(model, record_id)
    user = uow.session.get(User, user_id)
    if record is None or user is None:
        return None
    return record, user, locale_of(user, uow.config)


def flush_events(uow: UnitOfWork, clock: Clock) -> None:
    """Turn every event recorded so far into outbox rows; events raised by notifiers are handled too."""
    now = clock.now()
    seen = 0
    while seen < len(uow.events):
        event = uow.events[seen]
        seen += 1
        for notifier in NOTIFIERS.get(type(event), []):
            notifier(uow, event, now)
    uow.events = []


def flush_before_commit(uow: UnitOfWork) -> None:
    """The before-commit step of every unit of work (registered by `unit_of_work_factory`)."""
    if uow.clock is None:
        raise RuntimeError("a unit of work that emits events needs a clock: build it with unit_of_work_factory")
    flush_events(uow, uow.clock)


def unit_of_work_factory(session_factory: sessionmaker[Session], config: Config, clock: Clock) -> UnitOfWorkFactory:
    """The transaction owner of a process (built by bot/wiring.py): every unit flushes its events into the outbox."""
    return UnitOfWorkFactory(session_factory, config, clock, before_commit=(flush_before_commit,))
