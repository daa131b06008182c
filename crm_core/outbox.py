"""Enqueue effects on other people inside the caller's transaction (the transactional outbox)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
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
