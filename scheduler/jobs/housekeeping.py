"""Housekeeping, every ten minutes: orders past their due date become overdue — the deal owner and the
finance-tagged users are told once per invoice — and the replies kept for retried requests
(processed_invocations) are forgotten after a week, when no platform will retry them any more."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from cards.builders.common import notice_card
from cards.format import money_or_dash
from cards.i18n import translator
from crm_core.clock import Clock
from crm_core.models import Deal, Order, ProcessedInvocation, User
from crm_core.services.orders import mark_overdue
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from scheduler.jobs.common import local_date, notify

KEEP_REPLIES = timedelta(days=7)
KIND = "order.overdue"
t = translator("jobs")


def run_housekeeping(*, uow: UnitOfWork, clock: Clock) -> int:
    """Returns how many orders turned overdue."""
    now = clock.now()
    today = local_date(uow.config, now)
    with uow:
        turning = list(uow.session.scalars(select(Order).where(Order.status.in_(("unpaid", "partially_paid")),
                                                               Order.due_date < today).order_by(Order.id)))
        changed = mark_overdue(uow.session, today)
        finance = list(uow.session.scalars(select(User).where(User.active.is_(True))))
        finance = [u for u in finance if "finance" in (u.tags or [])]
        for order in turning:
            _tell_overdue(uow, order, finance, now)
        uow.session.execute(delete(ProcessedInvocation).where(ProcessedInvocation.at < now - KEEP_REPLIES))
    return changed


def _tell_overdue(uow: UnitOfWork, order: Order, finance: list[User], now: datetime) -> None:
    deal = uow.session.get(Deal, order.deal_id)
    people = {u.id: u for u in finance}
    if deal is not None and deal.owner.active:
        people.setdefault(deal.owner_id, deal.owner)
    due = money_or_dash(order.amount - order.paid, order.currency)
    for person in people.values():
        locale = locale_of(person, uow.config)
        title = t(locale, "overdue.title", invoice=order.invoice_no)
        text = t(locale, "overdue.body", deal=f"D-{order.deal_id}", due=due, date=order.due_date.isoformat())
        card = notice_card(locale, title, text, ref=f"D-{order.deal_id}", kind=KIND)
        notify(uow.session, person, card, key=f"order-overdue:{order.id}:{person.id}", kind=KIND, now=now,
               record_type="order", record_id=order.id)
