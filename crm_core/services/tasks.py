"""Tasks people give each other and reminders they set (`task new D-3 "send the proposal" due=friday @chen`,
`remind D-3 friday 10:00 call back`).

Dates and times are read with crm_core/dates.py against the calendar of the person they are for (their
configured zone, else the company's). Telling the assignee is an event (TaskAssigned); the reminder
itself waits in the reminders table until the scheduler's reminders job hands it to the outbox.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from crm_core.company_time import user_now, user_tz
from crm_core.dates import split_when
from crm_core.errors import Conflict, InvalidValue, NotFound
from crm_core.events import TaskAssigned
from crm_core.fields import TEXT_MAX, check_date, check_text
from crm_core.models import Deal, Reminder, Task, User
from crm_core.queries.lists import DEAL_LINE, MAX_OFFSET, DealLine, read_lines
from crm_core.refs import Ref
from crm_core.services import audit
from crm_core.services.access import access_deal, access_ticket
from crm_core.services.leads import access_lead
from crm_core.services.permissions import require_access
from crm_core.uow import UnitOfWork

TITLE_MAX = 300
DEFAULT_DUE_DAYS = 1
DEFAULT_REMIND_AT = time(9, 0)  # "remind tomorrow call back": nine in the morning, the person's time
REMINDER_HORIZON_DAYS = 366


def check_record(uow: UnitOfWork, actor: User, record: Ref | None) -> Ref | None:
    """The record a task or reminder hangs on, if any: one the actor may see."""
    if record is None:
        return None
    if record.kind == "deal":
        access_deal(uow, actor, record.id)
    elif record.kind == "lead":
        access_lead(uow, actor, record.id)
    elif record.kind == "ticket":
        access_ticket(uow, actor, record.id)
    else:
        raise InvalidValue("record", str(record), "task.record")
    return record


def do_create_task(uow: UnitOfWork, actor: User, *, title: str, due_raw: str | None, owner: User | None,
                   record: Ref | None, now: datetime) -> Task:
    """A task for `owner` (default: the actor) due on the day `due_raw` means in the owner's calendar."""
    owner = owner or actor
    if not owner.active:
        raise InvalidValue("owner", owner.name, "task.owner_inactive")
    text = check_text("title", title, TITLE_MAX, required=True)
    assert text is not None
    record = check_record(uow, actor, record)
    if record is not None and record.kind == "ticket":
        raise InvalidValue("record", str(record), "task.not_on_ticket")
    today = user_now(uow.config, owner.key, now, owner.timezone).date()
    due = check_date("due", due_raw, today) if due_raw else today + timedelta(days=DEFAULT_DUE_DAYS)
    task = Task(title=text, owner_id=owner.id, created_by_id=actor.id, due_date=due, created_at=now,
                deal_id=record.id if record and record.kind == "deal" else None,
                lead_id=record.id if record and record.kind == "lead" else None)
    uow.session.add(task)
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="task.create", record_type="task", record_id=task.id,
                 now=now, owner=owner.key, due=due.isoformat())
    if owner.id != actor.id:
        uow.emit(TaskAssigned(task_id=task.id, owner_id=owner.id, actor_id=actor.id))
    return task


def access_task(uow: UnitOfWork, actor: User, task_id: int, what: str, *, lock: bool = True) -> Task:
    """`what`: the Forbidden message code (forbidden.complete_task, forbidden.reopen_task)."""
    task = uow.session.get(Task, task_id, with_for_update=lock)
    if task is None:
        raise NotFound(ref=f"#{task_id}")
    if task.created_by_id != actor.id:  # whoever gave the task may close or reopen it too
        require_access(uow.session, actor, task.owner_id, what, task=f"#{task_id}")
    return task


def access_task_to_complete(uow: UnitOfWork, actor: User, task_id: int) -> Task:
    return access_task(uow, actor, task_id, "forbidden.complete_task")


def access_task_to_see(uow: UnitOfWork, actor: User, task_id: int) -> Task:
    return access_task(uow, actor, task_id, "forbidden.see_task", lock=False)


def do_reopen_task(uow: UnitOfWork, actor: User, task_id: int, *, now: datetime) -> Task:
    task = access_task(uow, actor, task_id, "forbidden.reopen_task")
    if task.done_at is None:
        raise Conflict("task.still_open", task=f"#{task_id}")
    task.done_at = None
    audit.record(uow.session, actor_id=actor.id, action="task.reopen", record_type="task", record_id=task.id, now=now)
    return task


# A person's open tasks, and those due by a day, oldest due first: the lists and the counts beside them ("… and
# 15 more") are one set of conditions, so a count never disagrees with the list it completes. The statements
# are built once: `my`, `tasks` and the Home tab run them on every call, and building a select cost more than
# running it.
_OPEN_OF_OWNER = (Task.owner_id == bindparam("owner_id"), Task.done_at.is_(None))
_DUE_BY = Task.due_date <= bindparam("due_by")
_OLDEST_DUE_FIRST = (Task.due_date, Task.id)

_OPEN_TASKS_OF_OWNER = (select(Task).where(*_OPEN_OF_OWNER).order_by(*_OLDEST_DUE_FIRST)
                        .limit(bindparam("limit")).offset(bindparam("offset")))


def my_tasks(uow: UnitOfWork, actor: User, *, limit: int = 30, offset: int = 0) -> list[Task]:
    """The actor's open tasks, overdue first (earliest due date first), then by number; a page from `offset`."""
    return list(uow.session.scalars(_OPEN_TASKS_OF_OWNER, {"owner_id": actor.id, "limit": limit,
                                                           "offset": min(max(0, offset), MAX_OFFSET)}))


@dataclass(frozen=True)
class TaskDue:
    """A line of "tasks due" (the Home tab): what it shows, read as columns, not as Task objects."""
    due_date: date
    title: str
    deal_id: int | None


_TASKS_DUE_OF_OWNER = (select(Task.due_date, Task.title, Task.deal_id).where(*_OPEN_OF_OWNER, _DUE_BY)
                       .order_by(*_OLDEST_DUE_FIRST).limit(bindparam("limit")))


def tasks_due(uow: UnitOfWork, actor: User, *, due_by: date, limit: int) -> list[TaskDue]:
    """The actor's open tasks due on or before `due_by`, oldest first, at most `limit`."""
    return [TaskDue(*row) for row in uow.session.execute(_TASKS_DUE_OF_OWNER,
                                                         {"owner_id": actor.id, "due_by": due_by, "limit": limit})]


_OPEN_TASK_COUNT = select(func.count()).select_from(Task).where(*_OPEN_OF_OWNER)
_OPEN_TASK_COUNT_DUE = _OPEN_TASK_COUNT.where(_DUE_BY)


def open_task_count(uow: UnitOfWork, actor: User, *, due_by: date | None = None) -> int:
    """How many open tasks the actor has (due on or before `due_by`, when given): for a list that shows a page
    of them, asked only when the page is full."""
    if due_by is None:
        return int(uow.session.scalar(_OPEN_TASK_COUNT, {"owner_id": actor.id}) or 0)
    return int(uow.session.scalar(_OPEN_TASK_COUNT_DUE, {"owner_id": actor.id, "due_by": due_by}) or 0)


# --- reminders ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReminderPlan:
    due_at: datetime  # UTC
    local: datetime   # the wall-clock time in the person's zone
    text: str


def plan_reminder(uow: UnitOfWork, user: User, words: str, *, now: datetime) -> ReminderPlan:
    """`friday 10:00 call back` → when (in the user's zone) and what. A time alone means today (or
    tomorrow once it has passed); a day alone means 09:00 that day."""
    local_now = user_now(uow.config, user.key, now, user.timezone)
    when = split_when(words or "", local_now.date())
    text = check_text("text", when.rest, TEXT_MAX, multiline=True)
    if when.day is None and when.at is None:
        raise InvalidValue("when", words[:40], "remind.when")
    if not text:
        raise InvalidValue("text", "", "remind.what")
    day = when.day or local_now.date()
    at = when.at or DEFAULT_REMIND_AT
    local = datetime.combine(day, at, tzinfo=user_tz(uow.config, user.key, user.timezone))
    if when.day is None and local <= local_now:
        local += timedelta(days=1)
    if local <= local_now:
        raise InvalidValue("when", f"{local:%Y-%m-%d %H:%M}", "remind.passed")
    if local - local_now > timedelta(days=REMINDER_HORIZON_DAYS):
        raise InvalidValue("when", f"{local:%Y-%m-%d}", "remind.horizon")
    return ReminderPlan(due_at=local.astimezone(now.tzinfo), local=local, text=text)


def do_create_reminder(uow: UnitOfWork, actor: User, *, record: Ref | None, words: str, now: datetime) -> Reminder:
    record = check_record(uow, actor, record)
    plan = plan_reminder(uow, actor, words, now=now)
    reminder = Reminder(user_id=actor.id, created_by_id=actor.id, record_type=record.kind if record else None,
                        record_id=record.id if record else None, text=plan.text, due_at=plan.due_at,
                        zone=str(plan.local.tzinfo), created_at=now)
    uow.session.add(reminder)
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="reminder.create", record_type="reminder",
                 record_id=reminder.id, now=now, due=plan.due_at.isoformat())
    return reminder


def claim_due_reminders(session: Session, now: datetime, *, limit: int = 200) -> list[Reminder]:
    """Unsent reminders due at `now`, locked for this transaction (PostgreSQL: SKIP LOCKED, so two
    schedulers never take the same row; SQLite writers are serialised by BEGIN IMMEDIATE)."""
    stmt = (select(Reminder).where(Reminder.sent_at.is_(None),
                                   Reminder.due_at <= now)
            .order_by(Reminder.due_at, Reminder.id).limit(limit).with_for_update(skip_locked=True))
    return list(session.scalars(stmt))


# `my` runs this on every call: built once (building a select cost more than running it on SQLite), as list
# lines (its one caller shows ref, name and close date).
_DEALS_PAST_CLOSE = (select(*DEAL_LINE).where(Deal.owner_id.in_(bindparam("owner_ids", expanding=True)),
                                             Deal.status == "open", Deal.close_date < bindparam("today"))
                     .order_by(Deal.owner_id, Deal.close_date, Deal.id).limit(bindparam("limit")))


def deals_past_close(session: Session, owner_ids: list[int], today: date, *, limit: int = 20) -> list[DealLine]:
    """Open deals of these owners whose expected close date is before `today`, oldest first (list lines)."""
    if not owner_ids:
        return []
    return read_lines(session, DealLine, _DEALS_PAST_CLOSE, {"owner_ids": list(owner_ids), "today": today, "limit": limit})
