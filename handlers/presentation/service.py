"""Ticket and contract views."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from cards.builders.sales import kind_label
from cards.builders.service import ClockView, ContractView, HealthPartView, HealthView, TicketView
from cards.format import reader_time, local_date, local_time, money_or_dash
from crm_core.models import Activity, Contract, Ticket
from crm_core.services.contracts import HealthScore
from crm_core.services.tickets import clock_state
from crm_core.uow import UnitOfWork


def clock_view(uow: UnitOfWork, due: datetime, done_at: datetime | None, now: datetime,
               zone: str | None = None) -> ClockView:
    """`zone`: the reader's own time zone (users.timezone); the time shows in it, named, when not the company's."""
    state = clock_state(due, done_at, now)
    return ClockView(due=reader_time(uow.config, due, None, zone) or "", state=state.state, minutes=state.minutes)


def ticket_view(uow: UnitOfWork, ticket: Ticket, locale: str, now: datetime, *, recent: bool = True,
                zone: str | None = None) -> TicketView:
    activities = [] if not recent else list(uow.session.scalars(
        select(Activity).where(Activity.ticket_id == ticket.id).order_by(Activity.at.desc(), Activity.id.desc())
        .limit(3)))
    return TicketView(
        ref=ticket.ref, subject=ticket.subject, account=ticket.account.name, priority=ticket.priority,
        status=ticket.status, owner=ticket.owner.name,
        opened=reader_time(uow.config, ticket.opened_at, None, zone) or "",
        respond=clock_view(uow, ticket.respond_due_at, ticket.responded_at, now, zone),
        resolve=clock_view(uow, ticket.resolve_due_at, ticket.closed_at, now, zone),
        responded=ticket.responded_at is not None,
        recent=[f"{kind_label(locale, a.kind)} {a.text[:30]}" for a in activities])


def health_view(h: HealthScore) -> HealthView:
    return HealthView(score=h.score, band=h.band,
                      parts=tuple(HealthPartView(p.name, p.value, p.points, p.weight) for p in h.parts))


def contract_view(uow: UnitOfWork, contract: Contract, health: HealthScore, now: datetime) -> ContractView:
    return ContractView(
        ref=contract.ref, account=contract.account.name, owner=contract.owner.name,
        value=money_or_dash(contract.value, contract.currency), start=contract.start_date.isoformat(),
        end=contract.end_date.isoformat(), days_left=(contract.end_date - local_date(uow.config, now)).days,
        health=health_view(health), deal_ref=f"D-{contract.deal_id}" if contract.deal_id else None,
        renewal_ref=f"D-{contract.renewal_deal_id}" if contract.renewal_deal_id else None)
