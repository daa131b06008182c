"""Activities (call, meeting, email, note) on leads, deals and tickets; tasks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select

from crm_core.fields import TEXT_MAX, check_text
from crm_core.errors import Conflict, InvalidValue
from crm_core.events import ActivityLogged
from crm_core.models import Activity, Task, User
from crm_core.refs import Ref
from crm_core.services import audit
from crm_core.services.access import access_deal, access_ticket
from crm_core.services.leads import access_lead
from crm_core.services.tasks import access_task_to_complete
from crm_core.uow import UnitOfWork
from crm_core.vocabulary import ACTIVITY_KIND_ALIASES

KINDS = ("call", "meeting", "email", "note")
KIND_ALIASES = ACTIVITY_KIND_ALIASES


def check_kind(raw: str) -> str:
    kind = KIND_ALIASES.get(raw.strip(), raw.strip().lower())
    if kind not in KINDS:
        raise InvalidValue("kind", raw, "activity.kind")
    return kind


def do_log_activity(uow: UnitOfWork, actor: User, target: Ref, kind: str, text: str, *, now: datetime) -> Activity:
    kind = check_kind(kind)
    text = check_text("text", text, TEXT_MAX, multiline=True) or ""
    if not text:
        raise InvalidValue("text", "", "activity.text", target=str(target), kind=kind)
    activity = Activity(kind=kind, text=text, actor_id=actor.id, at=now)
    if target.kind == "deal":
        deal = access_deal(uow, actor, target.id)
        activity.deal_id = deal.id
        deal.last_activity_at = now
    elif target.kind == "lead":
        lead = access_lead(uow, actor, target.id)
        activity.lead_id = lead.id
        if lead.first_responded_at is None:
            lead.first_responded_at = now
        lead.updated_at = now
    elif target.kind == "ticket":
        ticket = access_ticket(uow, actor, target.id)
        activity.ticket_id = ticket.id
    else:
        raise InvalidValue("record", str(target), "activity.record")
    uow.session.add(activity)
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="activity.log", record_type=target.kind,
                 record_id=target.id, now=now, kind=kind)
    uow.emit(ActivityLogged(activity_id=activity.id, deal_id=activity.deal_id, lead_id=activity.lead_id,
                            ticket_id=activity.ticket_id, actor_id=actor.id))
    return activity


# The deal card's lines, built once: columns, not objects (a card shows these two; the object would also join
# its actor).
_RECENT_OF_DEAL = (select(Activity.kind, Activity.text).where(Activity.deal_id == bindparam("deal_id"))
                   .order_by(Activity.at.desc(), Activity.id.desc()).limit(bindparam("limit")))


def recent_activities(uow: UnitOfWork, *, deal_id: int, limit: int = 5) -> list[tuple[str, str]]:
    """(kind, text) of the deal's latest activities, newest first."""
    return [(kind, text) for kind, text in uow.session.execute(_RECENT_OF_DEAL, {"deal_id": deal_id, "limit": limit})]


def do_complete_task(uow: UnitOfWork, actor: User, task_id: int, *, now: datetime) -> Task:
    """Mark a task done: its owner, whoever gave it, or someone who may see the owner's records."""
    task = access_task_to_complete(uow, actor, task_id)
    if task.done_at is not None:
        raise Conflict("task.already_done", task=f"#{task_id}")
    task.done_at = now
    audit.record(uow.session, actor_id=actor.id, action="task.done", record_type="task", record_id=task.id, now=now)
    return task
