"""Helpers every job shares: idempotent notifications, per-item transactions, company-time helpers."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, time
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cards.model import Card
from crm_core.clock import Clock
from crm_core.company_time import company_tz, local_date, local_hhmm, local_now  # noqa: F401  (jobs import them here)
from crm_core.config import Config
from crm_core.models import OutboxMessage, SchedulerMark, SlaBreach, User
from crm_core.outbox import enqueue
from crm_core.uow import UnitOfWork

log = logging.getLogger("chatcrm.scheduler")
T = TypeVar("T")
CHUNK = 500


def daily_time(config: Config) -> time:
    return time.fromisoformat(config.digest.daily_at)


def past_daily_time(config: Config, now: datetime) -> bool:
    """Has today's digest minute (company time) arrived?"""
    return local_now(config, now).time().replace(second=0, microsecond=0) >= daily_time(config)


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these idempotency keys already have an outbox row (a few queries, whatever the count)."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    for i in range(0, len(wanted), CHUNK):
        found.update(session.scalars(select(OutboxMessage.dedupe_key)
                                     .where(OutboxMessage.dedupe_key.in_(wanted[i:i + CHUNK]))))
    return found


def notify(session: Session, user: User, card: Card, *, key: str, kind: str, now: datetime,
           record_type: str | None = None, record_id: int | None = None) -> bool:
    """Queue `card` for `user`, once per `key`. Returns whether a row was written."""
    row = enqueue(session, dedupe_key=key, kind=kind, target_type="user", target_id=user.id,
                  payload=card.to_dict(), now=now, record_type=record_type, record_id=record_id)
    return row is not None


def is_marked(session: Session, key: str) -> bool:
    return session.get(SchedulerMark, key) is not None


def mark(session: Session, key: str, now: datetime) -> None:
    if session.get(SchedulerMark, key) is None:
        session.add(SchedulerMark(key=key[:200], at=now))
        session.flush()


def run_each(uow: UnitOfWork, clock: Clock, items: Sequence[T], fn: Callable[[UnitOfWork, T, datetime], int],
             *, what: str) -> int:
    """Process each item in its own transaction (events become outbox rows before each commit).

    One item failing is logged and skipped; the next run tries it again (its keys were not written).
    """
    total = 0
    for item in items:
        try:
            with uow:  # its before-commit step turns the item's events into outbox rows
                n = fn(uow, item, clock.now())
            total += n
        except Exception:  # noqa: BLE001 - one bad record must not stop the scan; logged with its id
            log.exception("%s: processing %r failed; it will be retried on the next run", what, item)
    return total


def record_breach(session: Session, kind: str, record_type: str, record_id: int, owner_id: int, due: datetime,
                  now: datetime) -> bool:
    """Record that a record's SLA clock ran out at `due` (the reports count these), once however often a job
    sees it; True when this call wrote it (the first time)."""
    if session.scalar(select(SlaBreach.id).where(SlaBreach.kind == kind, SlaBreach.record_type == record_type,
                                                 SlaBreach.record_id == record_id, SlaBreach.due_at == due)):
        return False
    session.add(SlaBreach(kind=kind, record_type=record_type, record_id=record_id, owner_id=owner_id, due_at=due,
                          at=now))
    session.flush()
    return True
