from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class OutboxMessage(Base):
    """An effect on somebody else, written in the transaction that caused it and delivered later.

    target_type: "user" (target_id = users.id), "swarm" (target_id = the record's id, record_type
    says which kind), "admins", or "channel" (a team channel / group chat a notification route names:
    payload["to"] = {platform, channel, team}; target_id unused). op: "send" (post a card), "update" (replace a card already sent,
    found by ref_key), "swarm.create", "swarm.archive".
    payload: JSON — for send/update the neutral card (cards.model.Card.to_dict()).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    op: Mapped[str] = mapped_column(String(32), default="send")
    kind: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[Optional[int]]
    record_type: Mapped[Optional[str]] = mapped_column(String(16))
    record_id: Mapped[Optional[int]]
    ref_key: Mapped[Optional[str]] = mapped_column(String(255), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sending | failed | sent | dead | skipped
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[Optional[datetime]]
    # Added by 0004_delivery: which deliverer pass holds the row (status "sending"), and when a dead row
    # was reported to the admins.
    claimed_by: Mapped[Optional[str]] = mapped_column(String(64))
    dead_reported_at: Mapped[Optional[datetime]]


class SentMessage(Base):
    """Where a delivered card landed on a platform, so later changes update it in place."""

    __tablename__ = "sent_messages"
    __table_args__ = (Index("ix_sent_messages_ref", "ref_key", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    ref_key: Mapped[Optional[str]] = mapped_column(String(255))
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[Optional[str]] = mapped_column(String(128))
    message_ref: Mapped[Optional[str]] = mapped_column(String(256))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]
    # Added by 0004_delivery: the person it reached (one delivery per recipient per outbox row).
    recipient_user_id: Mapped[Optional[int]]
