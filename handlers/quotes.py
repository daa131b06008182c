"""Quote use cases: `quote D-7 PRO x10 … discount=15`, `quote Q-3`, the deal card's quote button.

Also the model → view helpers the approval and order handlers share (money shown in the currency's
minor unit; the stored total was rounded once, the rows are shown rounded for reading only).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cards.builders.quotes import (OrderView, QuoteLineView, QuoteView, StepView, line_card, quote_card,
                                   quote_documents, quote_prompt_card, role_label, t)
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.events import Event, QuoteCreated
from crm_core.models import Approval, Deal, Order, Quote, User
from crm_core.services.approvals import ROLE_ZH
from crm_core.services.deals import access_deal
from crm_core.services.orders import order_for_quote
from crm_core.services.quotes import (access_quote, approval_of, do_create_quote, minor_unit, parse_discount,
                                      round_money, successor)
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.common import button_ref
from handlers.invocation import Invocation
from handlers.notify import on
from handlers.registry import action, command
from handlers.swarm import post_to_swarm

SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}


def fmt_money(amount: Decimal, currency: str) -> str:
    places = minor_unit(currency)
    return f"{SYMBOLS.get(currency, currency + ' ')}{round_money(Decimal(amount), currency):,.{places}f}"


def fmt_pct(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def local_time(uow: UnitOfWork, at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(ZoneInfo(uow.config.company.timezone)).strftime("%Y-%m-%d %H:%M")


def user_name(uow: UnitOfWork, user_id: int | None) -> str:
    user = uow.session.get(User, user_id) if user_id is not None else None
    return user.name if user else "—"


def step_views(uow: UnitOfWork, approval: Approval | None) -> tuple[StepView, ...]:
    if approval is None:
        return ()
    return tuple(StepView(level=s.level, role=s.role, approver=user_name(uow, s.approver_id), status=s.status,
                          decided_by=user_name(uow, s.decided_by_id) if s.decided_by_id else None,
                          decided_at=local_time(uow, s.decided_at), comment=s.comment) for s in approval.steps)


def quote_view(uow: UnitOfWork, quote: Quote) -> QuoteView:
    deal = uow.session.get(Deal, quote.deal_id)
    assert deal is not None
    cur = quote.currency
    approval = approval_of(uow.session, quote.id)
    newer = successor(uow.session, quote) if quote.superseded_at is not None else None
    order = order_for_quote(uow.session, quote.id)
    return QuoteView(
        ref=quote.ref, version=quote.version, deal_ref=deal.ref, deal_name=deal.name, account=deal.account.name,
        owner=deal.owner.name, company=uow.config.company.name, status=quote.status,
        created_on=local_time(uow, quote.created_at) or "", currency=cur,
        lines=tuple(QuoteLineView(ln.sku, ln.name, ln.quantity, fmt_money(ln.unit_price, cur),
                                  fmt_money(ln.line_total, cur)) for ln in quote.lines),
        subtotal=fmt_money(quote.subtotal, cur), discount_pct=fmt_pct(quote.discount_pct),
        discount_amount=fmt_money(quote.discount_amount, cur), tax_rate_pct=fmt_pct(quote.tax_rate * 100),
        tax_amount=fmt_money(quote.tax_amount, cur), total=fmt_money(quote.total, cur),
        superseded_by=newer.ref if newer else None, is_latest=quote.superseded_at is None,
        approval_ref=approval.ref if approval else None, steps=step_views(uow, approval),
        invoice_no=order.invoice_no if order else None,
        deal_amount_differs=deal.status == "open" and deal.amount != quote.total,
        order_flag=order_view(uow, order).flag if order is not None else None,
        order_overpaid=order_view(uow, order).overpaid if order is not None else None)


def order_view(uow: UnitOfWork, order: Order) -> OrderView:
    deal = uow.session.get(Deal, order.deal_id)
    assert deal is not None
    cur = order.currency
    return OrderView(invoice_no=order.invoice_no, quote_ref=f"Q-{order.quote_id}", deal_ref=deal.ref,
                     deal_name=deal.name, account=deal.account.name, amount=fmt_money(order.amount, cur),
                     paid=fmt_money(order.paid, cur), outstanding=fmt_money(max(order.outstanding, Decimal(0)), cur),
                     status=order.status, due_date=order.due_date.isoformat(),
                     overpaid=fmt_money(order.overpaid, cur) if order.overpaid > 0 else None,
                     flag=("cancelled_order" if order.status == "cancelled" else "overpaid") if order.overpaid > 0
                     else None)


def document_locale(uow: UnitOfWork, quote: Quote) -> str:
    """The quote document is in the deal's language: its owner's locale."""
    deal = uow.session.get(Deal, quote.deal_id)
    return locale_of(deal.owner if deal else None, uow.config)


def quote_reply(uow: UnitOfWork, quote: Quote, locale: str, *notes: str) -> Reply:
    docs = quote_documents(document_locale(uow, quote), quote_view(uow, quote),
                           payment_terms_days=uow.config.quotes.payment_terms_days)
    notes = (*notes, t(locale, "quote.document", filename=" · ".join(d.filename for d in docs)))
    return Reply(cards=(quote_card(locale, quote_view(uow, quote), notes=notes),), attachments=docs)


def role_name(locale: str, role: str) -> str:
    return ROLE_ZH.get(role, role) if locale == "zh_CN" else role_label(locale, role)


@command("quote")
def create_quote(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    discount = parse_discount(inv.options.get("discount"))
    quote = do_create_quote(uow, actor, inv.args["deal"].id, inv.args["lines"], discount, now=clock.now())
    deal = uow.session.get(Deal, quote.deal_id)
    assert deal is not None
    notes = [t(locale, "quote.created", ref=quote.ref, version=quote.version, deal=deal.ref)]
    if quote.version > 1:
        old = uow.session.scalar(select(Quote.id).where(Quote.deal_id == deal.id, Quote.version == quote.version - 1))
        notes.append(t(locale, "quote.supersedes", old=f"Q-{old}"))
    approval = approval_of(uow.session, quote.id)
    if approval is None:
        notes.append(t(locale, "quote.auto_approved"))
    else:
        step = approval.steps[0]
        notes.append(t(locale, "quote.needs_approval", discount=fmt_pct(quote.discount_pct), ref=approval.ref,
                       approver=user_name(uow, step.approver_id), role=role_name(locale, step.role)))
    return quote_reply(uow, quote, locale, *notes)


@command("quote show", writes=False)
def show_quote(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    quote, _deal = access_quote(uow, actor, inv.args["quote"].id)
    return quote_reply(uow, quote, locale)


@action("deal.quote", writes=False)
def quote_prompt(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    """The deal card's quote button: the exact command to type and the products (Slack: a modal later)."""
    deal = access_deal(uow, actor, button_ref(inv, "deal").id)
    products = uow.config.products
    example = " ".join(f"{p.sku} x{n}" for p, n in zip(products[:2], (10, 5))) or "PRO x10"
    lines = [f"{p.sku} · {p.name} · {fmt_money(Decimal(p.price), deal.currency)}" for p in products]
    form = {"type": "quote", "ref": deal.ref, "products": [p.sku for p in products]}
    return Reply(cards=(quote_prompt_card(locale, deal.ref, example, lines),), form=form)


# --- the deal's swarm channel hears about quotes and approvals ---------------------------------

def swarm_line(uow: UnitOfWork, deal_id: int, *, key: str, kind: str, text: str, now: datetime) -> None:
    """One line into the deal's swarm channel, when it has one (handlers.swarm decides that)."""
    card = line_card(uow.config.company.locale, text, ref=f"D-{deal_id}")
    post_to_swarm(uow, "deal", deal_id, card, dedupe_key=key, kind=kind, now=now)


@on(QuoteCreated)
def tell_swarm_about_quote(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, QuoteCreated)
    quote = uow.session.get(Quote, event.quote_id)
    if quote is None:
        return
    locale = uow.config.company.locale
    text = (f"新报价 {quote.ref}（第 {quote.version} 版）：{fmt_money(quote.total, quote.currency)}，"
            f"折扣 {fmt_pct(quote.discount_pct)}%" if locale == "zh_CN" else
            f"New quote {quote.ref} (v{quote.version}): {fmt_money(quote.total, quote.currency)}, "
            f"{fmt_pct(quote.discount_pct)}% off")
    swarm_line(uow, quote.deal_id, key=f"quote:{quote.id}:swarm", kind="quote.created", text=text, now=now)
