"""Lead first-response SLA: warn the owner before the deadline; at the deadline reassign or escalate.

Chain for one assignment (keys carry the lead's reassign_count, so a reassigned lead starts a new chain):
- `warn_before_minutes` before first_response_due_at: the owner gets the lead card with a warning.
- at the deadline, on_breach = "reassign": the lead goes round-robin to the next rep of its pool (who
  is told, by the LeadAssigned notifier), the previous owner and their manager are told. More than
  MAX_REASSIGNS reassignments, or nobody else in the pool: escalate instead.
- on_breach = "escalate": the owner and their manager are told.
A logged activity on the lead (first_responded_at) or conversion stops the chain: the job re-reads
the lead when it runs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cards.builders.nudges import t
from cards.builders.common import notice_card
from cards.format import reader_hhmm
from cards.builders.sales import lead_card
from cards.builders.sales import t as sales_t
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.models import Lead, User
from crm_core.services.leads import reassign_lead
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.presentation.sales import lead_view
from scheduler.jobs.common import existing_keys, notify, record_breach, run_each

LOOKBACK = timedelta(days=2)  # breaches older than this were handled by earlier runs
MAX_REASSIGNS = 3
KIND_WARN = "nudge.lead.sla_warn"
KIND_BREACH = "nudge.lead.sla_breach"


@dataclass(frozen=True)
class DueLead:
    id: int
    due: datetime
    reassign_count: int


def scan_lead_sla(session: Session, config: Config, now: datetime) -> list[DueLead]:
    """Open, unanswered leads whose deadline is within the warning window or recently passed
    (index range on first_response_due_at: cost grows with what is due, not with the table)."""
    warn = timedelta(minutes=config.sla.lead.warn_before_minutes)
    rows = session.execute(select(Lead.id, Lead.first_response_due_at, Lead.reassign_count).where(
        Lead.first_response_due_at <= now + warn, Lead.first_response_due_at > now - LOOKBACK,
        Lead.first_responded_at.is_(None), Lead.status == "open").order_by(Lead.first_response_due_at, Lead.id))
    return [DueLead(i, due, n) for i, due, n in rows]


def warn_key(lead_id: int, count: int) -> str:
    return f"lead-sla:warn:{lead_id}:{count}"


def breach_key(lead_id: int, count: int, who: str) -> str:
    return f"lead-sla:breach:{lead_id}:{count}:{who}"


def run_lead_sla(*, uow: UnitOfWork, clock: Clock) -> int:
    now = clock.now()
    with uow:
        due = scan_lead_sla(uow.session, uow.config, now)
        wanted = {d.id: (breach_key(d.id, d.reassign_count, "owner") if d.due <= now
                         else warn_key(d.id, d.reassign_count)) for d in due}
        done = existing_keys(uow.session, wanted.values())
    todo = [d.id for d in due if wanted[d.id] not in done]
    return run_each(uow, clock, todo, _handle, what="lead SLA")


def _handle(uow: UnitOfWork, lead_id: int, now: datetime) -> int:
    lead = uow.session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update(of=Lead))
    if lead is None or lead.status != "open" or lead.first_responded_at is not None or lead.first_response_due_at is None:
        return 0  # answered or converted meanwhile: the chain stops
    if now < lead.first_response_due_at:
        return _warn(uow, lead, now)
    return _breach(uow, lead, now)


def _warn(uow: UnitOfWork, lead: Lead, now: datetime) -> int:
    owner = lead.owner
    locale = locale_of(owner, uow.config)
    due = lead.first_response_due_at
    assert due is not None
    minutes = max(1, math.ceil((due - now).total_seconds() / 60))
    note = t(locale, "lead.warn", minutes=minutes, time=reader_hhmm(uow.config, due, owner.timezone), ref=lead.ref)
    card = lead_card(locale, lead_view(uow, lead, zone=owner.timezone), note=note)
    return int(notify(uow.session, owner, card, key=warn_key(lead.id, lead.reassign_count), kind=KIND_WARN,
                      now=now, record_type="lead", record_id=lead.id))


def _breach(uow: UnitOfWork, lead: Lead, now: datetime) -> int:
    config = uow.config
    due = lead.first_response_due_at
    assert due is not None
    count = lead.reassign_count
    previous = lead.owner
    record_breach(uow.session, "lead.first_response", "lead", lead.id, previous.id, due, now)
    manager = uow.session.get(User, previous.manager_id) if previous.manager_id else None
    minutes = config.sla.lead.first_response_minutes
    sent = 0
    if config.sla.lead.on_breach == "reassign" and count < MAX_REASSIGNS:
        new_owner = reassign_lead(uow, lead, now=now)  # the new owner is told by the LeadAssigned notifier
        if new_owner is not None:
            locale = locale_of(previous, config)
            note = t(locale, "lead.reassigned.owner", ref=lead.ref, new_owner=new_owner.name, minutes=minutes)
            # No buttons: the lead is no longer theirs to work.
            title = sales_t(locale, "lead.title", ref=lead.ref, name=lead.name)
            sent += notify(uow.session, previous, notice_card(locale, title, note, ref=lead.ref, kind="lead"),
                           key=breach_key(lead.id, count, "owner"), kind=KIND_BREACH, now=now,
                           record_type="lead", record_id=lead.id)
            if manager is not None:
                locale = locale_of(manager, config)
                note = t(locale, "lead.reassigned.manager", owner=previous.name, ref=lead.ref,
                         new_owner=new_owner.name, minutes=minutes)
                sent += notify(uow.session, manager, lead_card(locale, lead_view(uow, lead), note=note),
                               key=breach_key(lead.id, count, "manager"), kind=KIND_BREACH, now=now,
                               record_type="lead", record_id=lead.id)
            return sent
    # escalate (configured, or nobody to reassign to)
    when = reader_hhmm(config, due, previous.timezone)
    locale = locale_of(previous, config)
    note = (t(locale, "lead.breach.owner", ref=lead.ref, time=when, manager=manager.name) if manager is not None
            else t(locale, "lead.breach.owner_alone", ref=lead.ref, time=when))
    sent += notify(uow.session, previous, lead_card(locale, lead_view(uow, lead, zone=previous.timezone), note=note),
                   key=breach_key(lead.id, count, "owner"), kind=KIND_BREACH, now=now, record_type="lead",
                   record_id=lead.id)
    if manager is not None:
        locale = locale_of(manager, config)
        note = t(locale, "lead.breach.manager", owner=previous.name, ref=lead.ref,
                 time=reader_hhmm(config, due, manager.timezone))
        sent += notify(uow.session, manager, lead_card(locale, lead_view(uow, lead), note=note),
                       key=breach_key(lead.id, count, "manager"), kind=KIND_BREACH, now=now, record_type="lead",
                       record_id=lead.id)
    return sent
