from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class AuditEntry(Base):
    """Who did what to which record, when. Written by services, never edited."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]


class AssignmentCursor(Base):
    """Round-robin position per pool: the last user a lead in that pool went to."""

    __tablename__ = "assignment_cursors"

    pool: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))


class ProcessedInvocation(Base):
    """Replies to inbound requests already handled, keyed by the platform's retry identity."""

    __tablename__ = "processed_invocations"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    reply: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(index=True)
