"""Tasks and reminders people make: `task new D-3 "send the proposal" due=下周五 @chen` (任务 新建), `tasks`
(任务), `task done 12` / `task reopen 12` (also the Done / Reopen buttons), `remind D-3 friday 10:00 call back`
(提醒). The assignee of someone else's task is told through the outbox (TaskAssigned); a reminder waits in
the reminders table for the scheduler (scheduler/jobs/reminders.py)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from cards.builders.lists import more_button
from cards.builders.tasks import (ReminderView, TaskView, assigned_card, day_text, my_tasks_card, reminder_set_card, t,
                                  task_card)
from cards.format import task_title
from cards.model import Card, Reply
from crm_core.clock import Clock
from crm_core.company_time import in_zone, user_now
from crm_core.errors import InvalidValue
from crm_core.events import Event, TaskAssigned
from crm_core.models import Reminder, Task, User
from crm_core.outbox import enqueue
from crm_core.refs import Ref, parse_ref, ref_str
from crm_core.services.activities import do_complete_task
from crm_core.services.ownership import resolve_user
from crm_core.services.tasks import (access_task_to_see, do_create_reminder, do_create_task, do_reopen_task, my_tasks,
                                     open_task_count)
from crm_core.uow import UnitOfWork
from handlers.grammar import QUOTES, tokenize
from handlers.invocation import Invocation
from handlers.notify import on, record_and_recipient
from handlers.registry import action, command

_MENTION = re.compile(r"^(?:<@[A-Za-z0-9_]+(?:\|[^>]*)?>|[@＠]\S+)$")


def task_view(uow: UnitOfWork, task: Task, now: datetime, locale: str | None = None) -> TaskView:
    """`locale`: the reader's, for a stage task's title from the configuration (cards.format.task_title)."""
    owner = uow.session.get(User, task.owner_id)
    giver = uow.session.get(User, task.created_by_id) if task.created_by_id else None
    today = user_now(uow.config, owner.key if owner else None, now, owner.timezone if owner else None).date()
    ref = ref_str("deal", task.deal_id) if task.deal_id else ref_str("lead", task.lead_id) if task.lead_id else None
    return TaskView(number=task.id, title=task_title(uow.config, task.title, locale) if locale else task.title, due=task.due_date, overdue=task.due_date < today,
                    done=task.done_at is not None, owner=owner.name if owner else "?", ref=ref,
                    assigned_by=giver.name if giver is not None and giver.id != task.owner_id else None)


def split_task_words(text: str) -> tuple[Ref | None, str, str | None]:
    """`D-3 "send the proposal" @chen` → (D-3, send the proposal, @chen): the record first, a mention anywhere."""
    tokens = tokenize(text or "")
    record = parse_ref(tokens[0].text, "deal", "lead", "ticket") if tokens else None
    if record is not None:
        tokens = tokens[1:]
    mentions = [tok for tok in tokens if _MENTION.match(tok.text)]
    words = [tok for tok in tokens if tok not in mentions]
    if len(words) == 1 and words[0].quoted:
        title = words[0].text
    else:
        title = text[words[0].start:words[-1].end] if words else ""
        if len(title) >= 2 and title[0] in QUOTES and title[-1] == QUOTES[title[0]]:
            title = title[1:-1]
    return record, title.strip(), mentions[-1].text if mentions else None


@command("task new")
def new_task(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    record, title, mention = split_task_words(inv.args.get("text") or "")
    owner_raw = inv.options.get("owner") or mention
    owner = resolve_user(uow, owner_raw) if owner_raw else actor
    if not title:
        raise InvalidValue("title", "", "task.title")
    task = do_create_task(uow, actor, title=title, due_raw=inv.options.get("due"), owner=owner, record=record,
                          now=clock.now())
    notes = [t(locale, "created", n=task.id, owner=owner.name, day=day_text(locale, task.due_date))]
    if owner.id != actor.id:
        notes.append(t(locale, "created.told", owner=owner.name))
    return Reply(cards=(task_card(locale, task_view(uow, task, clock.now(), locale), notes=notes),))


TASKS_SHOWN = 30  # `tasks` lists the oldest due first; the card says when there are more


@command("tasks", writes=False)
def list_tasks(uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _tasks_page(uow, clock, actor, locale, 0)


@action("task.list_more", writes=False, value=("offset",))
def list_more_tasks(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    raw = str(inv.args.get("offset", ""))
    return _tasks_page(uow, clock, actor, locale, int(raw) if raw.isdecimal() and len(raw) < 10 else 0)


def _tasks_page(uow: UnitOfWork, clock: Clock, actor: User, locale: str, offset: int) -> Reply:
    """The actor's open tasks from `offset`, oldest due first; a longer list is counted and has a More button."""
    now = clock.now()
    tasks = my_tasks(uow, actor, limit=TASKS_SHOWN + 1, offset=offset)  # one more: whether the list goes on
    views = [task_view(uow, x, now, locale) for x in tasks[:TASKS_SHOWN]]
    today = user_now(uow.config, actor.key, now, actor.timezone).date()
    if offset == 0 and len(tasks) <= TASKS_SHOWN:
        return Reply(cards=(my_tasks_card(locale, views, today=today),))
    # A long list: its whole figures, counted (two statements, only for a list this long).
    total = open_task_count(uow, actor)
    overdue = open_task_count(uow, actor, due_by=today - timedelta(days=1))
    more = more_button(locale, "task.list_more", str(offset + TASKS_SHOWN)) if len(tasks) > TASKS_SHOWN else None
    return Reply(cards=(my_tasks_card(locale, views, today=today, total=total, overdue=overdue, start=offset + 1,
                                      more=more),))


def _task_number(inv: Invocation) -> int:
    raw = str(inv.args.get("task", "")).lstrip("#")
    if not raw.isdecimal() or len(raw) > 9:
        raise InvalidValue("task", raw[:20], "task.number")
    return int(raw)


@command("task done")
@action("task.done", value=("task",))
def complete_task(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    task = do_complete_task(uow, actor, _task_number(inv), now=clock.now())
    return Reply(cards=(task_card(locale, task_view(uow, task, clock.now(), locale), notes=(t(locale, "done", n=task.id),)),))


@command("task reopen")
@action("task.reopen", value=("task",))
def reopen_task(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    task = do_reopen_task(uow, actor, _task_number(inv), now=clock.now())
    return Reply(cards=(task_card(locale, task_view(uow, task, clock.now(), locale), notes=(t(locale, "reopened", n=task.id),)),))


@action("task.open", writes=False, value=("task",))
def open_task(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    number = _task_number(inv)
    task = access_task_to_see(uow, actor, number)
    return Reply(cards=(task_card(locale, task_view(uow, task, clock.now(), locale)),))


@on(TaskAssigned)
def tell_assignee(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, TaskAssigned)
    found = record_and_recipient(uow, Task, event.task_id, event.owner_id)
    if found is None:
        return
    task, owner, owner_locale = found
    card: Card = assigned_card(owner_locale, task_view(uow, task, now, owner_locale))
    enqueue(uow.session, dedupe_key=f"task-assigned:{task.id}:{owner.id}", kind="task.assigned", target_type="user",
            target_id=owner.id, payload=card.to_dict(), now=now, record_type="task", record_id=task.id)


# --- reminders ------------------------------------------------------------------------------------

_ME = ("me", "我")


def reminder_view(reminder: Reminder) -> ReminderView:
    ref = ref_str(reminder.record_type, reminder.record_id) if reminder.record_type and reminder.record_id else None
    return ReminderView(number=reminder.id, text=reminder.text, local=in_zone(reminder.due_at, reminder.zone),
                        zone=reminder.zone, ref=ref)


@command("remind")
def set_reminder(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    words = (inv.args.get("text") or "").strip()
    first, _, rest = words.partition(" ")
    if first.lower() in _ME:  # remind me friday …
        words, (first, _, rest) = rest.strip(), rest.strip().partition(" ")
    record = parse_ref(first, "deal", "lead", "ticket")
    if record is not None:
        words = rest.strip()
    reminder = do_create_reminder(uow, actor, record=record, words=words, now=clock.now())
    return Reply(cards=(reminder_set_card(locale, reminder_view(reminder), company_zone=uow.config.company.timezone),))
