"""Leads: validate, normalise, dedupe, score, assign; convert into account + contact + deal."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from crm_core.errors import Conflict, InvalidValue, NotFound
from crm_core.events import LeadAssigned, LeadUpdatedByDuplicate
from crm_core.models import Lead, User
from crm_core.normalize import normalize_company, normalize_email, normalize_phone
from crm_core.services import audit
from crm_core.services.assignment import choose_pool, next_in_pool
from crm_core.services.permissions import require_access
from crm_core.services.scoring import score_lead
from crm_core.uow import UnitOfWork

SOURCES = ("chat", "web", "referral", "event", "ads", "api", "import", "partner", "other")
PICKLISTS: dict[str, tuple[str, ...]] = {"source": SOURCES}


@dataclass
class LeadInput:
    name: str
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    source: str = "chat"
    region: str | None = None
    industry: str | None = None
    product: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LeadResult:
    lead: Lead
    created: bool
    matched_on: str | None = None  # email | phone | company when it was a duplicate


def check_lead_input(data: LeadInput) -> LeadInput:
    """Validate and normalise; raises InvalidValue naming the field and what to type instead."""
    name = (data.name or "").strip()
    if not name:
        raise InvalidValue("name", "", "a lead needs a name, e.g. lead add 张三 company=某某科技",
                           "线索需要姓名，例如：线索 新建 张三 company=某某科技")
    if len(name) > 200:
        raise InvalidValue("name", name[:20] + "…", "at most 200 characters", "最多 200 个字符")
    email = None
    if data.email:
        email = normalize_email(data.email)
        if email is None:
            raise InvalidValue("email", data.email, "use an address like name@example.com",
                               "请使用 name@example.com 这样的邮箱")
    phone = None
    if data.phone:
        phone = normalize_phone(data.phone)
        if phone is None:
            raise InvalidValue("phone", data.phone,
                               "use a Chinese mobile (13800138000), a landline with area code (010-12345678) "
                               "or the international form (+44 20 7946 0958)",
                               "请填写 11 位手机号（13800138000）、带区号的座机（010-12345678）或国际格式（+44 20 7946 0958）")
    source = (data.source or "chat").strip().lower()
    if source not in SOURCES:
        raise InvalidValue("source", data.source, "one of " + ", ".join(SOURCES),
                           "可选值：" + "、".join(SOURCES))
    company = (data.company or "").strip() or None
    return LeadInput(name=name, company=company, email=email, phone=phone, source=source,
                     region=_clean(data.region), industry=_clean(data.industry), product=_clean(data.product),
                     tags=sorted({t.strip().lower() for t in data.tags if t.strip()}))


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value.lower() if value else None


def find_duplicate(uow: UnitOfWork, data: LeadInput) -> tuple[Lead, str] | None:
    """A lead with the same email, phone or normalised company name (in that order of strength)."""
    conds = []
    company_key = normalize_company(data.company) if data.company else None
    if data.email:
        conds.append(Lead.email == data.email)
    if data.phone:
        conds.append(Lead.phone == data.phone)
    if company_key:
        conds.append(Lead.company_key == company_key)
    if not conds:
        return None
    candidates = uow.session.scalars(select(Lead).where(or_(*conds)).order_by(Lead.id)).all()
    for attr, value in (("email", data.email), ("phone", data.phone), ("company_key", company_key)):
        for lead in candidates:
            if value and getattr(lead, attr) == value:
                return lead, "company" if attr == "company_key" else attr
    return None


def do_create_lead(uow: UnitOfWork, data: LeadInput, *, actor: User | None, now: datetime) -> LeadResult:
    """Create a lead, or update the existing one it duplicates (and say so)."""
    data = check_lead_input(data)
    dup = find_duplicate(uow, data)
    if dup is not None:
        lead, matched_on = dup
        merge_duplicate(lead, data, now)
        audit.record(uow.session, actor_id=actor.id if actor else None, action="lead.duplicate",
                     record_type="lead", record_id=lead.id, now=now, source=data.source, matched_on=matched_on)
        uow.emit(LeadUpdatedByDuplicate(lead_id=lead.id, source=data.source))
        return LeadResult(lead=lead, created=False, matched_on=matched_on)
    config = uow.config
    owner = _pick_owner(uow, data, actor)
    lead = Lead(
        name=data.name, company=data.company, company_key=normalize_company(data.company) if data.company else None,
        email=data.email, phone=data.phone, source=data.source, last_source=data.source, region=data.region,
        industry=data.industry, product=data.product, tags=data.tags,
        score=score_lead(config.scoring, source=data.source, industry=data.industry, region=data.region,
                         product=data.product, has_email=bool(data.email), has_phone=bool(data.phone),
                         has_company=bool(data.company)),
        status="open", owner_id=owner.id, created_by_id=actor.id if actor else None, assigned_at=now,
        first_response_due_at=now + timedelta(minutes=config.sla.lead.first_response_minutes),
        created_at=now, updated_at=now,
    )
    uow.session.add(lead)
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id if actor else None, action="lead.create", record_type="lead",
                 record_id=lead.id, now=now, owner=owner.key, source=data.source)
    if actor is None or owner.id != actor.id:
        uow.emit(LeadAssigned(lead_id=lead.id, owner_id=owner.id))
    return LeadResult(lead=lead, created=True)


def _pick_owner(uow: UnitOfWork, data: LeadInput, actor: User | None) -> User:
    # A lead a rep creates in chat stays with that rep; others go through the rules.
    if actor is not None and actor.role == "rep":
        return actor
    pool = choose_pool(uow.config, {"region": data.region, "industry": data.industry,
                                    "product": data.product, "source": data.source})
    owner = next_in_pool(uow.session, pool)
    if owner is None:
        if actor is not None:
            return actor
        raise Conflict("No rep is available to take the lead: add reps to the configuration or mark one back.",
                       "没有可分配的销售：请在配置中添加销售，或取消其「外出」状态。")
    return owner


class Mergeable(Protocol):
    """What merge_duplicate touches: a Lead, or a lead a bulk import is about to insert."""

    tags: list[str]
    last_source: str | None
    duplicate_hits: int
    email: str | None
    phone: str | None
    company: str | None
    company_key: str | None
    region: str | None
    industry: str | None
    product: str | None
    updated_at: datetime


def merge_duplicate(lead: Mergeable, data: LeadInput, now: datetime) -> None:
    lead.tags = sorted(set(lead.tags or []) | set(data.tags) | {f"src:{data.source}"})
    lead.last_source = data.source
    lead.duplicate_hits = (lead.duplicate_hits or 0) + 1
    for attr in ("email", "phone", "company", "region", "industry", "product"):
        if getattr(lead, attr) in (None, "") and getattr(data, attr):
            setattr(lead, attr, getattr(data, attr))
    if data.company and not lead.company_key:
        lead.company_key = normalize_company(data.company)
    lead.updated_at = now


def access_lead(uow: UnitOfWork, actor: User, lead_id: int) -> Lead:
    lead = uow.session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(ref=f"L-{lead_id}")
    require_access(uow.session, actor, lead.owner_id, f"see L-{lead_id}", f"查看 L-{lead_id}")
    return lead


def list_leads(uow: UnitOfWork, actor: User, *, limit: int = 20, status: str = "open") -> list[Lead]:
    return list(uow.session.scalars(select(Lead).where(Lead.owner_id == actor.id, Lead.status == status)
                                    .order_by(Lead.score.desc(), Lead.id.desc()).limit(limit)))


def reassign_lead(uow: UnitOfWork, lead: Lead, *, now: datetime) -> User | None:
    """Round-robin the lead to the next rep of its pool (used on a first-response breach)."""
    pool = choose_pool(uow.config, {"region": lead.region, "industry": lead.industry,
                                    "product": lead.product, "source": lead.source})
    new_owner = next_in_pool(uow.session, pool, exclude=frozenset({lead.owner_id}))
    if new_owner is None:
        return None
    previous = lead.owner_id
    lead.owner_id = new_owner.id
    lead.assigned_at = now
    lead.first_response_due_at = now + timedelta(minutes=uow.config.sla.lead.first_response_minutes)
    lead.reassign_count += 1
    lead.updated_at = now
    audit.record(uow.session, actor_id=None, action="lead.reassign", record_type="lead", record_id=lead.id,
                 now=now, previous=previous, owner=new_owner.id)
    uow.emit(LeadAssigned(lead_id=lead.id, owner_id=new_owner.id, previous_owner_id=previous, reason="reassigned"))
    return new_owner


