"""Account and contact views (the customer at a glance), and the quote / task / swarm lines of the deal card.

Reads only what crm_core.queries.glance loaded, plus a fixed number of look-ups (the contract's health: two
queries), so a view costs the same whatever the number of rows behind it.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from cards.builders.glance import (AccountView, ActivityRowView, ContactRowView, ContactView, ContractRowView,
                                   DealRowView, InvoiceRowView, LeadRowView, QuoteStateView, TaskView, TicketRowView)
from cards.builders.sales import kind_label, t as sales_t
from cards.format import local_date, local_time, money, money_or_dash, picklist_label, stage_name, task_title
from crm_core.config import Config
from crm_core.models import Activity, Deal, Swarm, Task
from crm_core.queries.glance import AccountGlance, ContactGlance, QuoteState
from crm_core.services.contracts import health_of
from crm_core.uow import UnitOfWork
from handlers.presentation.service import clock_view, health_view


def quote_state_view(q: QuoteState | None) -> QuoteStateView | None:
    if q is None:
        return None
    return QuoteStateView(ref=f"Q-{q.quote_id}", version=q.version, total=money_or_dash(q.total, q.currency),
                          status=q.status, approval_ref=f"A-{q.approval_id}" if q.approval_id else None,
                          approval_status=q.approval_status, level=q.level, levels=q.levels)


def task_view(task: Task | None, today: date, config: Config, locale: str | None) -> TaskView | None:
    """The task's title in the reader's language when it is a stage task of the configuration."""
    if task is None:
        return None
    return TaskView(title=task_title(config, task.title, locale or "en"), due=task.due_date.isoformat(),
                    overdue=task.due_date < today)


def swarm_label(swarm: Swarm) -> str:
    """"#deal-7-acme" when the stored name is the channel's own name, else the name and the platform."""
    if re.fullmatch(r"[a-z0-9_-]{1,80}", swarm.name):
        return f"#{swarm.name}"
    return f"{swarm.name} ({swarm.platform})"


def deal_row(uow: UnitOfWork, deal: Deal, locale: str, today: date, quote: QuoteState | None = None,
             *, overdue: bool | None = None) -> DealRowView:
    late = overdue if overdue is not None else (deal.status == "open" and deal.close_date is not None
                                                and deal.close_date < today)
    return DealRowView(ref=deal.ref, name=deal.name, stage=stage_name(uow.config, deal.stage, locale),
                       amount=money(deal.amount, deal.currency),
                       close_date=deal.close_date.isoformat() if deal.close_date else None, overdue=late,
                       owner=deal.owner.name, quote=quote_state_view(quote))


def _activity(uow: UnitOfWork, a: Activity, locale: str) -> ActivityRowView:
    record = (f"D-{a.deal_id}" if a.deal_id else f"T-{a.ticket_id}" if a.ticket_id else
              f"L-{a.lead_id}" if a.lead_id else None)
    return ActivityRowView(when=local_time(uow.config, a.at, locale) or "", kind=kind_label(locale, a.kind),
                           text=a.text.replace("\n", " "), actor=a.actor.name, record=record)


def account_view(uow: UnitOfWork, g: AccountGlance, locale: str, now: datetime) -> AccountView:
    today = local_date(uow.config, now)
    contract = None
    if g.contract is not None:
        c = g.contract
        health = health_of(uow.session, uow.config, [c], now)[c.id]
        contract = ContractRowView(ref=c.ref, end=c.end_date.isoformat(), days_left=(c.end_date - today).days,
                                   value=money_or_dash(c.value, c.currency), health=health_view(health))
    currency = g.deals[0].currency if g.deals else uow.config.company.currency
    swarm_of = {(s.record_type, s.record_id): s for s in g.swarms}
    return AccountView(
        account_id=g.account.id, name=g.account.name, owner=g.account.owner.name,
        # picklisted values in the reader's language (软件 · 华东), as a lead's card shows them
        industry=picklist_label(uow.config, "industry", g.account.industry, locale),
        region=picklist_label(uow.config, "region", g.account.region, locale),
        contacts=tuple(ContactRowView(c.id, c.name, c.email, c.phone) for c in g.contacts),
        more_contacts=g.more_contacts,
        deals=tuple(deal_row(uow, d, locale, today, g.quotes.get(d.id), overdue=d.id in g.overdue) for d in g.deals),
        more_deals=g.more_deals,
        orders=g.orders.count,
        outstanding=money(g.orders.outstanding, currency) if g.orders.outstanding > 0 else None,
        overdue_invoices=g.orders.overdue_count,
        invoices=tuple(InvoiceRowView(o.invoice_no, money_or_dash(o.outstanding, o.currency), o.due_date.isoformat())
                       for o in g.orders.overdue),
        tickets=tuple(TicketRowView(ref=x.ref, subject=x.subject, priority=x.priority,
                                    clock=clock_view(uow, x.resolve_due_at if x.responded_at else x.respond_due_at,
                                                     None, now),
                                    responded=x.responded_at is not None) for x in g.tickets),
        more_tickets=g.more_tickets, contract=contract,
        activities=tuple(_activity(uow, a, locale) for a in g.activities),
        swarms=tuple(f"{'D' if kind == 'deal' else 'T'}-{rid} · {swarm_label(s)}" for (kind, rid), s in swarm_of.items()))


def contact_view(uow: UnitOfWork, g: ContactGlance, locale: str, now: datetime) -> ContactView:
    today = local_date(uow.config, now)
    c = g.contact
    return ContactView(
        contact_id=c.id, name=c.name, email=c.email, phone=c.phone, account_id=g.account.id, account=g.account.name,
        account_owner=g.account.owner.name,
        deals=tuple(deal_row(uow, d, locale, today, g.quotes.get(d.id)) for d in g.deals),
        leads=tuple(LeadRowView(x.ref, x.name, sales_t(locale, f"status.{x.status}")) for x in g.leads),
        activities=tuple(_activity(uow, a, locale) for a in g.activities))
