"""Merging two leads of the same person, and splitting a merge back (`lead merge`, `lead split`, `undo`).

A merge moves the merged lead's activities, tasks and identity keys to the kept lead, fills the kept lead's
empty fields, and writes a LeadMerge row with a JSON snapshot of the merged lead and the ids of everything
that moved, so a split within UNDO_DAYS puts each thing back. Automatic merges (a duplicate that updated an
existing lead, crm_core.services.leads) are recorded the same way; splitting one creates the newcomer's
own lead from its snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from crm_core.errors import Conflict, InvalidValue, NotFound
from crm_core.events import LeadAssigned, LeadMerged
from crm_core.models import Activity, Lead, LeadIdentity, LeadMerge, Task, User
from crm_core.services import audit
from crm_core.services.lead_identity import company_key_of, identity_keys
from crm_core.services.leads import FILLABLE, LeadInput, _new_lead, add_identity_keys
from crm_core.services.permissions import require_access
from crm_core.uow import UnitOfWork

UNDO_DAYS = 30  # a merge can be split back (or undone) for this many days
SNAPSHOT_FIELDS = ("name", "company", "company_key", "email", "phone", "source", "last_source", "region",
                   "industry", "product", "tags", "score", "status", "owner_id", "duplicate_hits")


@dataclass(frozen=True)
class SplitResult:
    merge: LeadMerge
    kept: Lead
    restored: Lead  # the merged lead back in the open, or the newcomer's own new lead (automatic merges)


def _lock_leads(uow: UnitOfWork, ids: list[int]) -> dict[int, Lead]:
    rows = uow.session.scalars(select(Lead).where(Lead.id.in_(ids)).order_by(Lead.id).with_for_update(of=Lead))
    return {lead.id: lead for lead in rows}


def _require_edit(uow: UnitOfWork, actor: User, lead: Lead) -> None:
    require_access(uow.session, actor, lead.owner_id, "forbidden.merge", ref=lead.ref)


def do_merge_leads(uow: UnitOfWork, actor: User, merged_id: int, kept_id: int, *, now: datetime) -> LeadMerge:
    """Merge lead `merged_id` into lead `kept_id` (which stays)."""
    if merged_id == kept_id:
        raise InvalidValue("lead", f"L-{merged_id}", "merge.same_lead")
    leads = _lock_leads(uow, sorted({merged_id, kept_id}))
    for lead_id in (merged_id, kept_id):
        if lead_id not in leads:
            raise NotFound(ref=f"L-{lead_id}")
    merged, kept = leads[merged_id], leads[kept_id]
    _require_edit(uow, actor, merged)
    _require_edit(uow, actor, kept)
    for lead in (merged, kept):
        if lead.status == "merged":
            raise Conflict("merge.already_merged", ref=lead.ref)
    if merged.status == "converted":
        raise Conflict("merge.converted", ref=merged.ref, kept=kept.ref)
    snapshot = {f: getattr(merged, f) for f in SNAPSHOT_FIELDS}
    activities = list(uow.session.scalars(select(Activity.id).where(Activity.lead_id == merged.id)))
    tasks = list(uow.session.scalars(select(Task.id).where(Task.lead_id == merged.id)))
    if activities:
        uow.session.execute(update(Activity).where(Activity.id.in_(activities)).values(lead_id=kept.id))
    if tasks:
        uow.session.execute(update(Task).where(Task.id.in_(tasks)).values(lead_id=kept.id))
    moved_keys = [[k, v] for k, v in uow.session.execute(
        select(LeadIdentity.kind, LeadIdentity.value).where(LeadIdentity.lead_id == merged.id))]
    uow.session.execute(update(LeadIdentity).where(LeadIdentity.lead_id == merged.id).values(lead_id=kept.id))
    filled: dict[str, Any] = {}
    differences: dict[str, Any] = {}
    for attr in FILLABLE:
        mine, theirs = getattr(kept, attr), getattr(merged, attr)
        if not theirs:
            continue
        if not mine:
            setattr(kept, attr, theirs)
            filled[attr] = theirs
        elif mine != theirs:
            differences[attr] = theirs
    if merged.name != kept.name:
        differences["name"] = merged.name
    if "company" in filled:
        kept.company_key = merged.company_key or company_key_of(merged.company)
    tags_added = sorted(set(merged.tags or []) - set(kept.tags or []))
    kept.tags = sorted(set(kept.tags or []) | set(merged.tags or []))
    kept.updated_at = now
    merged.status = "merged"
    merged.updated_at = now
    uow.session.flush()
    added = add_identity_keys(uow.session, kept.id, identity_keys(name=kept.name, company_key=kept.company_key,
                                                                  email=kept.email, phone=kept.phone))
    merge = LeadMerge(kind="manual", kept_lead_id=kept.id, merged_lead_id=merged.id, actor_id=actor.id,
                      snapshot=snapshot, differences=differences, at=now,
                      moved={"activities": activities, "tasks": tasks, "contacts": [], "identities": moved_keys,
                             "identities_added": added, "filled": filled, "tags_added": tags_added})
    uow.session.add(merge)
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="lead.merge", record_type="lead", record_id=kept.id,
                 now=now, merge_id=merge.id, merged=merged.id, activities=activities, tasks=tasks)
    uow.emit(LeadMerged(merge_id=merge.id, kept_lead_id=kept.id, merged_lead_id=merged.id, actor_id=actor.id,
                        owner_ids=tuple(sorted({kept.owner_id, merged.owner_id}))))
    return merge


def merge_to_split(uow: UnitOfWork, actor: User, lead_id: int) -> LeadMerge:
    """`lead split L-n`: the merge that took L-n away, else the latest merge into L-n (not yet split)."""
    lead = uow.session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(ref=f"L-{lead_id}")
    _require_edit(uow, actor, lead)
    base = select(LeadMerge).where(LeadMerge.split_at.is_(None)).order_by(LeadMerge.at.desc(), LeadMerge.id.desc())
    merge = uow.session.scalar(base.where(LeadMerge.merged_lead_id == lead_id).limit(1))
    if merge is None:
        merge = uow.session.scalar(base.where(LeadMerge.kept_lead_id == lead_id).limit(1))
    if merge is None:
        raise Conflict("merge.nothing_to_split", ref=lead.ref)
    return merge


def last_merge_of(uow: UnitOfWork, actor: User) -> LeadMerge:
    """`undo`: the actor's most recent merge that is not split yet."""
    merge = uow.session.scalar(select(LeadMerge).where(LeadMerge.actor_id == actor.id, LeadMerge.split_at.is_(None))
                               .order_by(LeadMerge.at.desc(), LeadMerge.id.desc()).limit(1))
    if merge is None:
        raise Conflict("merge.nothing_to_undo")
    return merge


def do_split(uow: UnitOfWork, actor: User, merge_id: int, *, now: datetime) -> SplitResult:
    """Put back what the merge moved: both leads as they were (activities, tasks, keys, filled fields)."""
    merge = uow.session.scalar(select(LeadMerge).where(LeadMerge.id == merge_id).with_for_update())
    if merge is None:
        raise NotFound(ref=f"M-{merge_id}")
    if merge.split_at is not None:
        raise Conflict("merge.already_split")
    if now - merge.at > timedelta(days=UNDO_DAYS):
        raise Conflict("merge.too_old", kept=f"L-{merge.kept_lead_id}", at=f"{merge.at:%Y-%m-%d}", days=UNDO_DAYS)
    ids = [merge.kept_lead_id] + ([merge.merged_lead_id] if merge.merged_lead_id else [])
    leads = _lock_leads(uow, sorted(ids))
    kept = leads[merge.kept_lead_id]
    _require_edit(uow, actor, kept)
    moved = merge.moved or {}
    _unfill(kept, moved)
    if merge.kind == "manual":
        assert merge.merged_lead_id is not None
        restored = leads[merge.merged_lead_id]
        _require_edit(uow, actor, restored)
        _move_back(uow, merge, kept, restored)
        restored.status = (merge.snapshot or {}).get("status", "open")
        restored.updated_at = now
    else:
        restored = _split_auto(uow, merge, kept, actor, now)
        merge.split_lead_id = restored.id
    kept.updated_at = now
    merge.split_at = now
    merge.split_by_id = actor.id
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="lead.split", record_type="lead", record_id=kept.id,
                 now=now, merge_id=merge.id, restored=restored.id)
    uow.emit(LeadMerged(merge_id=merge.id, kept_lead_id=kept.id, merged_lead_id=restored.id, actor_id=actor.id,
                        owner_ids=tuple(sorted({kept.owner_id, restored.owner_id})), split=True))
    return SplitResult(merge=merge, kept=kept, restored=restored)


def _unfill(kept: Lead, moved: dict[str, Any]) -> None:
    """Empty again the fields the merge filled, unless someone changed them since."""
    for attr, value in (moved.get("filled") or {}).items():
        if getattr(kept, attr) == value:
            setattr(kept, attr, None)
            if attr == "company":
                kept.company_key = None
    added = set(moved.get("tags_added") or [])
    if added:
        kept.tags = sorted(set(kept.tags or []) - added)
    if "last_source" in moved:
        kept.last_source = moved["last_source"]
    if moved.get("duplicate_hits"):
        kept.duplicate_hits = max(0, (kept.duplicate_hits or 0) - int(moved["duplicate_hits"]))


def _keys_filter(keys: list[list[str]]) -> Any:
    return or_(*(and_(LeadIdentity.kind == k, LeadIdentity.value == v) for k, v in keys))


def _move_back(uow: UnitOfWork, merge: LeadMerge, kept: Lead, restored: Lead) -> None:
    moved = merge.moved or {}
    if moved.get("activities"):
        uow.session.execute(update(Activity).where(Activity.id.in_(moved["activities"]),
                                                   Activity.lead_id == kept.id).values(lead_id=restored.id))
    if moved.get("tasks"):
        uow.session.execute(update(Task).where(Task.id.in_(moved["tasks"]), Task.lead_id == kept.id)
                            .values(lead_id=restored.id))
    if moved.get("identities_added"):
        uow.session.execute(delete(LeadIdentity).where(LeadIdentity.lead_id == kept.id,
                                                       _keys_filter(moved["identities_added"])))
    if moved.get("identities"):
        uow.session.execute(update(LeadIdentity).where(LeadIdentity.lead_id == kept.id,
                                                       _keys_filter(moved["identities"])).values(lead_id=restored.id))


def _split_auto(uow: UnitOfWork, merge: LeadMerge, kept: Lead, actor: User, now: datetime) -> Lead:
    """The newcomer's own lead, from the snapshot; it takes back the keys its arrival added to the kept lead."""
    snap = merge.snapshot or {}
    data = LeadInput(name=snap.get("name") or kept.name, company=snap.get("company"), email=snap.get("email"),
                     phone=snap.get("phone"), source=snap.get("source") or "chat", region=snap.get("region"),
                     industry=snap.get("industry"), product=snap.get("product"), tags=list(snap.get("tags") or []))
    owner = uow.session.get(User, kept.owner_id)
    assert owner is not None
    lead = _new_lead(uow, data, company_key_of(data.company), owner, actor, now)
    uow.session.add(lead)
    uow.session.flush()
    added = (merge.moved or {}).get("identities_added") or []
    if added:
        uow.session.execute(update(LeadIdentity).where(LeadIdentity.lead_id == kept.id, _keys_filter(added))
                            .values(lead_id=lead.id))
    # Keys of the newcomer nobody holds (e.g. its name at its company) are its own from now on.
    add_identity_keys(uow.session, lead.id, identity_keys(name=lead.name, company_key=lead.company_key,
                                                          email=lead.email, phone=lead.phone))
    if owner.id != actor.id:
        uow.emit(LeadAssigned(lead_id=lead.id, owner_id=owner.id))
    return lead
