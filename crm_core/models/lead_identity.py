"""Who a lead is: its identity keys (unique in the database) and the record of every merge."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class LeadIdentity(Base):
    """One identity key of a lead: (email, a@b.com), (phone, +8613800138000) or (name, "ann lee|acme").

    The unique constraint on (kind, value) is what makes "one person, one lead" hold under concurrency:
    of two transactions inserting the same person, one wins and the other finds the winner.
    """

    __tablename__ = "lead_identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_lead_identities_kind_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # email | phone | name
    value: Mapped[str] = mapped_column(String(512))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)


class LeadMerge(Base):
    """A merge of one lead (or of a newcomer's data, kind "auto") into another, with what moved, so it can be split."""

    __tablename__ = "lead_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # manual | auto
    kept_lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    merged_lead_id: Mapped[Optional[int]] = mapped_column(ForeignKey("leads.id"), index=True)  # manual merges
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    matched_on: Mapped[Optional[str]] = mapped_column(String(8))  # auto merges: email | phone | name
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the merged lead's / newcomer's values
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)  # ids moved, fields filled, keys moved, tags added
    differences: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field -> the newcomer's differing value
    at: Mapped[datetime] = mapped_column(index=True)
    split_at: Mapped[Optional[datetime]]
    split_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    split_lead_id: Mapped[Optional[int]]  # the lead a split of an auto merge created

    @property
    def ref(self) -> str:
        return f"M-{self.id}"
