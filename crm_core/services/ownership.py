"""Who owns a record, and moving it: `deal set D-1 owner=tom`, `lead assign L-3 tom`, `transfer li wang`.

- Who may move a record: its current owner (to give it away), anyone above the owner in the manager
  chain, or an admin. A rep may not take someone else's record.
- `transfer` (a person leaves) is for managers and admins only: every open lead, open deal, open
  ticket, active contract and open task of one person goes to another, in one transaction; both
  sides get one message, not one per record.
- The new owner is named by user key, display name, a Slack mention `<@U123>` or a WeCom userid;
  only active users can receive records. An unknown name is refused with "did you mean".
- Every change is in the audit log; the events carry the audit entry's id, which keys the outbox
  rows, so a retried request cannot notify twice.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from crm_core.errors import Conflict, Forbidden, InvalidValue, RoleForbidden, Term
from crm_core.events import OwnerChanged, RecordsTransferred
from crm_core.search_index import sync_owners
from crm_core.models import AuditEntry, ChatIdentity, Contract, Deal, Lead, Task, Ticket, User
from crm_core.queries.people import user_name
from crm_core.services.permissions import can_access
from crm_core.services.records import load_record
from crm_core.company_time import local_date
from crm_core.uow import UnitOfWork

_MENTION = re.compile(r"^<@([A-Za-z0-9_.-]{1,64})(?:\|[^>]*)?>$")
TRANSFER_KINDS = ("leads", "deals", "tickets", "contracts", "tasks")


def resolve_user(uow: UnitOfWork, raw: str, *, active_only: bool = True) -> User:
    """The active user named by key, display name, `<@SLACKID>`, `@name` or a chat user id.

    `active_only=False` also finds people who have left (the `from` side of a transfer)."""
    text = (raw or "").strip()
    mention = _MENTION.match(text)
    wanted = mention.group(1) if mention else text.lstrip("@＠").strip()
    if not wanted:
        raise InvalidValue("owner", raw, "owner.empty")
    s = uow.session
    stmt = select(User).order_by(User.id)
    active = list(s.scalars(stmt.where(User.active.is_(True)) if active_only else stmt))
    low = wanted.lower()
    for match in (lambda u: u.key.lower() == low, lambda u: u.name == wanted, lambda u: u.name.lower() == low):
        found = [u for u in active if match(u)]
        if len(found) == 1:
            return found[0]
    ident = s.scalar(select(ChatIdentity).where(ChatIdentity.external_id == wanted))
    if ident is not None and (ident.user.active or not active_only):
        return ident.user
    names = {u.key: u for u in active} | {u.name: u for u in active}
    near = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.5)
    near += [k for k in names if low and low in k.lower() and k not in near][:3 - len(near)]
    hint = ", ".join(f"{names[k].key} ({names[k].name})" for k in dict.fromkeys(near)) if near else ""
    raise InvalidValue("owner", raw, "owner.unknown_near" if hint else "owner.unknown", near=hint)


def check_can_move(uow: UnitOfWork, actor: User, owner_id: int, ref: str) -> None:
    """The owner, anyone above the owner in the manager chain, or an admin."""
    if actor.id == owner_id or (actor.rank > 0 and can_access(uow.session, actor, owner_id)) or actor.is_admin:
        return
    who = user_name(uow.session, owner_id)
    raise Forbidden("forbidden.move", ref=ref, who=who)


def _audit(uow: UnitOfWork, actor: User, action: str, record_type: str, record_id: int, now: datetime,
           **data: Any) -> int:
    entry = AuditEntry(actor_id=actor.id, action=action, record_type=record_type, record_id=record_id,
                       data={k: v for k, v in data.items()}, at=now)
    uow.session.add(entry)
    uow.session.flush()
    return entry.id


def _check_move(uow: UnitOfWork, actor: User, record: Deal | Lead, new_owner: User) -> int:
    """Before a deal or lead changes owner: the actor may move it, it goes to someone else, it is still open.
    Returns the old owner's id."""
    check_can_move(uow, actor, record.owner_id, record.ref)
    # by id: after waiting for a row lock, PostgreSQL's re-check can leave an eager-loaded owner empty
    if record.owner_id == new_owner.id:
        raise Conflict("owner.unchanged", ref=record.ref, name=new_owner.name)
    if record.status != "open":
        deal = isinstance(record, Deal)
        raise Conflict("owner.deal_closed" if deal else "owner.lead_not_open", ref=record.ref,
                       status=Term("status" if deal else "lead_status", record.status))
    return record.owner_id


def _owner_changed(uow: UnitOfWork, actor: User, record_type: str, record: Deal | Lead, old_id: int,
                   new_owner: User, now: datetime) -> None:
    """After a deal or lead changed owner: written, its old owner forgotten, audited, both owners told."""
    uow.session.flush()
    uow.session.expire(record, ["owner"])
    audit_id = _audit(uow, actor, f"{record_type}.owner", record_type, record.id, now, old_owner_id=old_id,
                      new_owner_id=new_owner.id)
    uow.emit(OwnerChanged(record_type=record_type, record_id=record.id, old_owner_id=old_id,
                          new_owner_id=new_owner.id, actor_id=actor.id, audit_id=audit_id))


def do_transfer_deal(uow: UnitOfWork, actor: User, deal: Deal, new_owner: User, *, now: datetime) -> None:
    """Give an open deal (and its open tasks) to another person."""
    old_id = _check_move(uow, actor, deal, new_owner)
    deal.owner_id, deal.updated_at = new_owner.id, now
    uow.session.execute(update(Task).where(Task.deal_id == deal.id, Task.owner_id == old_id, Task.done_at.is_(None))
                        .values(owner_id=new_owner.id).execution_options(synchronize_session=False))
    _owner_changed(uow, actor, "deal", deal, old_id, new_owner, now)


def do_assign_lead(uow: UnitOfWork, actor: User, lead_id: int, new_owner: User, *, now: datetime) -> Lead:
    lead = load_record(uow.session, Lead, lead_id, "lead", for_update=True)
    old_id = _check_move(uow, actor, lead, new_owner)
    lead.owner_id, lead.assigned_at, lead.updated_at = new_owner.id, now, now
    _owner_changed(uow, actor, "lead", lead, old_id, new_owner, now)
    return lead


@dataclass(frozen=True)
class Transfer:
    from_user: User
    to_user: User
    counts: dict[str, int]


def do_transfer_all(uow: UnitOfWork, actor: User, from_user: User, to_user: User, *, now: datetime) -> Transfer:
    """Everything open of `from_user` goes to `to_user`: five UPDATE statements, one transaction."""
    if actor.rank == 0:
        raise RoleForbidden("forbidden.transfer")
    if from_user.id == actor.id and not actor.is_admin:
        raise RoleForbidden("forbidden.transfer_own")
    check_can_move(uow, actor, from_user.id, from_user.name)
    if from_user.id == to_user.id:
        raise Conflict("transfer.same_person")
    s, today = uow.session, local_date(uow.config, now)
    from_id, to_id, actor_id = from_user.id, to_user.id, actor.id
    statements = {
        "leads": update(Lead).where(Lead.owner_id == from_user.id, Lead.status == "open")
        .values(owner_id=to_user.id, assigned_at=now, updated_at=now),
        "deals": update(Deal).where(Deal.owner_id == from_user.id, Deal.status == "open")
        .values(owner_id=to_user.id, updated_at=now, version=Deal.version + 1),
        "tickets": update(Ticket).where(Ticket.owner_id == from_user.id, Ticket.closed_at.is_(None))
        .values(owner_id=to_user.id, updated_at=now, version=Ticket.version + 1),
        "contracts": update(Contract).where(Contract.owner_id == from_user.id, Contract.end_date >= today)
        .values(owner_id=to_user.id, updated_at=now),
        "tasks": update(Task).where(Task.owner_id == from_user.id, Task.done_at.is_(None),
                                    or_(Task.deal_id.is_(None), Task.deal_id.in_(
                                        select(Deal.id).where(Deal.status == "open"))))
        .values(owner_id=to_user.id),
    }
    counts: dict[str, int] = {}
    for kind in TRANSFER_KINDS:
        result = s.execute(statements[kind].execution_options(synchronize_session=False))
        counts[kind] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    sync_owners(s, ("lead", "deal", "ticket"), from_id, to_id)  # bulk updates bypass the ORM's index upkeep
    for model in (Lead, Deal, Ticket, Contract, Task):  # loaded copies must not keep the old owner
        for obj in [o for o in s.identity_map.values() if isinstance(o, model)]:
            s.expire(obj)
    audit_id = _audit(uow, actor, "owner.transfer", "user", from_id, now, to_user_id=to_id, **counts)
    uow.emit(RecordsTransferred(from_user_id=from_id, to_user_id=to_id, actor_id=actor_id, counts=counts,
                                audit_id=audit_id))
    return Transfer(from_user, to_user, counts)
