"""Orders: `order Q-3` and the approved quote's "Create order" button; who hears about orders and payments."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from cards.builders.quotes import order_card, payment_card, t
from cards.format import money_or_dash as fmt_money
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.events import Event, OrderCreated, PaymentFlagged, PaymentRecorded
from crm_core.models import Deal, Order, Payment, User
from crm_core.outbox import enqueue
from crm_core.services.orders import do_create_order
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.notify import on
from handlers.presentation.quotes import order_view
from handlers.registry import action, command


def _create(uow: UnitOfWork, clock: Clock, actor: User, locale: str, quote_id: int) -> Reply:
    order = do_create_order(uow, actor, quote_id, now=clock.now())
    note = t(locale, "order.created", quote=f"Q-{quote_id}", due=order.due_date.isoformat())
    return Reply(cards=(order_card(locale, order_view(uow, order), notes=(note,)),))


@command("order")
@action("quote.order", value=("quote",))
def create_order(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _create(uow, clock, actor, locale, inv.args["quote"].id)


def finance_users(uow: UnitOfWork) -> list[User]:
    users = uow.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    return [u for u in users if "finance" in (u.tags or [])]


@on(OrderCreated)
def tell_finance_about_order(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, OrderCreated)
    order = uow.session.get(Order, event.order_id)
    if order is None:
        return
    view = order_view(uow, order)
    for user in finance_users(uow):
        if user.id == event.actor_id:
            continue
        locale = locale_of(user, uow.config)
        note = t(locale, "order.for_finance", invoice=order.invoice_no, account=view.account, amount=view.amount,
                 due=view.due_date)
        enqueue(uow.session, dedupe_key=f"order:{order.id}:finance:{user.id}", kind="order.created",
                target_type="user", target_id=user.id, payload=order_card(locale, view, notes=(note,)).to_dict(),
                now=now, record_type="order", record_id=order.id)


@on(PaymentRecorded)
def tell_owner_and_finance_about_payment(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, PaymentRecorded)
    found = _payment(uow, event.payment_id, event.order_id)
    if found is None or found[0].excess > 0:
        return  # a flagged payment is told once, by tell_about_flagged_payment
    _tell_about_payment(uow, *found, finance_users(uow), "payment.received", None, now)


def _payment(uow: UnitOfWork, payment_id: int, order_id: int) -> tuple[Payment, Order, Deal] | None:
    """The payment an event names, its order and the order's deal; None when one is gone (nothing to tell)."""
    payment = uow.session.get(Payment, payment_id)
    order = uow.session.get(Order, order_id)
    deal = uow.session.get(Deal, order.deal_id) if order else None
    if payment is None or order is None or deal is None:
        return None
    return payment, order, deal


def _tell_about_payment(uow: UnitOfWork, payment: Payment, order: Order, deal: Deal, others: list[User], kind: str,
                        flag: str | None, now: datetime) -> None:
    """One payment card to the deal's owner and each of `others`, each once, in their language."""
    view = order_view(uow, order)
    amount = fmt_money(payment.amount, order.currency)
    recipients = {deal.owner_id: deal.owner, **{u.id: u for u in others}}
    for user_id, user in recipients.items():
        card = payment_card(locale_of(user, uow.config), view, amount, flag=flag)
        enqueue(uow.session, dedupe_key=f"payment:{payment.id}:user:{user_id}", kind=kind,
                target_type="user", target_id=user_id, payload=card.to_dict(), now=now, record_type="order",
                record_id=order.id)


def finance_and_admins(uow: UnitOfWork) -> list[User]:
    users = uow.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    return [u for u in users if "finance" in (u.tags or []) or u.is_admin]


@on(PaymentFlagged)
def tell_about_flagged_payment(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """Money beyond the invoice (or for a cancelled order): the owner, finance and admins get one message each.

    The key is the payment's, so a retried identical payment (same external_id) never tells again.
    """
    assert isinstance(event, PaymentFlagged)
    found = _payment(uow, event.payment_id, event.order_id)
    if found is not None:
        _tell_about_payment(uow, *found, finance_and_admins(uow), "payment.flagged", event.reason, now)
