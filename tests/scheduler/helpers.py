"""Reading what the clock produced: outbox rows as (recipient key, kind, card text)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cards.model import Card
from crm_core.clock import Clock
from crm_core.models import Lead, OutboxMessage, User
from handlers.notify import unit_of_work_factory
from scheduler.jobs.ladders import run_ladders


def messages(wiring: Any, *, since_id: int = 0, kinds: tuple[str, ...] | None = None) -> list[tuple[str, str, str]]:
    """Outbox rows after `since_id`: (user key or target, kind, the card's text)."""
    with wiring.session_factory() as s:
        keys = {uid: key for uid, key in s.execute(select(User.id, User.key))}
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.id > since_id).order_by(OutboxMessage.id)).all()
        out = []
        for row in rows:
            if kinds is not None and not row.kind.startswith(kinds):
                continue
            who = keys.get(row.target_id, "?") if row.target_type == "user" else f"{row.target_type}:{row.record_id}"
            text = Card.from_dict(row.payload).text() if "title" in row.payload else ""
            out.append((who, row.kind, text))
        return out


def last_id(wiring: Any) -> int:
    with wiring.session_factory() as s:
        return s.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) or 0


def notes(wiring: Any, *, since_id: int = 0, kinds: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """(recipient, the card's first section) — the sentence a nudge is about."""
    out = []
    with wiring.session_factory() as s:
        keys = {uid: key for uid, key in s.execute(select(User.id, User.key))}
        for row in s.scalars(select(OutboxMessage).where(OutboxMessage.id > since_id).order_by(OutboxMessage.id)):
            if kinds is not None and not row.kind.startswith(kinds):
                continue
            card = Card.from_dict(row.payload)
            first = next((b.text for b in card.blocks if hasattr(b, "text")), card.title)
            out.append((keys.get(row.target_id, "?") if row.target_type == "user" else row.target_type, first))
    return out


def run_ladder(wiring: Any, clock: Clock) -> int:
    """One run of the ladders job at the clock's time, as the scheduler runs it; how many records it moved."""
    return run_ladders(uow=unit_of_work_factory(wiring.session_factory, wiring.config, clock)(), clock=clock)


def lead_state(wiring: Any, lead_id: int = 1) -> tuple[str, str | None]:
    """The lead's status and its owner's key (None without an owner)."""
    with wiring.session_factory() as s:
        lead = s.get(Lead, lead_id)
        owner = s.get(User, lead.owner_id) if lead.owner_id else None
        return lead.status, owner.key if owner else None
