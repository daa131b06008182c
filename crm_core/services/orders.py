"""Orders from approved quotes, invoice numbers, payments and the unpaid → partially paid → paid / overdue status.

- Only an approved quote that is still the deal's latest version converts, and only once.
- The invoice number is INV-<year>-<order id, 6 digits> (year in the company's timezone), unique.
- The due date is the order date (company timezone) + [quotes] payment_terms_days (default 30).
- Payments are written back by the finance system through the REST API, idempotent by external id.
- Overdue = due date passed and not fully paid: `mark_overdue(session, today)` flips unpaid and
  partially paid orders (the scheduler calls it daily); a payment re-evaluates its order at once.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crm_core.company_time import local_date
from crm_core.errors import Conflict, InvalidValue, NotFound, StaleAction, Term
from crm_core.events import OrderCreated, PaymentFlagged, PaymentRecorded
from crm_core.models import Deal, Order, Payment, Quote, User
from crm_core.services import audit
from crm_core.services.money import round_money
from crm_core.services.quotes import access_quote, approval_of, successor
from crm_core.uow import UnitOfWork

OPEN_STATUSES = ("unpaid", "partially_paid", "overdue")


def status_for(order: Order, today: date) -> str:
    """unpaid | partially_paid | paid | overdue, from what was paid and the due date."""
    if order.paid >= order.amount:
        return "paid"
    if order.due_date < today:
        return "overdue"
    return "partially_paid" if order.paid > 0 else "unpaid"


def overdue_orders_count(session: Session, account_id: int, *, today: date | None = None) -> int:
    """How many of the account's orders are overdue (used by the contract health score).

    Without `today` this counts orders marked overdue (mark_overdue runs daily); with `today` it
    also counts open orders whose due date has passed but that were not marked yet.
    """
    stmt = select(func.count(Order.id)).where(Order.account_id == account_id)
    if today is None:
        stmt = stmt.where(Order.status == "overdue")
    else:
        stmt = stmt.where(Order.status.in_(OPEN_STATUSES), Order.due_date < today)
    return int(session.scalar(stmt) or 0)


def mark_overdue(session: Session, today: date) -> int:
    """Flip every unpaid / partially paid order whose due date has passed to overdue; returns how many."""
    result = session.execute(update(Order).where(Order.status.in_(("unpaid", "partially_paid")),
                                                 Order.due_date < today)
                             .values(status="overdue").execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def order_for_quote(session: Session, quote_id: int) -> Order | None:
    return session.scalar(select(Order).where(Order.quote_id == quote_id))


def check_orderable(uow: UnitOfWork, quote: Quote) -> None:
    existing = order_for_quote(uow.session, quote.id)
    if existing is not None:
        raise Conflict("order.exists", ref=quote.ref, invoice=existing.invoice_no)
    newer = successor(uow.session, quote) if quote.superseded_at is not None else None
    if quote.superseded_at is not None:
        if newer is not None:
            raise StaleAction("order.superseded", ref=quote.ref, newer=newer.ref)
        raise StaleAction("order.superseded_requote", ref=quote.ref)
    if quote.status == "pending":
        approval = approval_of(uow.session, quote.id)
        approval_ref = approval.ref if approval else Term("approval", "unknown")
        raise Conflict("order.pending", ref=quote.ref, approval=approval_ref)
    if quote.status == "withdrawn":
        raise Conflict("order.withdrawn", ref=quote.ref, deal=f"D-{quote.deal_id}")
    if quote.status != "approved":
        raise Conflict("order.not_approved", ref=quote.ref, deal=f"D-{quote.deal_id}",
                       status=Term("quote_status", quote.status))


def do_create_order(uow: UnitOfWork, actor: User, quote_id: int, *, now: datetime) -> Order:
    quote, deal = access_quote(uow, actor, quote_id, for_update=True)
    if deal.status == "lost":
        raise Conflict("order.deal_lost", ref=quote.ref, deal=deal.ref)
    check_orderable(uow, quote)
    today = local_date(uow.config, now)
    order = Order(deal_id=deal.id, account_id=deal.account_id, quote_id=quote.id,
                  invoice_no=f"TMP-{uuid.uuid4().hex[:24]}", currency=quote.currency, amount=quote.total,
                  paid=Decimal(0), status="unpaid",
                  due_date=today + timedelta(days=uow.config.quotes.payment_terms_days),
                  created_by_id=actor.id, created_at=now)
    uow.session.add(order)
    uow.session.flush()
    order.invoice_no = f"INV-{today.year}-{order.id:06d}"
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="order.create", record_type="order", record_id=order.id,
                 now=now, quote_id=quote.id, invoice_no=order.invoice_no, amount=str(order.amount))
    uow.emit(OrderCreated(order_id=order.id, actor_id=actor.id))
    return order


@dataclass(frozen=True)
class PaymentInput:
    external_id: str
    amount: Decimal
    order_id: int | None = None
    invoice_no: str | None = None
    paid_at: datetime | None = None


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment
    order: Order
    created: bool  # False: this external id was already recorded; nothing changed


def check_payment(data: PaymentInput) -> None:
    if not data.external_id.strip():
        raise InvalidValue("external_id", data.external_id, "payment.external_id")
    if not data.amount.is_finite() or data.amount <= 0 or data.amount >= Decimal("1e15"):
        raise InvalidValue("amount", str(data.amount), "payment.range")
    if data.order_id is None and not (data.invoice_no or "").strip():
        raise InvalidValue("order_id", "", "payment.order")


def _lock_order(uow: UnitOfWork, data: PaymentInput) -> Order:
    stmt = select(Order).with_for_update(of=Order).execution_options(populate_existing=True)
    if data.order_id is not None:
        stmt = stmt.where(Order.id == data.order_id)
    if data.invoice_no:
        stmt = stmt.where(Order.invoice_no == data.invoice_no.strip().upper())
    order = uow.session.scalar(stmt)
    if order is None:
        raise NotFound(ref=data.invoice_no or f"order {data.order_id}")
    return order


def do_record_payment(uow: UnitOfWork, data: PaymentInput, *, now: datetime) -> PaymentResult:
    """Record a payment once per external id and move the order's status along."""
    check_payment(data)
    order = _lock_order(uow, data)
    existing = uow.session.scalar(select(Payment).where(Payment.external_id == data.external_id))
    if existing is not None:
        if existing.order_id != order.id or existing.amount != round_money(data.amount, order.currency):
            raise Conflict("payment.different", external_id=data.external_id)
        return PaymentResult(existing, order, created=False)
    amount = round_money(data.amount, order.currency)
    if amount <= 0:
        raise InvalidValue("amount", str(data.amount), "payment.positive")
    paid_at = data.paid_at or now
    payment = Payment(order_id=order.id, external_id=data.external_id, amount=amount, paid_at=paid_at, created_at=now)
    uow.session.add(payment)
    order.paid = order.paid + amount
    excess = _excess(order, amount)
    if excess > 0:  # money arrived, so it is recorded; the excess is flagged for the owner and finance
        payment.excess = excess
        order.overpaid = (order.overpaid or Decimal(0)) + excess
    if order.status == "cancelled":
        uow.session.flush()
        audit.record(uow.session, actor_id=None, action="order.payment", record_type="order", record_id=order.id,
                     now=now, external_id=data.external_id, amount=str(amount), status=order.status,
                     flagged="cancelled_order")
        uow.emit(PaymentRecorded(payment_id=payment.id, order_id=order.id))
        uow.emit(PaymentFlagged(payment_id=payment.id, order_id=order.id, reason="cancelled_order"))
        return PaymentResult(payment, order, created=True)
    order.status = status_for(order, local_date(uow.config, now))
    if order.status == "paid" and order.paid_at is None:
        order.paid_at = paid_at
    uow.session.flush()
    audit.record(uow.session, actor_id=None, action="order.payment", record_type="order", record_id=order.id,
                 now=now, external_id=data.external_id, amount=str(amount), status=order.status,
                 overpaid=str(excess) if excess > 0 else None)
    uow.emit(PaymentRecorded(payment_id=payment.id, order_id=order.id))
    if excess > 0:
        uow.emit(PaymentFlagged(payment_id=payment.id, order_id=order.id, reason="overpaid"))
    return PaymentResult(payment, order, created=True)


def _excess(order: Order, amount: Decimal) -> Decimal:
    """What of this payment goes beyond the invoice total (all of it for a cancelled order)."""
    if order.status == "cancelled":
        return amount
    before = order.paid - amount
    return min(amount, max(Decimal(0), order.paid - max(before, order.amount)))


def payment_by_external_id(session: Session, external_id: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.external_id == external_id))


def deal_of(session: Session, order: Order) -> Deal:
    deal = session.get(Deal, order.deal_id)
    assert deal is not None
    return deal
