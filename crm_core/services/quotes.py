"""Quotes: pricing from the configured products, versions on a deal, superseding.

Arithmetic is exact Decimal all the way (line total = quantity × unit price, the discount on the
subtotal, tax on what remains) and the total is rounded ONCE, at the end, to the currency's minor
unit. The intermediate amounts are kept exact so nothing is rounded twice.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm import Session

from crm_core.discounts import discount_pct
from crm_core.config import Config
from crm_core.errors import Conflict, InvalidValue, StaleAction, Term
from crm_core.events import QuoteCreated
from crm_core.models import Approval, Deal, Quote, QuoteLine, User
from crm_core.services import audit
from crm_core.services.money import round_money
from crm_core.services.records import load_record
from crm_core.services.approvals import do_cancel_for_superseded, do_request_approval, levels_needed
from crm_core.services.access import access_deal
from crm_core.uow import UnitOfWork

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PricedLine:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal  # exact


@dataclass(frozen=True)
class Pricing:
    lines: tuple[PricedLine, ...]
    currency: str
    subtotal: Decimal  # exact
    discount_pct: Decimal
    discount_amount: Decimal  # exact
    tax_rate: Decimal
    tax_amount: Decimal  # exact
    total: Decimal  # rounded once to the currency's minor unit


def _usage_hint(config: Config, deal_ref: str) -> dict[str, object]:
    """The data of every quote-line hint: the known products and an example command."""
    skus: object = ", ".join(p.sku for p in config.products) or Term("products", "none")
    return {"skus": skus, "ref": deal_ref, "example": _example(config)}


def _example(config: Config) -> str:
    skus = [p.sku for p in config.products[:2]] or ["PRO"]
    return " ".join(f"{sku} x{n}" for sku, n in zip(skus, (10, 5)))


def check_lines(config: Config, lines: Sequence[tuple[str, int]], deal_ref: str = "D-7") -> list[tuple[str, int]]:
    """Every line names a configured product (by SKU, name or alias) and a positive quantity; lines come
    back with the product's SKU."""
    hint = _usage_hint(config, deal_ref)
    if not lines:
        raise InvalidValue("lines", "", "quote.no_lines", **hint)
    for sku, qty in lines:
        if config.product(sku) is None:
            raise InvalidValue("sku", sku, "quote.products", **hint)
        if not isinstance(qty, int) or qty <= 0:
            raise InvalidValue("quantity", f"{sku} x{qty}", "quote.quantity", **hint)
    return [(config.product(sku).sku, qty) for sku, qty in lines]  # type: ignore[union-attr]


def parse_discount(raw: str | None) -> Decimal:
    """`15`, `15%`, `12.5` and the Chinese discount forms → Decimal percent off in 0–100
    (crm_core/discounts.py); anything else says what to type."""
    if raw is None or not str(raw).strip():
        return Decimal(0)
    value = discount_pct(str(raw))
    if value is None or not value.is_finite() or value < 0 or value > 100 or value != value.quantize(Decimal("0.0001")):
        raise InvalidValue("discount", str(raw)[:30], "quote.discount")
    return value


def price(config: Config, lines: Sequence[tuple[str, int]], discount_pct: Decimal, currency: str, *,
          deal_ref: str = "D-7") -> Pricing:
    """Price checked lines. Exact until the total, which is rounded once."""
    priced: list[PricedLine] = []
    for sku, qty in check_lines(config, lines, deal_ref):
        product = config.product(sku)
        assert product is not None
        unit = Decimal(product.price)
        # the quote keeps the name in the company's language; cards show the reader's while the product exists
        priced.append(PricedLine(product.sku, product.name_for(config.company.locale), qty, unit, unit * qty))
    subtotal = sum((p.line_total for p in priced), Decimal(0))
    discount_amount = subtotal * discount_pct / HUNDRED
    rate = Decimal(config.quotes.tax_rate)
    tax_amount = (subtotal - discount_amount) * rate
    total = round_money(subtotal - discount_amount + tax_amount, currency)
    return Pricing(tuple(priced), currency, subtotal, discount_pct, discount_amount, rate, tax_amount, total)


def access_quote(uow: UnitOfWork, actor: User, quote_id: int, *, for_update: bool = False) -> tuple[Quote, Deal]:
    quote = load_record(uow.session, Quote, quote_id, "quote", for_update=for_update)
    deal = access_deal(uow, actor, quote.deal_id)
    return quote, deal


def latest_quote(session: Session, deal_id: int) -> Quote | None:
    return session.scalar(select(Quote).where(Quote.deal_id == deal_id, Quote.superseded_at.is_(None))
                          .order_by(Quote.version.desc()).limit(1))


def successor(session: Session, quote: Quote) -> Quote | None:
    """The newest version of the same deal, if it is not this one."""
    newest = latest_quote(session, quote.deal_id)
    return newest if newest is not None and newest.id != quote.id else None


def approval_of(session: Session, quote_id: int) -> Approval | None:
    return session.scalar(select(Approval).where(Approval.quote_id == quote_id))


def do_create_quote(uow: UnitOfWork, actor: User, deal_id: int, lines: Sequence[tuple[str, int]],
                    discount_pct: Decimal, *, now: datetime) -> Quote:
    """A new quote version on the deal; supersedes the previous one and asks for approval if needed."""
    deal = access_deal(uow, actor, deal_id, for_update=True)  # serialises version numbers per deal
    if deal.status != "open":
        raise Conflict("quote.deal_closed", ref=deal.ref, status=Term("status", deal.status))
    pricing = price(uow.config, lines, discount_pct, deal.currency, deal_ref=deal.ref)
    previous = latest_quote(uow.session, deal.id)
    version = (uow.session.scalar(select(func.max(Quote.version)).where(Quote.deal_id == deal.id)) or 0) + 1
    quote = Quote(deal_id=deal.id, version=version, created_by_id=actor.id, currency=deal.currency,
                  discount_pct=pricing.discount_pct, tax_rate=pricing.tax_rate, subtotal=pricing.subtotal,
                  discount_amount=pricing.discount_amount, tax_amount=pricing.tax_amount, total=pricing.total,
                  status="pending", created_at=now,
                  lines=[QuoteLine(position=i, sku=p.sku, name=p.name, quantity=p.quantity, unit_price=p.unit_price,
                                   line_total=p.line_total) for i, p in enumerate(pricing.lines, 1)])
    uow.session.add(quote)
    uow.session.flush()
    if previous is not None:
        previous.superseded_at = now
        try:
            do_cancel_for_superseded(uow, previous, by_quote=quote, now=now)
            uow.session.flush()
        except StaleDataError:
            raise StaleAction("quote.race") from None
    if levels_needed(uow.config, pricing.discount_pct):
        do_request_approval(uow, actor, quote, now=now)
    else:
        quote.status = "approved"
        quote.approved_at = now
    audit.record(uow.session, actor_id=actor.id, action="quote.create", record_type="quote", record_id=quote.id,
                 now=now, deal_id=deal.id, version=version, discount=str(pricing.discount_pct),
                 total=str(pricing.total), supersedes=previous.id if previous else None)
    uow.emit(QuoteCreated(quote_id=quote.id, deal_id=deal.id, actor_id=actor.id,
                          superseded_quote_id=previous.id if previous else None))
    return quote
