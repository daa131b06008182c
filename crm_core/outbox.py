"""Enqueue effects on other people inside the caller's transaction (the transactional outbox)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from crm_core.models import OutboxMessage


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    kind: str,
    target_type: str,
    target_id: int | None,
    payload: dict[str, Any],
    now: datetime,
    op: str = "send",
    record_type: str | None = None,
    record_id: int | None = None,
    ref_key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Add an outbox row unless one with the same idempotency key exists. Returns the new row or None.

    The payload is round-tripped through JSON here so that nothing un-serialisable can sit in the
    outbox waiting to fail at delivery time.
    """
    if len(dedupe_key) > 255:
        raise ValueError("dedupe_key longer than 255 characters")
    payload = json.loads(json.dumps(payload, ensure_ascii=False))
    # Rows added earlier in this same transaction are visible because the session autoflushes.
    exists = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
    if exists is not None:
        return None
    row = OutboxMessage(
        dedupe_key=dedupe_key, op=op, kind=kind, target_type=target_type, target_id=target_id,
        record_type=record_type, record_id=record_id, ref_key=ref_key, payload=payload,
        status="pending", attempts=0, next_attempt_at=not_before or now, created_at=now,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class OutboxRow:
    """One row for `enqueue_many` (a job that queues many messages at once)."""

    dedupe_key: str
    kind: str
    target_type: str
    target_id: int | None
    payload: dict[str, Any]
    op: str = "send"
    record_type: str | None = None
    record_id: int | None = None


def enqueue_many(session: Session, rows: list[OutboxRow], *, now: datetime) -> int:
    """`enqueue` for many rows in two statements (which keys exist, one executemany INSERT), whatever the
    number of rows. Rows whose key exists are left out; returns how many were written."""
    if not rows:
        return 0
    for row in rows:
        if len(row.dedupe_key) > 255:
            raise ValueError("dedupe_key longer than 255 characters")
    session.flush()
    wanted = sorted({r.dedupe_key for r in rows})
    existing = set(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(wanted))))
    fresh: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r.dedupe_key in existing or r.dedupe_key in fresh:
            continue
        fresh[r.dedupe_key] = dict(
            dedupe_key=r.dedupe_key, op=r.op, kind=r.kind, target_type=r.target_type, target_id=r.target_id,
            record_type=r.record_type, record_id=r.record_id, ref_key=None,
            payload=json.loads(json.dumps(r.payload, ensure_ascii=False)), status="pending", attempts=0,
            next_attempt_at=now, last_error=None, created_at=now, sent_at=None, claimed_by=None,
            dead_reported_at=None)
    if fresh:
        session.connection().execute(insert(OutboxMessage.__table__), list(fresh.values()))
    return len(fresh)
