"""Quote, order and approval-step views (money in the currency's minor unit: the stored total was
rounded once; the rows are shown rounded for reading only)."""
from __future__ import annotations

from decimal import Decimal

from cards.builders.quotes import ApprovalView, OrderView, role_label
from cards.documents.quote_view import ProductNames, QuoteLineView, QuoteView, StepView
from cards.format import local_time, money_or_dash as fmt_money, pct
from crm_core.config import Config, LocalName
from crm_core.models import Approval, Deal, Order, Quote
from crm_core.queries.people import user_name
from crm_core.services.orders import order_for_quote
from crm_core.services.quotes import approval_of, successor
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork

NOBODY = "—"


def step_views(uow: UnitOfWork, approval: Approval | None) -> tuple[StepView, ...]:
    if approval is None:
        return ()
    s = uow.session
    return tuple(StepView(level=st.level, role=st.role, approver=user_name(s, st.approver_id, NOBODY), status=st.status,
                          decided_by=user_name(s, st.decided_by_id, NOBODY) if st.decided_by_id else None,
                          decided_at=local_time(uow.config, st.decided_at), comment=st.comment)
                 for st in approval.steps)


def approval_view(uow: UnitOfWork, approval: Approval, level: int) -> ApprovalView:
    """Built once per unit of work while nothing changes (the reply and the approver's card show the same)."""
    return uow.memo(("approval_view", approval.id, level), lambda: _approval_view(uow, approval, level))


def _approval_view(uow: UnitOfWork, approval: Approval, level: int) -> ApprovalView:
    quote = uow.session.get(Quote, approval.quote_id)
    assert quote is not None
    step = approval.step(level) or approval.steps[0]
    return ApprovalView(ref=approval.ref, quote=quote_view(uow, quote),
                        requester=user_name(uow.session, approval.requester_id, NOBODY),
                        discount_pct=pct(approval.discount_pct), status=approval.status, level=step.level,
                        levels=approval.levels_needed, role=step.role,
                        approver=user_name(uow.session, step.approver_id, NOBODY),
                        steps=step_views(uow, approval))


def quote_view(uow: UnitOfWork, quote: Quote) -> QuoteView:
    """Built once per unit of work while nothing changes (a reply, the approver's and the requester's cards)."""
    return uow.memo(("quote_view", quote.id), lambda: _quote_view(uow, quote))


def _local_name(config: Config, sku: str) -> ProductNames | None:
    """The product's name in each language, if the configuration still has the SKU and names it so."""
    product = next((p for p in config.products if p.sku == sku), None)
    if product is None or not isinstance(product.name, LocalName):
        return None
    return ProductNames(zh_CN=product.name.zh_CN, en=product.name.en)


def _quote_view(uow: UnitOfWork, quote: Quote) -> QuoteView:
    deal = uow.session.get(Deal, quote.deal_id)
    assert deal is not None
    cur = quote.currency
    approval = approval_of(uow.session, quote.id)
    newer = successor(uow.session, quote) if quote.superseded_at is not None else None
    order = order_for_quote(uow.session, quote.id)
    return QuoteView(
        ref=quote.ref, version=quote.version, deal_ref=deal.ref, deal_name=deal.name, account=deal.account.name,
        owner=deal.owner.name, company=uow.config.company.name, status=quote.status,
        created_on=local_time(uow.config, quote.created_at) or "", currency=cur,
        lines=tuple(QuoteLineView(ln.sku, ln.name, ln.quantity, fmt_money(ln.unit_price, cur),
                                  fmt_money(ln.line_total, cur), _local_name(uow.config, ln.sku))
                    for ln in quote.lines),
        subtotal=fmt_money(quote.subtotal, cur), discount_pct=pct(quote.discount_pct),
        discount_amount=fmt_money(quote.discount_amount, cur), tax_rate_pct=pct(quote.tax_rate * 100),
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


def role_name(locale: str, role: str) -> str:
    return role_label(locale, role)
