"""The customer at a glance: everything the `account` and `contact` cards show, read in a fixed number of
queries whatever the number of deals, contacts, tickets or orders (each list is one query, capped; the
quotes of all listed deals are one query, their swarms another).

Only what the actor may see is read: deals and tickets of the account owned by people whose records they
may see (every one when they may see the account owner's, as ticket access does).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, true
from sqlalchemy.orm import Session

from crm_core.models import (Account, Activity, Approval, Contact, Contract, Deal, Lead, Order, Quote, Swarm, Task,
                             Ticket)
from crm_core.queries.lists import deal_overdue
from crm_core.queries.lookup import account_scope

LIST_MAX = 5  # rows per list on the card; one more is read to say "and more"
ACTIVITY_MAX = 5
UNPAID = ("unpaid", "partially_paid", "overdue")


@dataclass(frozen=True)
class QuoteState:
    quote_id: int
    deal_id: int
    version: int
    status: str  # pending | approved | rejected
    total: Decimal
    currency: str
    approval_id: int | None
    approval_status: str | None  # pending | approved | rejected | cancelled
    level: int | None  # the level waiting while pending
    levels: int | None


@dataclass(frozen=True)
class OrderSummary:
    count: int
    outstanding: Decimal
    overdue_count: int
    overdue: tuple[Order, ...]  # the oldest overdue invoices, at most LIST_MAX


@dataclass(frozen=True)
class AccountGlance:
    account: Account
    contacts: tuple[Contact, ...]
    more_contacts: bool
    deals: tuple[Deal, ...]  # open, visible
    more_deals: bool
    overdue: frozenset[int]  # ids of the listed deals past their close date or with an open task past due
    quotes: dict[int, QuoteState]  # deal id → its latest quote version
    orders: OrderSummary
    tickets: tuple[Ticket, ...]  # open, visible
    more_tickets: bool
    contract: Contract | None  # the one ending last
    activities: tuple[Activity, ...]
    swarms: tuple[Swarm, ...]  # live channels of the listed deals and tickets


@dataclass(frozen=True)
class ContactGlance:
    contact: Contact
    account: Account
    deals: tuple[Deal, ...]  # the contact's deals (open first), visible
    leads: tuple[Lead, ...]  # leads with the contact's e-mail or phone, visible
    activities: tuple[Activity, ...]
    quotes: dict[int, QuoteState] = field(default_factory=dict)


def _capped(rows: list[Any], cap: int = LIST_MAX) -> tuple[tuple[Any, ...], bool]:
    return tuple(rows[:cap]), len(rows) > cap


def _owner_clause(column: Any, owner_ids: set[int] | None) -> Any:
    return true() if owner_ids is None else column.in_(sorted(owner_ids))


def _latest_quotes_statement() -> Any:
    newest = (select(Quote.deal_id, func.max(Quote.version).label("v"))
              .where(Quote.deal_id.in_(bindparam("deal_ids", expanding=True))).group_by(Quote.deal_id).subquery())
    return (select(Quote.id, Quote.deal_id, Quote.version, Quote.status, Quote.total, Quote.currency, Approval.id,
                   Approval.status, Approval.current_level, Approval.levels_needed)
            .join(newest, and_(newest.c.deal_id == Quote.deal_id, newest.c.v == Quote.version))
            .outerjoin(Approval, Approval.quote_id == Quote.id))


# Built once: every deal card asks for it, and building the subquery cost more than running it.
_LATEST_QUOTES = _latest_quotes_statement()


def latest_quotes(session: Session, deal_ids: list[int]) -> dict[int, QuoteState]:
    """The latest quote version of each deal with its approval state: one query for all the deals."""
    if not deal_ids:
        return {}
    return {row[1]: QuoteState(*row) for row in session.execute(_LATEST_QUOTES, {"deal_ids": list(deal_ids)})}


_OPEN_TASK = (select(Task).where(Task.deal_id == bindparam("deal_id"), Task.done_at.is_(None))
              .order_by(Task.due_date, Task.id).limit(1))
_LIVE_SWARMS = (select(Swarm).where(Swarm.archived_at.is_(None), or_(
    and_(Swarm.record_type == "deal", Swarm.record_id.in_(bindparam("deal_ids", expanding=True))),
    and_(Swarm.record_type == "ticket", Swarm.record_id.in_(bindparam("ticket_ids", expanding=True)))))
                .order_by(Swarm.id))


def open_task_of(session: Session, deal_id: int) -> Task | None:
    """The deal's next open task (earliest due)."""
    return session.scalar(_OPEN_TASK, {"deal_id": deal_id})


def live_swarms_of(session: Session, deal_ids: list[int], ticket_ids: list[int]) -> tuple[Swarm, ...]:
    if not deal_ids and not ticket_ids:
        return ()
    return tuple(session.scalars(_LIVE_SWARMS, {"deal_ids": list(deal_ids), "ticket_ids": list(ticket_ids)}))


def _orders(session: Session, account_id: int, today: date) -> OrderSummary:
    unpaid = Order.status.in_(UNPAID)
    late = and_(unpaid, Order.due_date < today)
    n, outstanding, n_late = session.execute(select(
        func.count(Order.id), func.sum(case((unpaid, Order.amount - Order.paid))), func.count(case((late, Order.id))))
        .where(Order.account_id == account_id)).one()
    overdue = tuple(session.scalars(select(Order).where(Order.account_id == account_id, late)
                                    .order_by(Order.due_date, Order.id).limit(LIST_MAX))) if n_late else ()
    return OrderSummary(int(n or 0), Decimal(outstanding or 0), int(n_late or 0), overdue)


def account_glance(session: Session, actor: Any, account: Account, *, today: date) -> AccountGlance:
    scope = account_scope(session, actor)
    everything = scope is None or account.owner_id in scope  # the account owner's records: all of the account's
    owners = None if everything else scope
    contacts, more_contacts = _capped(list(session.scalars(
        select(Contact).where(Contact.account_id == account.id).order_by(Contact.id).limit(LIST_MAX + 1))))
    rows, more_deals = _capped(list(session.execute(
        select(Deal, deal_overdue(today)).where(Deal.account_id == account.id, Deal.status == "open",
                                                _owner_clause(Deal.owner_id, owners))
        .order_by(Deal.close_date.is_(None), Deal.close_date, Deal.id).limit(LIST_MAX + 1))))
    deals = tuple(deal for deal, _ in rows)
    tickets, more_tickets = _capped(list(session.scalars(
        select(Ticket).where(Ticket.account_id == account.id, Ticket.closed_at.is_(None),
                             _owner_clause(Ticket.owner_id, owners))
        .order_by(Ticket.resolve_due_at, Ticket.id).limit(LIST_MAX + 1))))
    contract = session.scalar(select(Contract).where(Contract.account_id == account.id)
                              .order_by(Contract.end_date.desc(), Contract.id.desc()).limit(1))
    visible_deals = select(Deal.id).where(Deal.account_id == account.id, _owner_clause(Deal.owner_id, owners))
    visible_tickets = select(Ticket.id).where(Ticket.account_id == account.id, _owner_clause(Ticket.owner_id, owners))
    activities = tuple(session.scalars(
        select(Activity).where(or_(Activity.deal_id.in_(visible_deals), Activity.ticket_id.in_(visible_tickets)))
        .order_by(Activity.at.desc(), Activity.id.desc()).limit(ACTIVITY_MAX)))
    deal_ids = [d.id for d in deals]
    return AccountGlance(
        account=account, contacts=contacts, more_contacts=more_contacts, deals=deals, more_deals=more_deals,
        overdue=frozenset(deal.id for deal, late in rows if late),
        quotes=latest_quotes(session, deal_ids), orders=_orders(session, account.id, today), tickets=tickets,
        more_tickets=more_tickets, contract=contract, activities=activities,
        swarms=live_swarms_of(session, deal_ids, [t.id for t in tickets]))


def contact_glance(session: Session, actor: Any, contact: Contact) -> ContactGlance:
    scope = account_scope(session, actor)
    account = session.get(Account, contact.account_id)
    assert account is not None
    owners = None if scope is None or account.owner_id in scope else scope
    deals = tuple(session.scalars(
        select(Deal).where(Deal.contact_id == contact.id, _owner_clause(Deal.owner_id, owners))
        .order_by(case((Deal.status == "open", 0), else_=1), Deal.id.desc()).limit(LIST_MAX)))
    same_person = [x for x in (Lead.email == contact.email if contact.email else None,
                               Lead.phone == contact.phone if contact.phone else None) if x is not None]
    leads: tuple[Lead, ...] = ()
    if same_person:
        leads = tuple(session.scalars(select(Lead).where(or_(*same_person), _owner_clause(Lead.owner_id, scope))
                                      .order_by(Lead.id.desc()).limit(LIST_MAX)))
    deal_ids = select(Deal.id).where(Deal.contact_id == contact.id, _owner_clause(Deal.owner_id, owners))
    lead_ids = [x.id for x in leads]
    activities = tuple(session.scalars(
        select(Activity).where(or_(Activity.deal_id.in_(deal_ids), Activity.lead_id.in_(lead_ids)))
        .order_by(Activity.at.desc(), Activity.id.desc()).limit(ACTIVITY_MAX)))
    return ContactGlance(contact=contact, account=account, deals=deals, leads=leads, activities=activities,
                         quotes=latest_quotes(session, [d.id for d in deals if d.status == "open"]))


_OVERPAID = select(func.coalesce(func.sum(Order.overpaid), 0)).where(Order.account_id == bindparam("account_id"))


def account_overpaid(session: Session, account_id: int) -> Decimal:
    """Money received beyond the invoices of an account's orders (shown on the deal card's account line)."""
    return Decimal(session.scalar(_OVERPAID, {"account_id": account_id}) or 0)
