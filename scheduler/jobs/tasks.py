"""The morning task list: at digest.daily_at (company time), each owner of open tasks due today or
earlier, or of open deals past their expected close date, gets one message listing them (overdue ones
flagged). Once per person per day."""
from __future__ import annotations

from sqlalchemy import select

from cards.builders.nudges import TaskLine, tasks_card
from cards.builders.tasks import overdue_deal_line
from crm_core.clock import Clock
from crm_core.models import Deal, Task, User
from crm_core.refs import ref_str
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from scheduler.jobs.common import is_marked, local_date, mark, notify, past_daily_time

KIND = "tasks.due"
MAX_LINES = 25


def run_tasks_due(*, uow: UnitOfWork, clock: Clock) -> int:
    now = clock.now()
    config = uow.config
    if not past_daily_time(config, now):
        return 0
    today = local_date(config, now)
    day_mark = f"tasks-due:{today.isoformat()}"
    with uow:
        if is_marked(uow.session, day_mark):
            return 0
        tasks = list(uow.session.scalars(select(Task).where(Task.done_at.is_(None), Task.due_date <= today)
                                         .order_by(Task.owner_id, Task.due_date, Task.id)))
        by_owner: dict[int, list[Task]] = {}
        for task in tasks:
            by_owner.setdefault(task.owner_id, []).append(task)
        late: dict[int, list[Deal]] = {}
        for deal in uow.session.scalars(select(Deal).where(Deal.status == "open", Deal.close_date < today)
                                        .order_by(Deal.owner_id, Deal.close_date, Deal.id)):
            late.setdefault(deal.owner_id, []).append(deal)
            by_owner.setdefault(deal.owner_id, [])
        owners = {u.id: u for u in uow.session.scalars(select(User).where(User.id.in_(list(by_owner))))}
        sent = 0
        for owner_id, owned in by_owner.items():
            owner = owners.get(owner_id)
            if owner is None or not owner.active:
                continue
            lines = [TaskLine(title=task.title, ref=_ref(task), due=task.due_date.isoformat(),
                              overdue=task.due_date < today, number=task.id) for task in owned[:MAX_LINES]]
            locale = locale_of(owner, config)
            late_lines = [overdue_deal_line(locale, d.ref, d.name, d.close_date)
                          for d in late.get(owner_id, [])[:MAX_LINES] if d.close_date is not None]
            card = tasks_card(locale, lines, late_lines)
            sent += notify(uow.session, owner, card, key=f"tasks-due:{owner.id}:{today.isoformat()}", kind=KIND,
                           now=now)
        mark(uow.session, day_mark, now)
    return sent


def _ref(task: Task) -> str | None:
    if task.deal_id is not None:
        return ref_str("deal", task.deal_id)
    if task.lead_id is not None:
        return ref_str("lead", task.lead_id)
    return None
