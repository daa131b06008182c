"""Ticket SLA clocks: warn the owner before respond-by and resolve-by; on a breach tell the owner and
their manager, and post to the ticket's swarm channel (when it has one).

Two chains per ticket (respond, resolve). Acknowledging stops the respond chain, closing stops both:
the job re-reads the ticket before each message. Scans use the partial indexes on running clocks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cards.builders.nudges import t
from cards.builders.service import priority_label, ticket_card
from cards.model import Card
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.events import TicketSlaBreached
from crm_core.models import Ticket, User
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.swarm import post_to_swarm
from handlers.presentation.service import ticket_view
from cards.format import reader_hhmm
from scheduler.jobs.common import existing_keys, notify, record_breach, run_each

LOOKBACK = timedelta(days=2)
KIND_WARN = "nudge.ticket.sla_warn"
KIND_BREACH = "nudge.ticket.sla_breach"
CLOCKS = ("respond", "resolve")


@dataclass(frozen=True)
class DueClock:
    ticket_id: int
    clock: str  # respond | resolve
    due: datetime
    priority: str

    def phase(self, config: Config, now: datetime) -> str | None:
        """warn | breach | None (not yet in the warning window)."""
        if now >= self.due:
            return "breach"
        sla = config.sla.ticket.get(self.priority)  # type: ignore[call-overload]
        warn = timedelta(minutes=sla.warn_before_minutes if sla else 15)
        return "warn" if now >= self.due - warn else None

    def key(self, phase: str) -> str:
        return f"ticket-sla:{phase}:{self.clock}:{self.ticket_id}:{self.due:%Y%m%dT%H%M}"


def _max_warn(config: Config) -> timedelta:
    return timedelta(minutes=max((s.warn_before_minutes for s in config.sla.ticket.values()), default=15))


def scan_ticket_sla(session: Session, config: Config, now: datetime) -> list[DueClock]:
    """Running clocks due within the largest warning window or recently breached (partial index ranges)."""
    horizon, since = now + _max_warn(config), now - LOOKBACK
    respond = session.execute(select(Ticket.id, Ticket.respond_due_at, Ticket.priority).where(
        Ticket.responded_at.is_(None), Ticket.respond_due_at <= horizon, Ticket.respond_due_at > since,
        Ticket.closed_at.is_(None)))
    resolve = session.execute(select(Ticket.id, Ticket.resolve_due_at, Ticket.priority).where(
        Ticket.closed_at.is_(None), Ticket.resolve_due_at <= horizon, Ticket.resolve_due_at > since))
    out = [DueClock(i, "respond", due, p) for i, due, p in respond]
    out += [DueClock(i, "resolve", due, p) for i, due, p in resolve]
    return sorted(out, key=lambda c: (c.due, c.ticket_id, c.clock))


def run_ticket_sla(*, uow: UnitOfWork, clock: Clock) -> int:
    now = clock.now()
    with uow:
        config = uow.config
        due = [(c, c.phase(config, now)) for c in scan_ticket_sla(uow.session, config, now)]
        due = [(c, phase) for c, phase in due if phase is not None]
        done = existing_keys(uow.session, [c.key(phase) for c, phase in due])
    todo = [c for c, phase in due if c.key(phase) not in done]
    return run_each(uow, clock, todo, _handle, what="ticket SLA")


def _handle(uow: UnitOfWork, due: DueClock, now: datetime) -> int:
    ticket = uow.session.get(Ticket, due.ticket_id)
    if ticket is None or ticket.closed_at is not None:
        return 0
    if due.clock == "respond" and ticket.responded_at is not None:
        return 0  # acknowledged meanwhile: the respond chain stops
    current_due = ticket.respond_due_at if due.clock == "respond" else ticket.resolve_due_at
    if current_due != due.due:
        return 0  # the deadline moved; the next scan sees the new one
    phase = due.phase(uow.config, now)
    if phase == "warn":
        return _warn(uow, ticket, due, now)
    if phase == "breach":
        return _breach(uow, ticket, due, now)
    return 0


def _card(uow: UnitOfWork, ticket: Ticket, locale: str, note_key: str, now: datetime, zone: str | None = None,
          **params: object) -> Card:
    note = t(locale, note_key, **params, priority=priority_label(locale, ticket.priority))
    return ticket_card(locale, ticket_view(uow, ticket, locale, now, recent=False, zone=zone), notes=(note,))


def _warn(uow: UnitOfWork, ticket: Ticket, due: DueClock, now: datetime) -> int:
    minutes = max(1, math.ceil((due.due - now).total_seconds() / 60))
    card = _card(uow, ticket, locale_of(ticket.owner, uow.config), f"ticket.warn.{due.clock}", now, ticket.owner.timezone, ref=ticket.ref,
                 minutes=minutes, time=reader_hhmm(uow.config, due.due, ticket.owner.timezone))
    return int(notify(uow.session, ticket.owner, card, key=due.key("warn"), kind=KIND_WARN, now=now,
                      record_type="ticket", record_id=ticket.id))


def _breach(uow: UnitOfWork, ticket: Ticket, due: DueClock, now: datetime) -> int:
    session = uow.session
    owner = ticket.owner
    kind = f"ticket.{due.clock}"
    if record_breach(session, kind, "ticket", ticket.id, owner.id, due.due, now):
        uow.emit(TicketSlaBreached(ticket_id=ticket.id, clock=due.clock, due_at=due.due))  # the routes hear of it
    params = {"ref": ticket.ref, "owner": owner.name}
    people = [owner]
    if owner.manager_id is not None:
        manager = session.get(User, owner.manager_id)
        if manager is not None and manager.active:
            people.append(manager)
    sent = 0
    for n, person in enumerate(people):
        card = _card(uow, ticket, locale_of(person, uow.config), f"ticket.breach.{due.clock}", now, person.timezone, **params,
                     time=reader_hhmm(uow.config, due.due, person.timezone))  # the reader's zone, named when not the company's
        key = due.key("breach") if n == 0 else f"{due.key('breach')}:{person.id}"
        sent += notify(session, person, card, key=key, kind=KIND_BREACH, now=now, record_type="ticket",
                       record_id=ticket.id)
    channel_card = _card(uow, ticket, uow.config.company.locale, f"ticket.breach.{due.clock}", now, **params,
                         time=reader_hhmm(uow.config, due.due))  # a channel reads company time
    if post_to_swarm(uow, "ticket", ticket.id, channel_card, dedupe_key=f"{due.key('breach')}:swarm",
                     kind=KIND_BREACH, now=now):
        sent += 1
    return sent
