"""Who may work on a record, per kind of record: the one access table.

Areas that act on records of other areas (an activity logged on a deal, lead or ticket; a quote on a
deal; a swarm on a deal or ticket) look the record up here instead of importing that area's use cases,
so the services form no import cycle. The table is built here, explicitly, once (it used to be a
module global that tickets.py patched into activities.py at import time).

Who may work a ticket: anyone tagged "support", whoever opened it, and whoever may see the ticket
owner's or the account owner's records (the owner, their managers, admin).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session

from crm_core.models import Deal, Ticket, User
from crm_core.services.leads import access_lead
from crm_core.services.permissions import can_access, require_access
from crm_core.services.records import load_record
from crm_core.uow import UnitOfWork

SUPPORT_TAG = "support"


def access_deal(uow: UnitOfWork, actor: User, deal_id: int, *, for_update: bool = False) -> Deal:
    deal = load_record(uow.session, Deal, deal_id, "deal", for_update=for_update)
    if for_update and (deal.owner is None or deal.owner.id != deal.owner_id):
        # the owner changed while we waited for the row lock: PostgreSQL's re-check leaves the joined owner empty
        uow.session.expire(deal, ["owner"])
    require_access(uow.session, actor, deal.owner_id, "forbidden.work_on", ref=f"D-{deal_id}")
    return deal


def is_support(user: User) -> bool:
    return SUPPORT_TAG in (user.tags or [])


def can_work(session: Session, actor: User, ticket: Ticket) -> bool:
    return (is_support(actor) or ticket.created_by_id == actor.id
            or can_access(session, actor, ticket.owner_id, ticket.account.owner_id))


def access_ticket(uow: UnitOfWork, actor: User, ticket_id: int, *, for_update: bool = False) -> Ticket:
    ticket = load_record(uow.session, Ticket, ticket_id, "ticket", for_update=for_update)
    if not can_work(uow.session, actor, ticket):
        # Same wording as every other refusal; the support team and the owner's managers can help.
        require_access(uow.session, actor, ticket.owner_id, "forbidden.handle", ref=f"T-{ticket_id}")
    return ticket


def _access_lead(uow: UnitOfWork, actor: User, lead_id: int) -> Any:
    return access_lead(uow, actor, lead_id)


Accessor = Callable[[UnitOfWork, User, int], Any]

# kind of record (as in a reference: D-7 → "deal") → how to load it for an actor, refusing who may not see it.
RECORD_ACCESS: Mapping[str, Accessor] = MappingProxyType({
    "deal": access_deal,
    "lead": _access_lead,
    "ticket": access_ticket,
})
