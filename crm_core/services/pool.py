"""The lead pool: leads nobody works. Release puts a lead there, a follow-up ladder may too; a rep
under the configured limit claims one — one claim wins when two race, by a single conditional UPDATE.

Who held a lead is remembered (lead_holders), so nothing bounces: whoever lost a lead to the pool cannot
claim it back for `reclaim_after_days`, and an SLA reassignment never hands it to someone who just had it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crm_core.errors import Conflict, InvalidValue, NotFound
from crm_core.events import LeadClaimed, LeadPooled
from crm_core.models import Account, Lead, LeadHolder, LeadIdentity, User
from crm_core.normalize import SAME_KEY_READ, normalize_company, normalize_phone, places_differ
from crm_core.queries.lookup import named_like
from crm_core.search_text import search_key
from crm_core.services import audit
from crm_core.services.lead_holders import end_hold, start_hold
from crm_core.services.leads import access_lead
from crm_core.uow import UnitOfWork

POOL = "pool"


@dataclass(frozen=True)
class PoolFilter:
    region: str | None = None
    industry: str | None = None
    source: str | None = None
    min_score: int | None = None


@dataclass(frozen=True)
class OwnerCheck:
    """What `check` may say about a customer: who owns it and what kind of record, nothing else."""
    kind: str  # lead | account | pool
    owner_name: str | None
    status: str
    alike: bool = False  # not this company, one named like it (a short form, a slip): its name is not told


def list_pool(session: Session, flt: PoolFilter, *, limit: int = 20) -> list[Lead]:
    q = select(Lead).where(Lead.status == POOL)
    for column, value in ((Lead.region, flt.region), (Lead.industry, flt.industry), (Lead.source, flt.source)):
        if value:
            q = q.where(column == value)
    if flt.min_score is not None:
        q = q.where(Lead.score >= flt.min_score)
    return list(session.scalars(q.order_by(Lead.score.desc(), Lead.pooled_at.desc(), Lead.id.desc()).limit(limit)))


def put_in_pool(uow: UnitOfWork, lead: Lead, *, reason: str, how: str, actor_id: int | None, now: datetime) -> None:
    """The lead leaves its owner for the pool (`how`: released by hand, pooled by a ladder)."""
    end_hold(uow.session, lead, how, now)
    previous = lead.owner_id
    lead.status, lead.pooled_at, lead.pool_reason = POOL, now, reason
    lead.first_response_due_at = None  # nobody owes a first response to a pooled lead
    lead.updated_at = now
    audit.record(uow.session, actor_id=actor_id, action=f"lead.{how}", record_type="lead", record_id=lead.id,
                 now=now, previous=previous, reason=reason)
    uow.emit(LeadPooled(lead_id=lead.id, previous_owner_id=previous, reason=reason, how=how))


def do_release(uow: UnitOfWork, actor: User, lead_id: int, reason: str, *, now: datetime) -> Lead:
    lead = access_lead(uow, actor, lead_id)
    if lead.status == POOL:
        raise Conflict("pool.already_in", ref=lead.ref)
    if lead.status != "open":
        raise Conflict("pool.not_open", ref=lead.ref)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidValue("reason", "", "pool.reason", ref=lead.ref)
    put_in_pool(uow, lead, reason=reason[:200], how="released", actor_id=actor.id, now=now)
    return lead


def open_lead_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Lead).where(Lead.owner_id == user_id,
                                                                       Lead.status == "open")) or 0


def do_claim(uow: UnitOfWork, actor: User, lead_id: int, *, now: datetime) -> Lead:
    """Take a pool lead. Two reps at once: the conditional UPDATE lets exactly one through; the other is told
    who has it. Refused over the open-lead limit and, for whoever lost the lead to the pool, for a while."""
    session, cfg = uow.session, uow.config.pool
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(ref=f"L-{lead_id}")
    if lead.status != POOL:
        _not_claimable(session, lead)
    count = open_lead_count(session, actor.id)
    if count >= cfg.max_open_leads:
        raise Conflict("pool.limit", count=count, limit=cfg.max_open_leads)
    lost = session.scalar(select(func.max(LeadHolder.until)).where(
        LeadHolder.lead_id == lead.id, LeadHolder.user_id == actor.id, LeadHolder.how.in_(("released", "pooled"))))
    if lost is not None and now - lost < timedelta(days=cfg.reclaim_after_days):
        again = lost + timedelta(days=cfg.reclaim_after_days)
        raise Conflict("pool.reclaim_later", ref=lead.ref, lost=f"{lost:%Y-%m-%d}", again=f"{again:%Y-%m-%d}")
    pooled_at = lead.pooled_at
    due = now + timedelta(minutes=uow.config.sla.lead.first_response_minutes)
    won = session.execute(update(Lead).where(Lead.id == lead.id, Lead.status == POOL).values(
        status="open", owner_id=actor.id, pooled_at=None, pool_reason=None, assigned_at=now, updated_at=now,
        first_response_due_at=due, first_responded_at=None).execution_options(synchronize_session=False))
    if won.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(lead)
        _not_claimable(session, lead)
    session.expire(lead)
    start_hold(session, lead.id, actor.id, now)
    audit.record(session, actor_id=actor.id, action="lead.claim", record_type="lead", record_id=lead.id, now=now)
    uow.emit(LeadClaimed(lead_id=lead.id, owner_id=actor.id, pooled_at=pooled_at))
    return lead


def _not_claimable(session: Session, lead: Lead) -> None:
    session.refresh(lead)
    if lead.status == "open":
        owner = session.get(User, lead.owner_id)
        name = owner.name if owner else "?"
        raise Conflict("pool.claimed_by", ref=lead.ref, owner=name)
    raise Conflict("pool.not_in", ref=lead.ref)


ALIKE_MIN = 2  # characters of a name before `check` looks for companies named like it (not one character)


def check_owner(session: Session, text: str, *, except_lead: int | None = None) -> list[OwnerCheck]:
    """Is this company or phone number already someone's? Leads and accounts, by the dedupe keys; the answer
    names the owner and the kind of record only — no contacts, no amounts. `except_lead`: a lead just made
    for this company, which is not "someone else's"."""
    text = (text or "").strip()
    if not text:
        raise InvalidValue("query", "", "pool.check_what")
    phone = normalize_phone(text)
    leads: list[Lead] = []
    accounts: list[Account] = []
    if phone:
        ids = session.scalars(select(LeadIdentity.lead_id).where(LeadIdentity.kind == "phone",
                                                                 LeadIdentity.value == phone))
        leads = list(session.scalars(select(Lead).where(Lead.id.in_(list(ids)))))
    else:
        key = normalize_company(text)
        if key:
            leads = list(session.scalars(select(Lead).where(Lead.company_key == key, Lead.id != (except_lead or 0))
                                         .order_by(Lead.id).limit(SAME_KEY_READ)))
            accounts = list(session.scalars(select(Account).where(Account.name_key == key)
                                            .order_by(Account.id).limit(SAME_KEY_READ)))
    # the company key leaves a leading city out: one of another stated city is another company, named like it
    found = (_owners([lead for lead in leads if not places_differ(text, lead.company or "")],
                     [a for a in accounts if not places_differ(text, a.name)])
             or [replace(f, alike=True) for f in _owners(leads, accounts)])
    if not found and not phone and len(search_key(text)) >= ALIKE_MIN:
        # a short form of a company (its city and brand) has another key than the company; "nobody owns it" would
        # send a rep to call another's customer
        alike = named_like(session, text, ("lead", "account"))
        leads = list(session.scalars(select(Lead).where(Lead.id.in_([i for k, i in alike if k == "lead"]),
                                                        Lead.id != (except_lead or 0)).order_by(Lead.id).limit(20)))
        accounts = list(session.scalars(select(Account).where(Account.id.in_([i for k, i in alike if k == "account"]))
                                        .order_by(Account.id).limit(20)))
        found = [replace(f, alike=True) for f in _owners(leads, accounts)]
    return found


def _owners(leads: list[Lead], accounts: list[Account]) -> list[OwnerCheck]:
    found = [OwnerCheck("pool" if lead.status == POOL else "lead", None if lead.status == POOL else lead.owner.name,
                        lead.status) for lead in leads if lead.status in ("open", POOL, "converted")]
    found += [OwnerCheck("account", a.owner.name if a.owner else None, "customer") for a in accounts]
    return found
