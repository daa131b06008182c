"""Follow-up ladders ([[pool.ladders]]): a lead with no activity for N working days — tell the rep, then the
rep and the manager, then back to the pool; a deal with no activity in its stage — tell the rep, then the
manager. Acts on working days outside quiet hours only.

A step acts once per idle stretch: its mark is keyed by the record and the moment the stretch began (the
last activity, assignment or stage change), so a new activity or a new owner starts a new ladder, and two
schedulers, or a job run again, never move a lead twice in one step.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from cards.builders.pool import ladder_card, t
from crm_core.clock import Clock
from crm_core.company_time import local_date, local_now
from crm_core.config import Config, Ladder
from crm_core.models import Activity, Deal, Lead, SchedulerMark, User
from crm_core.services.pool import put_in_pool
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from scheduler.jobs.common import mark, notify, run_each

MAX_IDLE_SCAN = 5000  # records per run; the rest wait for the next run


@dataclass(frozen=True)
class Due:
    record: str  # lead | deal
    id: int
    since: datetime  # the idle stretch began
    step: int  # index of the highest step reached
    days: int  # working days idle


def working_days_between(start: date, end: date, days: list[int]) -> int:
    """Working days after `start` up to and including `end`."""
    if end <= start:
        return 0
    total = (end - start).days
    weeks, rest = divmod(total, 7)
    count = weeks * len(days)
    for i in range(1, rest + 1):
        if (start + timedelta(days=weeks * 7 + i)).isoweekday() in days:
            count += 1
    return count


def quiet_now(config: Config, now: datetime) -> bool:
    """Outside working days or inside quiet hours (company time): the ladders wait."""
    working = config.pool.working
    local = local_now(config, now)
    if local.isoweekday() not in working.days:
        return True
    if not working.quiet_hours:
        return False
    start, end = (time.fromisoformat(x.strip()) for x in working.quiet_hours.split("-"))
    at = local.time()
    return (start <= at or at < end) if start > end else (start <= at < end)


def ladder_for(config: Config, record: str, source: str | None, level: str | None) -> Ladder | None:
    """The first ladder of the record's kind whose level and source match (an empty one matches anything)."""
    for ladder in config.pool.ladders:
        if ladder.record != record:
            continue
        if ladder.level and ladder.level != level:
            continue
        if ladder.source and ladder.source != source:
            continue
        return ladder
    return None


def step_key(due: Due) -> str:
    return f"ladder:{due.record}:{due.id}:{due.since:%Y%m%d%H%M%S}:{due.step}"


def scan(uow: UnitOfWork, now: datetime) -> list[Due]:
    config = uow.config
    ladders = config.pool.ladders
    if not ladders:
        return []
    today = local_date(config, now)
    shortest = min(s.days for ladder in ladders for s in ladder.steps)
    # a working day is at least a calendar day: nothing idle for fewer calendar days can be due
    horizon = now - timedelta(days=shortest)
    found: list[Due] = []
    if any(ladder.record == "lead" for ladder in ladders):
        last = (select(Activity.lead_id, func.max(Activity.at).label("at")).where(Activity.lead_id.is_not(None))
                .group_by(Activity.lead_id).subquery())
        rows = uow.session.execute(
            select(Lead.id, Lead.source, Lead.fields, Lead.assigned_at, last.c.at)
            .outerjoin(last, last.c.lead_id == Lead.id)
            .where(Lead.status == "open", Lead.assigned_at <= horizon)
            .order_by(Lead.id).limit(MAX_IDLE_SCAN))
        for lead_id, source, fields, assigned_at, last_at in rows:
            since = max(assigned_at, last_at) if last_at else assigned_at
            ladder = ladder_for(config, "lead", source, (fields or {}).get("level"))
            found += _reached(ladder, "lead", lead_id, since, today, config)
    if any(ladder.record == "deal" for ladder in ladders):
        rows = uow.session.execute(
            select(Deal.id, Deal.fields, Deal.stage_entered_at, Deal.last_activity_at)
            .where(Deal.status == "open", Deal.stage_entered_at <= horizon).order_by(Deal.id).limit(MAX_IDLE_SCAN))
        for deal_id, fields, entered, last_at in rows:
            since = max(entered, last_at) if last_at else entered
            ladder = ladder_for(config, "deal", None, (fields or {}).get("level"))
            found += _reached(ladder, "deal", deal_id, since, today, config)
    return found


def _reached(ladder: Ladder | None, record: str, record_id: int, since: datetime, today: date,
             config: Config) -> list[Due]:
    if ladder is None:
        return []
    idle = working_days_between(local_date(config, since), today, config.pool.working.days)
    reached = [i for i, s in enumerate(ladder.steps) if idle >= s.days]
    return [Due(record, record_id, since, reached[-1], idle)] if reached else []


def run_ladders(*, uow: UnitOfWork, clock: Clock) -> int:
    now = clock.now()
    if not uow.config.pool.ladders or quiet_now(uow.config, now):
        return 0
    with uow:
        due = scan(uow, now)
        keys = [step_key(d) for d in due]
        done = set(uow.session.scalars(select(SchedulerMark.key).where(SchedulerMark.key.in_(keys)))) if keys else set()
    return run_each(uow, clock, [d for d in due if step_key(d) not in done], _act, what="follow-up ladder")


def mark_reached(uow: UnitOfWork, now: datetime) -> int:
    """Record every step the records have already reached as taken, without acting: for data loaded with a
    history (the demo), whose idle stretches are the past, not something to escalate today."""
    with uow:
        due = scan(uow, now)
        keys = {step_key(d) for d in due}
        done = set(uow.session.scalars(select(SchedulerMark.key).where(SchedulerMark.key.in_(keys)))) if keys else set()
        for key in sorted(keys - done):
            uow.session.add(SchedulerMark(key=key[:200], at=now))
    return len(keys - done)


def _act(uow: UnitOfWork, due: Due, now: datetime) -> int:
    key = step_key(due)
    if uow.session.get(SchedulerMark, key) is not None:
        return 0  # another scheduler took this step
    mark(uow.session, key, now)
    if due.record == "lead":
        return _lead_step(uow, due, key, now)
    return _deal_step(uow, due, key, now)


def _lead_step(uow: UnitOfWork, due: Due, key: str, now: datetime) -> int:
    lead = uow.session.scalar(select(Lead).where(Lead.id == due.id).with_for_update(of=Lead))
    if lead is None or lead.status != "open":
        return 0
    ladder = ladder_for(uow.config, "lead", lead.source, (lead.fields or {}).get("level"))
    if ladder is None:
        return 0
    action = ladder.steps[due.step].action
    owner = uow.session.get(User, lead.owner_id)
    if owner is None:
        return 0
    people = _owner_and_manager(uow, owner, action in ("tell_manager", "pool"))
    if action == "pool":
        locale = uow.config.company.locale
        put_in_pool(uow, lead, reason=t(locale, "reason.ladder", days=due.days), how="pooled", actor_id=None,
                    now=now)
    _nudge(uow, people, owner, lead, "lead", due.days, action, key, now)
    return 1


def _deal_step(uow: UnitOfWork, due: Due, key: str, now: datetime) -> int:
    deal = uow.session.get(Deal, due.id)
    if deal is None or deal.status != "open":
        return 0
    ladder = ladder_for(uow.config, "deal", None, (deal.fields or {}).get("level"))
    if ladder is None:
        return 0
    action = ladder.steps[due.step].action
    owner = deal.owner
    _nudge(uow, _owner_and_manager(uow, owner, action == "tell_manager"), owner, deal, "deal", due.days, "deal", key,
           now)
    return 1


def _owner_and_manager(uow: UnitOfWork, owner: User, with_manager: bool) -> list[User]:
    manager = uow.session.get(User, owner.manager_id) if with_manager and owner.manager_id else None
    return [owner] + ([manager] if manager else [])


def _nudge(uow: UnitOfWork, people: list[User], owner: User, record: Lead | Deal, record_type: str, days: int,
           what: str, key: str, now: datetime) -> None:
    """The ladder step's card to each person, in their language (`what`: the lead's action, or "deal")."""
    for person in people:
        locale = locale_of(person, uow.config)
        card = ladder_card(locale, record.ref, record.name, days, what, owner.name)
        notify(uow.session, person, card, key=f"{key}:{person.id}", kind=f"nudge.ladder.{what}", now=now,
               record_type=record_type, record_id=record.id)
