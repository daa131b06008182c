"""Quotes (versions on a deal), their discount approvals, orders and payments."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base

# Unit prices and line totals keep their exact value; only the quote total is rounded (once).
Exact = Numeric(24, 6)
Percent = Numeric(7, 4)


class Quote(Base):
    """One version of a deal's quote. A newer version supersedes this one (kept, readable)."""

    __tablename__ = "quotes"
    __table_args__ = (UniqueConstraint("deal_id", "version", name="uq_quotes_deal_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"), index=True)
    version: Mapped[int]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    currency: Mapped[str] = mapped_column(String(3))
    discount_pct: Mapped[Decimal] = mapped_column(Percent)
    tax_rate: Mapped[Decimal] = mapped_column(Percent)
    subtotal: Mapped[Decimal] = mapped_column(Exact)
    discount_amount: Mapped[Decimal] = mapped_column(Exact)
    tax_amount: Mapped[Decimal] = mapped_column(Exact)
    total: Mapped[Decimal]  # rounded to the currency's minor unit
    # pending (waiting for approval) | approved | rejected
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    superseded_at: Mapped[Optional[datetime]]
    approved_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime]

    lines: Mapped[list["QuoteLine"]] = relationship(
        back_populates="quote", lazy="selectin", order_by="QuoteLine.position", cascade="all, delete-orphan")

    @property
    def ref(self) -> str:
        return f"Q-{self.id}"

    @property
    def is_latest(self) -> bool:
        return self.superseded_at is None


class QuoteLine(Base):
    __tablename__ = "quote_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    sku: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Exact)
    line_total: Mapped[Decimal] = mapped_column(Exact)  # quantity × unit_price, exact

    quote: Mapped[Quote] = relationship(back_populates="lines")


class Approval(Base):
    """A quote's discount approval: one step per required level, decided in order.

    status: pending | approved | rejected | cancelled (the quote was superseded first).
    current_level: the 1-based level waiting for a decision while pending.
    The version column makes two concurrent decisions on the same approval apply once.
    """

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), unique=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    discount_pct: Mapped[Decimal] = mapped_column(Percent)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    current_level: Mapped[int] = mapped_column(default=1)
    levels_needed: Mapped[int]
    reason: Mapped[Optional[str]] = mapped_column(Text)  # the rejection reason
    created_at: Mapped[datetime]
    decided_at: Mapped[Optional[datetime]]
    version: Mapped[int] = mapped_column(default=1)

    steps: Mapped[list["ApprovalStep"]] = relationship(
        back_populates="approval", lazy="selectin", order_by="ApprovalStep.level", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def ref(self) -> str:
        return f"A-{self.id}"

    def step(self, level: int) -> Optional["ApprovalStep"]:
        for s in self.steps:
            if s.level == level:
                return s
        return None

    @property
    def current_step(self) -> Optional["ApprovalStep"]:
        return self.step(self.current_level) if self.status == "pending" else None


class ApprovalStep(Base):
    """One level of an approval. status: waiting | pending | approved | rejected | cancelled."""

    __tablename__ = "approval_steps"
    __table_args__ = (
        UniqueConstraint("approval_id", "level", name="uq_approval_steps_approval_level"),
        Index("ix_approval_steps_approver_status", "approver_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("approvals.id", ondelete="CASCADE"))
    level: Mapped[int]
    role: Mapped[str] = mapped_column(String(16))
    above_discount: Mapped[Decimal] = mapped_column(Percent)
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[Optional[datetime]]
    comment: Mapped[Optional[str]] = mapped_column(Text)

    approval: Mapped[Approval] = relationship(back_populates="steps")


class Order(Base):
    """An approved quote turned into an order with an invoice.

    status: unpaid | partially_paid | paid | overdue (due_date passed and not fully paid;
    set by crm_core.services.orders.mark_overdue and when a payment arrives late).
    """

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_status_due", "status", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), unique=True)
    invoice_no: Mapped[str] = mapped_column(String(32), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal]
    paid: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(16), default="unpaid")
    due_date: Mapped[date]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    paid_at: Mapped[Optional[datetime]]
    # Added by 0012: money received beyond the invoice total (or for a cancelled order); flagged, never refused.
    overpaid: Mapped[Decimal] = mapped_column(default=Decimal("0"), server_default="0")

    @property
    def ref(self) -> str:
        return self.invoice_no

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid


class Payment(Base):
    """A payment written back by the finance system; external_id makes the write-back idempotent."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    amount: Mapped[Decimal]
    paid_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # Added by 0012: the part of this payment beyond the invoice total (all of it for a cancelled order).
    excess: Mapped[Decimal] = mapped_column(default=Decimal("0"), server_default="0")
