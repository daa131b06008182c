"""After the sale: support tickets with SLA clocks, and contracts (renewals, health)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base
from crm_core.models.sales import Account
from crm_core.models.users import User


class Ticket(Base):
    """A customer problem on an account. Due times are fixed at creation from [sla.ticket.<priority>].

    Breaches are plain facts the scheduler and reports find with index range scans: the two partial
    indexes hold only the tickets whose clock is still running (not yet responded / not yet closed).
    """

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    priority: Mapped[str] = mapped_column(String(8))  # urgent | high | normal | low
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)  # search: tickets one opened
    opened_at: Mapped[datetime]
    respond_due_at: Mapped[datetime]
    responded_at: Mapped[Optional[datetime]]
    responded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    resolve_due_at: Mapped[datetime]
    closed_at: Mapped[Optional[datetime]]
    closed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

    account: Mapped[Account] = relationship(lazy="joined")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def ref(self) -> str:
        return f"T-{self.id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


# Partial indexes (PostgreSQL and SQLite both have them): only running clocks are indexed.
Index("ix_tickets_respond_due_open", Ticket.respond_due_at,
      postgresql_where=Ticket.responded_at.is_(None), sqlite_where=Ticket.responded_at.is_(None))
Index("ix_tickets_resolve_due_open", Ticket.resolve_due_at,
      postgresql_where=Ticket.closed_at.is_(None), sqlite_where=Ticket.closed_at.is_(None))


class Contract(Base):
    """What a won deal turns into: a term, a value, and the signals behind the health score."""

    __tablename__ = "contracts"
    __table_args__ = (Index("ix_contracts_end_date", "end_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    deal_id: Mapped[Optional[int]] = mapped_column(ForeignKey("deals.id"), unique=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    value: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    usage_pct: Mapped[int] = mapped_column(default=100)
    nps: Mapped[Optional[int]]
    renewal_deal_id: Mapped[Optional[int]] = mapped_column(ForeignKey("deals.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    account: Mapped[Account] = relationship(lazy="joined")
    owner: Mapped[User] = relationship(lazy="joined")

    @property
    def ref(self) -> str:
        return f"C-{self.id}"
