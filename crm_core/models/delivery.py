"""Tables of the clock (issue 5): delivery pacing, the console inbox, SLA breaches, digest snapshots,
and "this period is done" marks of scheduled jobs. Migration: 0004_delivery.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class DeliveryPacing(Base):
    """Per recipient / channel send state, so every worker paces to the platform's published limits.

    key: "<platform>:<member or channel>". blocked_until: the platform asked us to wait (HTTP 429,
    WeCom 45009) — only this key waits, other recipients keep flowing.
    """

    __tablename__ = "delivery_pacing"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    blocked_until: Mapped[Optional[datetime]]
    last_sent_at: Mapped[Optional[datetime]]


class DeliveryLogEntry(Base):
    """One send to a paced key; the sliding windows (30/min, 1000/h per WeCom member) count these."""

    __tablename__ = "delivery_log"
    __table_args__ = (Index("ix_delivery_log_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(index=True)


class ConsoleInboxMessage(Base):
    """A card the console messenger "delivered": `chatcrm console --as KEY` shows the unseen ones."""

    __tablename__ = "console_inbox"
    __table_args__ = (Index("ix_console_inbox_user_seen", "user_id", "seen_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[Optional[str]] = mapped_column(String(128))  # a console swarm channel, or None for a DM
    card: Mapped[dict[str, Any]] = mapped_column(default=dict)
    revision: Mapped[int] = mapped_column(default=0)  # how many times the card was updated in place
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    seen_at: Mapped[Optional[datetime]]


class ConsoleChannel(Base):
    """A swarm "channel" on the console: posting to it puts the card in every member's inbox."""

    __tablename__ = "console_channels"

    channel: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    member_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    archived_at: Mapped[Optional[datetime]]


class SlaBreach(Base):
    """A deadline that passed without the response: what digests count as SLA breaches."""

    __tablename__ = "sla_breaches"
    __table_args__ = (UniqueConstraint("kind", "record_type", "record_id", "due_at", name="uq_sla_breaches_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # lead.first_response | ticket.respond | ticket.resolve
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int]
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_at: Mapped[datetime]
    at: Mapped[datetime] = mapped_column(index=True)


class DigestSnapshot(Base):
    """The pipeline by stage as a digest showed it, so the next digest can say what changed."""

    __tablename__ = "digest_snapshots"
    __table_args__ = (UniqueConstraint("scope", "period", "period_key", name="uq_digest_snapshots_scope_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # "team:<manager id>" | "all"
    period: Mapped[str] = mapped_column(String(8))  # daily | weekly
    period_key: Mapped[str] = mapped_column(String(16))  # the local date, 2026-03-02
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class SchedulerMark(Base):
    """A scheduled job's "done for this period" mark (e.g. "digests:daily:2026-03-02")."""

    __tablename__ = "scheduler_marks"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime]
