"""Leads: validate, normalise, dedupe, score, assign; convert into account + contact + deal."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_core.config import Config
from crm_core.db import insert_or_skip
from crm_core.errors import Conflict, InvalidValue, NotFound, Problems
from crm_core.fields import (COMPANY_MAX, EMAIL_MAX, NAME_MAX, PHONE_MAX, SHORT_MAX, TAG_MAX, TAGS_MAX, check_custom,
                             check_text, find_decl, picklist_value, shown, unknown_field)
from crm_core.events import LeadAssigned, LeadCreated, LeadUpdatedByDuplicate
from crm_core.models import Lead, LeadIdentity, LeadMerge, User
from crm_core.normalize import SAME_KEY_READ, normalize_email, normalize_phone, places_differ
from crm_core.queries.lists import LEAD_LINE, LeadLine, read_lines
from crm_core.services import audit
from crm_core.services.assignment import choose_pool, next_in_pool
from crm_core.services.lead_holders import end_hold, recent_holders, start_hold
from crm_core.services.lead_identity import KINDS, company_key_of, identity_keys, normalize_person_name
from crm_core.services.permissions import require_access
from crm_core.services.scoring import score_lead
from crm_core.uow import UnitOfWork
from crm_core.vocabulary import AMOUNT_KEYS

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
    matched_on: str | None = None  # email | phone | name when it was a duplicate
    merge: LeadMerge | None = None  # the record of the automatic merge, when it was a duplicate
    differences: dict[str, str] = field(default_factory=dict)  # values the newcomer typed that differ
    same_company: Lead | None = None  # a new lead: the oldest other lead at the same company


def _contact_point(name: str, raw: str | None, most: int, normalize: Callable[[str], str | None],
                   hint: str) -> str | None:
    """The lead's email or phone (field `name`) as typed, normalised; None when empty. InvalidValue (with `hint`)
    when it does not normalise or comes out longer than `most`."""
    text = check_text(name, raw, most)
    if not text:
        return None
    value = normalize(text)
    if value is None or len(value) > most:
        raise InvalidValue(name, shown(text), hint)
    return value


def _bare_choices(data: LeadInput) -> tuple[str, str | None, str | None]:
    """source, region, industry checked without a configuration: source one of SOURCES, the others free text."""
    source = (check_text("source", data.source, 50) or "chat").lower()
    if source not in SOURCES:
        raise InvalidValue("source", shown(data.source or ""), "lead.source", choices=list(SOURCES))
    region = (check_text("region", data.region, SHORT_MAX) or "").lower() or None
    industry = (check_text("industry", data.industry, SHORT_MAX) or "").lower() or None
    return source, region, industry


def check_lead_input(data: LeadInput, config: Config | None = None) -> LeadInput:
    """Validate and normalise; raises InvalidValue / UnknownField naming the field and what to type instead,
    the first problem with the others in its `also` (every field is checked).

    With a configuration, source / region / industry are resolved through its picklists and `fields`
    must be declared [[fields.lead]]; without one (a bare check) source must be one of SOURCES.
    """
    problems = Problems()  # every field is checked: a row or a command is fixed once, not once per field
    name = problems.check(check_text, "name", data.name, NAME_MAX)
    if not name and not problems.found:
        problems.add(InvalidValue("name", "", "lead.name"))
    email = problems.check(lambda: _contact_point("email", data.email, EMAIL_MAX, normalize_email, "lead.email"))
    phone = problems.check(lambda: _contact_point("phone", data.phone, PHONE_MAX, normalize_phone, "lead.phone"))
    if config is not None:
        source = problems.check(picklist_value, config, "source", "source", data.source or "chat", max_len=50) or "chat"
        region = problems.check(picklist_value, config, "region", "region", data.region)
        industry = problems.check(picklist_value, config, "industry", "industry", data.industry)
    else:
        source, region, industry = problems.check(_bare_choices, data) or ("chat", None, None)
    company = problems.check(check_text, "company", data.company, COMPANY_MAX)
    product = (problems.check(check_text, "product", data.product, SHORT_MAX) or "").lower() or None
    tags = sorted({(problems.check(check_text, "tags", t, TAG_MAX) or "").lower() for t in data.tags} - {""})
    if len(tags) > TAGS_MAX:
        problems.add(InvalidValue("tags", str(len(tags)), "lead.tags", most=TAGS_MAX))
    custom: dict[str, str] = {}
    for raw_key, raw_value in data.fields.items():
        decl = find_decl(config, "lead", raw_key) if config is not None else None
        if decl is None:
            known = [*LEAD_FIELDS, *(d.key for d in (config.fields.lead if config is not None else []))]
            extra = ("lead convert <L-id> amount=…",) if raw_key.strip().lower() in AMOUNT_KEYS else ()
            problems.add(unknown_field(raw_key, known, extra=extra,
                                       decls=config.fields.lead if config is not None else ()))
            continue
        value = problems.check(check_custom, config, decl, raw_value)
        if value is not None:
            custom[decl.key] = value
    problems.raise_any()
    assert name is not None
    return LeadInput(name=name, company=company, email=email, phone=phone, source=source,
                     region=region, industry=industry, product=product, tags=tags, fields=custom)


def find_duplicate(uow: UnitOfWork, data: LeadInput) -> tuple[Lead | None, str | None]:
    """The lead that is the same person and the kind of key that says so: same e-mail, phone, or name at the same
    company (strongest first). (None, "name") when only a namesake holds the name key: the same name at the
    same company key, but of another city (Zhang Wei of the Guangzhou company is not Zhang Wei of the Shenzhen
    one, though the key leaves places out) — another person, and that key stays its holder's. (None, None): nobody.

    `data` must have been through check_lead_input. The lead row is locked (FOR UPDATE on PostgreSQL), so two
    duplicates arriving at once update it one after the other.
    """
    keys = identity_keys(name=data.name, company_key=company_key_of(data.company), email=data.email,
                         phone=data.phone)
    found = find_by_keys(uow.session, keys)
    if found is None:
        return None, None
    lead_id, kind = found
    lead = uow.session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update(of=Lead))
    if lead is None:
        return None, None
    if kind == "name" and places_differ(data.company or "", lead.company or ""):
        return None, "name"
    return lead, kind


def find_by_keys(session: Session, keys: list[tuple[str, str]]) -> tuple[int, str] | None:
    """(lead id, matched kind) of the strongest key some lead already holds."""
    if not keys:
        return None
    rows = session.execute(select(LeadIdentity.kind, LeadIdentity.lead_id)
                           .where(or_(*(and_(LeadIdentity.kind == k, LeadIdentity.value == v) for k, v in keys))))
    held = {kind: lead_id for kind, lead_id in rows}
    for kind in KINDS:
        if kind in held:
            return held[kind], kind
    return None


def add_identity_keys(session: Session, lead_id: int, keys: list[tuple[str, str]]) -> list[list[str]]:
    """Give the lead the keys nobody holds yet (a key another lead holds stays with it); returns the keys added."""
    if not keys:
        return []
    rows = session.execute(select(LeadIdentity.kind, LeadIdentity.value)
                           .where(or_(*(and_(LeadIdentity.kind == k, LeadIdentity.value == v) for k, v in keys))))
    taken = {(k, v) for k, v in rows}
    fresh = [(k, v) for k, v in keys if (k, v) not in taken]
    if fresh:
        session.execute(insert_ignoring_conflicts(session), [{"kind": k, "value": v, "lead_id": lead_id}
                                                               for k, v in sorted(fresh)])
    return [[k, v] for k, v in fresh]


def insert_ignoring_conflicts(session: Session) -> Any:
    """INSERT … ON CONFLICT DO NOTHING on lead_identities: an identity another lead holds stays with it."""
    return insert_or_skip(session, LeadIdentity, on=("kind", "value"))


def do_create_lead(uow: UnitOfWork, data: LeadInput, *, actor: User | None, now: datetime) -> LeadResult:
    """Create a lead, or update the existing lead of the same person (and record that as a merge that can be split).

    The identity keys are unique in the database: a transaction that loses the race to insert the same person
    rolls back to its savepoint, finds the winner and updates it instead.
    """
    data = check_lead_input(data, uow.config)
    company_key = company_key_of(data.company)
    keys = identity_keys(name=data.name, company_key=company_key, email=data.email, phone=data.phone)
    for _attempt in range(5):
        dup, matched = find_duplicate(uow, data)
        if dup is not None and matched is not None:
            return _update_duplicate(uow, dup, matched, data, actor, now)
        held = [k for k in keys if k[0] != matched]  # less the name key a namesake of another city holds
        try:
            with uow.session.begin_nested():
                owner = _pick_owner(uow, data, actor)
                lead = _new_lead(uow, data, company_key, owner, actor, now)
                uow.session.add(lead)
                uow.session.flush()
                uow.session.add_all([LeadIdentity(kind=k, value=v, lead_id=lead.id) for k, v in sorted(held)])
                uow.session.flush()
        except IntegrityError:
            continue  # another transaction stored this person first: find it and update it
        audit.record(uow.session, actor_id=actor.id if actor else None, action="lead.create", record_type="lead",
                     record_id=lead.id, now=now, owner=owner.key, source=data.source)
        uow.emit(LeadCreated(lead_id=lead.id))
        if actor is None or owner.id != actor.id:
            uow.emit(LeadAssigned(lead_id=lead.id, owner_id=owner.id))
        return LeadResult(lead=lead, created=True, same_company=same_company_lead(uow, lead))
    raise Conflict("lead.busy")


def _new_lead(uow: UnitOfWork, data: LeadInput, company_key: str | None, owner: User, actor: User | None,
              now: datetime, *, sla: bool = True) -> Lead:
    config = uow.config
    return Lead(
        name=data.name, company=data.company, company_key=company_key,
        email=data.email, phone=data.phone, source=data.source, last_source=data.source, region=data.region,
        industry=data.industry, product=data.product, tags=list(data.tags), fields=data.fields,
        score=score_lead(config.scoring, source=data.source, industry=data.industry, region=data.region,
                         product=data.product, has_email=bool(data.email), has_phone=bool(data.phone),
                         has_company=bool(data.company)),
        status="open", owner_id=owner.id, created_by_id=actor.id if actor else None, assigned_at=now,
        first_response_due_at=now + timedelta(minutes=config.sla.lead.first_response_minutes) if sla else None,
        created_at=now, updated_at=now,
    )


def _update_duplicate(uow: UnitOfWork, lead: Lead, matched_on: str, data: LeadInput, actor: User | None,
                      now: datetime) -> LeadResult:
    previous = {"last_source": lead.last_source, "tags": list(lead.tags or [])}
    change = merge_duplicate(lead, data, now)
    uow.session.flush()
    added_keys = add_identity_keys(uow.session, lead.id, identity_keys(
        name=lead.name, company_key=lead.company_key, email=lead.email, phone=lead.phone))
    merge = LeadMerge(kind="auto", kept_lead_id=lead.id, merged_lead_id=None, actor_id=actor.id if actor else None,
                      matched_on=matched_on, snapshot=input_snapshot(data),
                      moved={"filled": change.filled, "identities_added": added_keys,
                             "tags_added": sorted(set(lead.tags) - set(previous["tags"])),
                             "last_source": previous["last_source"], "duplicate_hits": 1},
                      differences=change.differences, at=now)
    uow.session.add(merge)
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id if actor else None, action="lead.duplicate",
                 record_type="lead", record_id=lead.id, now=now, source=data.source, matched_on=matched_on,
                 merge_id=merge.id, differences=change.differences)
    uow.emit(LeadUpdatedByDuplicate(lead_id=lead.id, source=data.source, actor_id=actor.id if actor else None,
                                    matched_on=matched_on, merge_id=merge.id))
    return LeadResult(lead=lead, created=False, matched_on=matched_on, merge=merge, differences=change.differences)


def input_snapshot(data: LeadInput) -> dict[str, Any]:
    """What a newcomer typed, as JSON: kept with an automatic merge so it can be split back into its own lead."""
    return {"name": data.name, "company": data.company, "email": data.email, "phone": data.phone,
            "source": data.source, "region": data.region, "industry": data.industry, "product": data.product,
            "tags": list(data.tags)}


def same_company_lead(uow: UnitOfWork, lead: Lead) -> Lead | None:
    """The oldest other live lead at the same (normalised) company: a colleague, linked by the company key. Not
    one at the company of another stated city (two cities, two companies: find_duplicate)."""
    if not lead.company_key:
        return None
    others = uow.session.scalars(select(Lead).where(Lead.company_key == lead.company_key, Lead.id != lead.id,
                                                    Lead.status.in_(("open", "converted")))
                                 .order_by(Lead.id).limit(SAME_KEY_READ))
    return next((o for o in others if not places_differ(lead.company or "", o.company or "")), None)


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
        raise Conflict("lead.no_rep")
    return owner


class Mergeable(Protocol):
    """What merge_duplicate touches: a Lead, or a lead a bulk import is about to insert."""

    name: str
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


@dataclass(frozen=True)
class MergeChange:
    filled: dict[str, str]  # field -> the value the newcomer brought into an empty field
    differences: dict[str, str]  # field -> the newcomer's value where the lead already had another one


FILLABLE = ("email", "phone", "company", "region", "industry", "product")


def merge_duplicate(lead: Mergeable, data: LeadInput, now: datetime) -> MergeChange:
    """Fill the lead's empty fields from the newcomer; never overwrite, and report the values that differ."""
    lead.tags = sorted(set(lead.tags or []) | set(data.tags) | {f"src:{data.source}"})
    lead.last_source = data.source
    lead.duplicate_hits = (lead.duplicate_hits or 0) + 1
    filled: dict[str, str] = {}
    differences: dict[str, str] = {}
    for attr in FILLABLE:
        mine, theirs = getattr(lead, attr), getattr(data, attr)
        if not theirs:
            continue
        if mine in (None, ""):
            setattr(lead, attr, theirs)
            filled[attr] = theirs
        elif not _same_value(attr, mine, theirs):
            differences[attr] = theirs
    custom = dict(getattr(lead, "fields", None) or {})
    for key, value in (data.fields or {}).items():  # declared custom fields: filled or reported, never dropped
        if custom.get(key) in (None, ""):
            custom[key] = value
            filled[key] = value
        elif str(custom[key]).strip().casefold() != str(value).strip().casefold():
            differences[key] = value
    if custom != (getattr(lead, "fields", None) or {}) and hasattr(lead, "fields"):
        lead.fields = custom
    if normalize_person_name(lead.name) != normalize_person_name(data.name):
        differences["name"] = data.name
    if "company" in filled:
        lead.company_key = company_key_of(data.company)
    lead.updated_at = now
    return MergeChange(filled=filled, differences=differences)


def _same_value(attr: str, a: str, b: str) -> bool:
    if attr == "company":
        return company_key_of(a) == company_key_of(b)
    return a.strip().casefold() == b.strip().casefold()


def access_lead(uow: UnitOfWork, actor: User, lead_id: int) -> Lead:
    lead = uow.session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(ref=f"L-{lead_id}")
    require_access(uow.session, actor, lead.owner_id, "forbidden.see", ref=f"L-{lead_id}")
    return lead


# `my` runs this on every call: built once (building a select cost more than running it on SQLite), without
# the join of the owner (the actor, already in the session).
_LEADS_OF_OWNER = (select(*LEAD_LINE).where(Lead.owner_id == bindparam("owner_id"), Lead.status == bindparam("status"))
                   .order_by(Lead.score.desc(), Lead.id.desc()).limit(bindparam("limit")))


def list_leads(uow: UnitOfWork, actor: User, *, limit: int = 20, status: str = "open") -> list[LeadLine]:
    """The actor's leads as list lines, best score first."""
    return read_lines(uow.session, LeadLine, _LEADS_OF_OWNER, {"owner_id": actor.id, "status": status, "limit": limit})


def reassign_lead(uow: UnitOfWork, lead: Lead, *, now: datetime) -> User | None:
    """Round-robin the lead to the next rep of its pool (used on a first-response breach)."""
    pool = choose_pool(uow.config, {"region": lead.region, "industry": lead.industry,
                                    "product": lead.product, "source": lead.source})
    # nobody who held it in this stretch gets it back (L-33 went from one rep to another and back overnight)
    held = recent_holders(uow.session, lead, since=lead.assigned_at - timedelta(days=uow.config.pool.reclaim_after_days))
    new_owner = next_in_pool(uow.session, pool, exclude=frozenset(held))
    if new_owner is None:
        return None
    end_hold(uow.session, lead, "reassigned", now)
    start_hold(uow.session, lead.id, new_owner.id, now)
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


