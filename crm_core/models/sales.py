"""Accounts, contacts, leads, deals, their stage history, activities and tasks."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base
from crm_core.models.users import User


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    industry: Mapped[Optional[str]] = mapped_column(String(100))
    region: Mapped[Optional[str]] = mapped_column(String(100))
    created_at: Mapped[datetime]

    owner: Mapped[User] = relationship(lazy="joined")


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[Optional[str]] = mapped_column(String(320), index=True)
    phone: Mapped[Optional[str]] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_first_response_due_open", "first_response_due_at", "first_responded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[Optional[str]] = mapped_column(String(300))
    company_key: Mapped[Optional[str]] = mapped_column(String(300), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(320), index=True)
    phone: Mapped[Optional[str]] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(String(50), default="chat")
    last_source: Mapped[Optional[str]] = mapped_column(String(50))
    region: Mapped[Optional[str]] = mapped_column(String(100))
    industry: Mapped[Optional[str]] = mapped_column(String(100))
    product: Mapped[Optional[str]] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))  # declared custom fields (0011)
    score: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | pool | converted | merged …
    pooled_at: Mapped[Optional[datetime]]  # in the pool since (0015); owner_id is then who had it last
    pool_reason: Mapped[Optional[str]] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime]
    first_response_due_at: Mapped[Optional[datetime]]
    first_responded_at: Mapped[Optional[datetime]]
    reassign_count: Mapped[int] = mapped_column(default=0)
    converted_deal_id: Mapped[Optional[int]]  # deals.id (no FK: leads and deals refer to each other)
    duplicate_hits: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined")

    @property
    def ref(self) -> str:
        return f"L-{self.id}"


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (Index("ix_deals_owner_stage", "owner_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    contact_id: Mapped[Optional[int]] = mapped_column(ForeignKey("contacts.id"), index=True)  # 0016: deals by contact name
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)  # open | won | lost
    amount: Mapped[Optional[Decimal]]
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    close_date: Mapped[Optional[date]]
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lost_reason: Mapped[Optional[str]] = mapped_column(Text)
    lead_id: Mapped[Optional[int]] = mapped_column(ForeignKey("leads.id"))
    stage_entered_at: Mapped[datetime]
    last_activity_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    closed_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

    account: Mapped[Account] = relationship(lazy="joined")
    contact: Mapped[Optional[Contact]] = relationship(lazy="joined")
    owner: Mapped[User] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def ref(self) -> str:
        return f"D-{self.id}"


class StageChange(Base):
    __tablename__ = "stage_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[Optional[str]] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(index=True)
    seconds_in_previous: Mapped[Optional[int]]


class Activity(Base):
    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # call | meeting | email | note
    text: Mapped[str] = mapped_column(Text)
    lead_id: Mapped[Optional[int]] = mapped_column(ForeignKey("leads.id"), index=True)
    deal_id: Mapped[Optional[int]] = mapped_column(ForeignKey("deals.id"), index=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(index=True)

    actor: Mapped[User] = relationship(lazy="joined")


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_owner_due_open", "owner_id", "due_date", "done_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deal_id: Mapped[Optional[int]] = mapped_column(ForeignKey("deals.id"), index=True)
    lead_id: Mapped[Optional[int]] = mapped_column(ForeignKey("leads.id"))
    due_date: Mapped[date] = mapped_column(index=True)
    done_at: Mapped[Optional[datetime]]
    stage: Mapped[Optional[str]] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))  # None: a stage task
