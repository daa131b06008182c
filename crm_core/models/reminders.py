"""Reminders people set for themselves (`remind D-3 friday 10:00 call back`): delivered once, at their time.

`due_at` is the UTC instant of the wall-clock time the person typed in their own zone. The scheduler's
reminders job (scheduler/jobs/reminders.py) claims due, unsent rows, writes one outbox row each (key
`reminder:<id>`) and stamps `sent_at` in the same transaction; a partial index keeps that scan a lookup
of what is due, whatever the table size.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_pending_due", "due_at", sqlite_where=text("sent_at IS NULL"),
              postgresql_where=text("sent_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    record_type: Mapped[Optional[str]] = mapped_column(String(16))  # deal | lead | ticket
    record_id: Mapped[Optional[int]]
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    zone: Mapped[str] = mapped_column(String(64))  # the IANA zone the time was typed in
    sent_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime]
