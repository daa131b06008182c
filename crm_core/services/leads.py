"""Leads: validate, normalise, dedupe, score, assign; convert into account + contact + deal."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from crm_core.config import Config
from crm_core.errors import Conflict, InvalidValue, NotFound
from crm_core.fields import (COMPANY_MAX, EMAIL_MAX, NAME_MAX, PHONE_MAX, SHORT_MAX, TAG_MAX, TAGS_MAX, check_custom,
                             check_text, find_decl, picklist_value, shown, unknown_field)
from crm_core.events import LeadAssigned, LeadUpdatedByDuplicate
from crm_core.models import Lead, User
from crm_core.normalize import normalize_company, normalize_email, normalize_phone
from crm_core.services import audit
from crm_core.services.assignment import choose_pool, next_in_pool
from crm_core.services.permissions import require_access
from crm_core.services.scoring import score_lead
from crm_core.uow import UnitOfWork

SOURCES = ("chat", "web", "referral", "event", "ads", "api", "import", "partner", "other")
# Fields that are picklists when the configuration has [picklists.<name>] (crm_core/fields.py).
PICKLISTS: dict[str, str] = {"source": "source", "region": "region", "industry": "industry"}
LEAD_FIELDS = ("company", "email", "phone", "source", "region", "industry", "product", "tags")


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
    fields: dict[str, str] = field(default_factory=dict)  # declared custom fields ([[fields.lead]]), by key


@dataclass(frozen=True)
class LeadResult:
    lead: Lead
    created: bool
    matched_on: str | None = None  # email | phone | company when it was a duplicate


def check_lead_input(data: LeadInput, config: Config | None = None) -> LeadInput:
    """Validate and normalise; raises InvalidValue / UnknownField naming the field and what to type instead.

    With a configuration, source / region / industry are resolved through its picklists and `fields`
    must be declared [[fields.lead]]; without one (a bare check) source must be one of SOURCES.
    """
    name = check_text("name", data.name, NAME_MAX)
    if not name:
        raise InvalidValue("name", "", "a lead needs a name, e.g. lead add 张三 company=某某科技",
                           "线索需要姓名，例如：线索 新建 张三 company=某某科技")
    email = None
    raw_email = check_text("email", data.email, EMAIL_MAX)
    if raw_email:
        email = normalize_email(raw_email)
        if email is None or len(email) > EMAIL_MAX:
            raise InvalidValue("email", shown(raw_email), "use an address like name@example.com",
                               "请使用 name@example.com 这样的邮箱")
    phone = None
    raw_phone = check_text("phone", data.phone, PHONE_MAX)
    if raw_phone:
        phone = normalize_phone(raw_phone)
        if phone is None or len(phone) > PHONE_MAX:
            raise InvalidValue("phone", shown(raw_phone),
                               "use a Chinese mobile (13800138000), a landline with area code (010-12345678) "
                               "or the international form (+44 20 7946 0958)",
                               "请填写 11 位手机号（13800138000）、带区号的座机（010-12345678）或国际格式（+44 20 7946 0958）")
    if config is not None:
        source = picklist_value(config, "source", "source", data.source or "chat", max_len=50) or "chat"
        region = picklist_value(config, "region", "region", data.region)
        industry = picklist_value(config, "industry", "industry", data.industry)
    else:
        source = (check_text("source", data.source, 50) or "chat").lower()
        if source not in SOURCES:
            raise InvalidValue("source", shown(data.source or ""), "one of " + ", ".join(SOURCES),
                               "可选值：" + "、".join(SOURCES))
        region = (check_text("region", data.region, SHORT_MAX) or "").lower() or None
        industry = (check_text("industry", data.industry, SHORT_MAX) or "").lower() or None
    company = check_text("company", data.company, COMPANY_MAX)
    product = (check_text("product", data.product, SHORT_MAX) or "").lower() or None
    tags = sorted({(check_text("tags", t, TAG_MAX) or "").lower() for t in data.tags} - {""})
    if len(tags) > TAGS_MAX:
        raise InvalidValue("tags", f"{len(tags)} tags", f"at most {TAGS_MAX} tags", f"最多 {TAGS_MAX} 个标签")
    custom: dict[str, str] = {}
    for raw_key, raw_value in data.fields.items():
        decl = find_decl(config, "lead", raw_key) if config is not None else None
        if decl is None:
            known = [*LEAD_FIELDS, *(d.key for d in (config.fields.lead if config is not None else []))]
            extra = ("lead convert <L-id> amount=…",) if raw_key.strip().lower() in ("amount", "金额") else ()
            raise unknown_field(raw_key, known, extra=extra)
        custom[decl.key] = check_custom(config, decl, raw_value)  # type: ignore[arg-type]
    return LeadInput(name=name, company=company, email=email, phone=phone, source=source,
                     region=region, industry=industry, product=product, tags=tags, fields=custom)


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
    data = check_lead_input(data, uow.config)
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
        industry=data.industry, product=data.product, tags=data.tags, fields=data.fields,
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


