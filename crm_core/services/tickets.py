"""Support tickets on accounts: priority, SLA clocks fixed at creation, first response, resolution.

Who owns a new ticket: the person who opens it when they carry the "support" tag; otherwise the
support-tagged user with the fewest open tickets (ties: lowest id), so a rep who logs a customer's
problem hands it to support. With nobody tagged "support", the person who opened it owns it.

Who may work a ticket (show, ack, close, log on it): crm_core.services.access.access_ticket (anyone
tagged "support", whoever opened it, and whoever may see the ticket owner's or the account owner's
records: the owner, their managers, admin).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.orm import Session, lazyload

from crm_core.company_time import local_time
from crm_core.config import Config, LocalName
from crm_core.errors import Conflict, InvalidValue, Term
from crm_core.fields import check_text, shown
from crm_core.events import TicketClosed, TicketOpened
from crm_core.models import Contact, Ticket, User
from crm_core.services import audit
from crm_core.services.access import is_support
from crm_core.services.accounts import find_or_create_account
from crm_core.uow import UnitOfWork

PRIORITIES = ("urgent", "high", "normal", "low")
SUBJECT_MAX = 200  # longer text belongs in an activity: log T-9 note …


@dataclass(frozen=True)
class SlaDue:
    respond_by: datetime
    resolve_by: datetime


def check_priority(raw: str, config: Config | None = None) -> str:
    """urgent | high | normal | low, typed as the key, a label or an alias of [picklists.priority]."""
    text = (raw or "").strip()
    picklist = config.picklist("priority") if config is not None else None
    if picklist is not None:
        choices = picklist.choices
        wanted = text.lower()
        for c in choices:
            if wanted in {x.strip().lower() for x in c.spellings()}:
                return c.key
        keys = [c.key for c in choices]
        labels: list[object] = [LocalName(en=c.en, zh_CN=c.zh_CN) for c in choices]
    else:
        if text.lower() in PRIORITIES:
            return text.lower()
        keys, labels = list(PRIORITIES), [Term("priority", p) for p in PRIORITIES]
    raise InvalidValue("priority", shown(text), "ticket.priority", keys=", ".join(keys), labels=labels,
                       first=keys[0], first_label=labels[0])


def is_priority(raw: str, config: Config | None = None) -> bool:
    """Whether `raw` is a priority as check_priority reads it."""
    try:
        check_priority(raw, config)
    except InvalidValue:
        return False
    return True


def sla_due(config: Config, priority: str, opened_at: datetime) -> SlaDue:
    """Respond-by and resolve-by for a ticket opened at `opened_at` (wall-clock minutes, no business hours)."""
    sla = config.sla.ticket[check_priority(priority)]  # type: ignore[index]
    return SlaDue(respond_by=opened_at + timedelta(minutes=sla.respond_minutes),
                  resolve_by=opened_at + timedelta(minutes=sla.resolve_minutes))


def choose_owner(session: Session, actor: User) -> User:
    if is_support(actor):
        return actor
    support = [u for u in session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
               if is_support(u) and not u.away]
    if not support:
        return actor
    load = open_counts_by_owner(session, [u.id for u in support])
    return min(support, key=lambda u: (load.get(u.id, 0), u.id))


def open_counts_by_owner(session: Session, owner_ids: Iterable[int]) -> dict[int, int]:
    return _open_counts(session, Ticket.owner_id, owner_ids)


def open_counts_by_account(session: Session, account_ids: Iterable[int]) -> dict[int, int]:
    """Open tickets per account, one query (used by the contract health score)."""
    return _open_counts(session, Ticket.account_id, account_ids)


def _open_counts(session: Session, column: Any, ids: Iterable[int]) -> dict[int, int]:
    """Open tickets per value of `column` among `ids`, one query (none for no ids)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(column, func.count(Ticket.id))
                           .where(column.in_(wanted), Ticket.closed_at.is_(None)).group_by(column))
    return {key: int(n) for key, n in rows}


def check_subject(raw: str | None) -> str:
    subject = check_text("subject", raw, SUBJECT_MAX) or ""
    if not subject:
        raise InvalidValue("subject", "", "ticket.subject")
    return subject[:SUBJECT_MAX]


def do_open_ticket(uow: UnitOfWork, actor: User, *, account_name: str, priority: str, subject: str,
                   now: datetime) -> Ticket:
    priority = check_priority(priority, uow.config)
    subject = check_subject(subject)
    if not account_name.strip():
        raise InvalidValue("account", "", "ticket.account")
    account = find_or_create_account(uow, account_name, owner=actor, now=now)
    owner = choose_owner(uow.session, actor)
    due = sla_due(uow.config, priority, now)
    ticket = Ticket(account_id=account.id, subject=subject, priority=priority, status="open", owner_id=owner.id,
                    created_by_id=actor.id, opened_at=now, respond_due_at=due.respond_by,
                    resolve_due_at=due.resolve_by, updated_at=now)
    uow.session.add(ticket)
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="ticket.open", record_type="ticket", record_id=ticket.id,
                 now=now, priority=priority, owner=owner.key, account=account.id)
    uow.emit(TicketOpened(ticket_id=ticket.id, owner_id=owner.id, actor_id=actor.id))
    return ticket




def do_ack(uow: UnitOfWork, actor: User, ticket: Ticket, *, now: datetime) -> bool:
    """Record the first response. Returns False (and changes nothing) when it was already recorded."""
    if ticket.closed_at is not None:
        when = local_time(uow.config, ticket.closed_at)
        raise Conflict("ticket.ack_closed", ref=ticket.ref, when=when)
    if ticket.responded_at is not None:
        return False
    ticket.responded_at = now
    ticket.responded_by_id = actor.id
    ticket.updated_at = now
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="ticket.ack", record_type="ticket", record_id=ticket.id,
                 now=now, late=now > ticket.respond_due_at)
    return True


def do_close(uow: UnitOfWork, actor: User, ticket: Ticket, *, now: datetime) -> None:
    """Resolve the ticket. A ticket closed before anyone acknowledged it counts as responded now too."""
    if ticket.closed_at is not None:
        when = local_time(uow.config, ticket.closed_at)
        raise Conflict("ticket.already_closed", ref=ticket.ref, when=when)
    if ticket.responded_at is None:
        ticket.responded_at = now
        ticket.responded_by_id = actor.id
    ticket.closed_at = now
    ticket.closed_by_id = actor.id
    ticket.status = "closed"
    ticket.updated_at = now
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="ticket.close", record_type="ticket", record_id=ticket.id,
                 now=now, late=now > ticket.resolve_due_at)
    uow.emit(TicketClosed(ticket_id=ticket.id, actor_id=actor.id))


# --- the clocks, as facts to query -------------------------------------------------------------------

@dataclass(frozen=True)
class ClockState:
    """One SLA clock: "met" / "late" (done, before / after due), "running" or "breached" (not done)."""

    state: str
    due: datetime
    done_at: datetime | None
    minutes: int  # running: minutes left; breached: minutes over; met/late: minutes before/after due


def clock_state(due: datetime, done_at: datetime | None, now: datetime) -> ClockState:
    if done_at is not None:
        delta = int((done_at - due).total_seconds() // 60)
        return ClockState("late" if done_at > due else "met", due, done_at, abs(delta))
    if now > due:
        return ClockState("breached", due, None, int((now - due).total_seconds() // 60))
    return ClockState("running", due, None, int((due - now).total_seconds() // 60))


def response_overdue(session: Session, now: datetime, *, limit: int = 100) -> list[Ticket]:
    """Open tickets past respond-by (strictly) with no first response (index range scan on ix_tickets_respond_due_open)."""
    return list(session.scalars(select(Ticket).where(Ticket.responded_at.is_(None), Ticket.respond_due_at < now)
                                .order_by(Ticket.respond_due_at, Ticket.id).limit(limit)))


def resolution_overdue(session: Session, now: datetime, *, limit: int = 100) -> list[Ticket]:
    """Open tickets past resolve-by (index range scan on ix_tickets_resolve_due_open)."""
    return list(session.scalars(select(Ticket).where(Ticket.closed_at.is_(None), Ticket.resolve_due_at < now)
                                .order_by(Ticket.resolve_due_at, Ticket.id).limit(limit)))


def next_due(ticket: Ticket) -> datetime:
    return ticket.respond_due_at if ticket.responded_at is None else ticket.resolve_due_at


# `my` and the Home tab run this on every call: built once (building a select cost more than running it), without
# the join of the owner (and its manager): the one asking, already in the session.
# Sorted and cut in the database (`next_due` as SQL): an agent with hundreds breached loads only the page shown.
_NEXT_DUE = case((Ticket.responded_at.is_(None), Ticket.respond_due_at), else_=Ticket.resolve_due_at)
_NEAR_BREACH_WHERE = (Ticket.owner_id == bindparam("owner_id"), Ticket.closed_at.is_(None), or_(
    (Ticket.responded_at.is_(None)) & (Ticket.respond_due_at <= bindparam("horizon")),
    Ticket.resolve_due_at <= bindparam("horizon")))
_NEAR_BREACH = (select(Ticket).where(*_NEAR_BREACH_WHERE).options(lazyload(Ticket.owner))
                .order_by(_NEXT_DUE, Ticket.id).limit(bindparam("limit")))
_NEAR_BREACH_COUNT = select(func.count()).select_from(Ticket).where(*_NEAR_BREACH_WHERE)


def near_breach(session: Session, owner_id: int, now: datetime, *, within: timedelta = timedelta(hours=24),
                limit: int = 10) -> list[Ticket]:
    """The owner's open tickets whose next clock (response, else resolution) runs out within `within`
    or already has, soonest first, at most `limit`."""
    return list(session.scalars(_NEAR_BREACH, {"owner_id": owner_id, "horizon": now + within, "limit": limit}))


def near_breach_count(session: Session, owner_id: int, now: datetime, *,
                      within: timedelta = timedelta(hours=24)) -> int:
    """How many tickets `near_breach` would list without its limit."""
    return int(session.scalar(_NEAR_BREACH_COUNT, {"owner_id": owner_id, "horizon": now + within}) or 0)


def csat_recipient(session: Session, ticket: Ticket) -> tuple[User, Contact | None]:
    """Who is asked to check satisfaction: the owner of the account's (first) contact, else the account owner."""
    contact = session.scalar(select(Contact).where(Contact.account_id == ticket.account_id).order_by(Contact.id)
                             .limit(1))
    owner_id = contact.owner_id if contact is not None else ticket.account.owner_id
    user = session.get(User, owner_id)
    assert user is not None
    return user, contact
