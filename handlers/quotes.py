"""Quote use cases: `quote D-7 PRO x10 … discount=15`, `quote Q-3`, the deal card's quote button.

The views (quote, order, approval steps) live in handlers/presentation/quotes.py, shared with the
approval and order handlers; the formatting in cards/format.py.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from cards.builders.quotes import quote_card, quote_documents, quote_prompt_card, t
from cards.format import money_or_dash as fmt_money, pct as fmt_pct
from cards.i18n import translator
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.events import Event, QuoteCreated
from crm_core.models import Deal, Quote, User
from crm_core.queries.people import user_name
from crm_core.services.access import access_deal
from crm_core.services.quotes import access_quote, approval_of, do_create_quote, parse_discount
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.notify import on
from handlers.presentation.quotes import NOBODY, document_locale, quote_view, role_name
from handlers.registry import action, command
from handlers.swarm import swarm_line

t_chat = translator("chat")


def quote_reply(uow: UnitOfWork, quote: Quote, locale: str, *notes: str) -> Reply:
    docs = quote_documents(document_locale(uow, quote), quote_view(uow, quote),
                           payment_terms_days=uow.config.quotes.payment_terms_days)
    notes = (*notes, t(locale, "quote.document", filename=" · ".join(d.filename for d in docs)))
    return Reply(cards=(quote_card(locale, quote_view(uow, quote), notes=notes),), attachments=docs)


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
                       approver=user_name(uow.session, step.approver_id, NOBODY), role=role_name(locale, step.role)))
    return quote_reply(uow, quote, locale, *notes)


@command("quote show", writes=False)
def show_quote(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    quote, _deal = access_quote(uow, actor, inv.args["quote"].id)
    return quote_reply(uow, quote, locale)


@action("deal.quote", writes=False, value=("deal",))
def quote_prompt(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    """The deal card's quote button: the exact command to type and the products (Slack: a modal later)."""
    deal = access_deal(uow, actor, inv.args["deal"].id)
    products = uow.config.products
    example = " ".join(f"{p.sku} x{n}" for p, n in zip(products[:2], (10, 5))) or "PRO x10"
    lines = [f"{p.sku} · {p.name_for(locale)} · {fmt_money(Decimal(p.price), deal.currency)}" for p in products]
    form = {"type": "quote", "ref": deal.ref, "products": [p.sku for p in products]}
    return Reply(cards=(quote_prompt_card(locale, deal.ref, example, lines),), form=form)


# --- the deal's swarm channel hears about quotes -----------------------------------------------

@on(QuoteCreated)
def tell_swarm_about_quote(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, QuoteCreated)
    quote = uow.session.get(Quote, event.quote_id)
    if quote is None:
        return
    locale = uow.config.company.locale
    text = t_chat(locale, "quote.swarm_line", ref=quote.ref, version=quote.version,
                  total=fmt_money(quote.total, quote.currency), discount=fmt_pct(quote.discount_pct))
    swarm_line(uow, quote.deal_id, key=f"quote:{quote.id}:swarm", kind="quote.created", text=text, now=now)
