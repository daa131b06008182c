"""Who has held a lead, so that a lead moved by a ladder or an SLA never bounces back to someone who just had it."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class LeadHolder(Base):
    """One stretch of ownership of a lead: from `since` until `until` (None: still held). `how` it ended:
    released (by hand), pooled (by a ladder), reassigned (SLA), claimed_away, converted."""

    __tablename__ = "lead_holders"
    __table_args__ = (Index("ix_lead_holders_lead_user", "lead_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    since: Mapped[datetime]
    until: Mapped[Optional[datetime]]
    how: Mapped[Optional[str]] = mapped_column(String(16))
