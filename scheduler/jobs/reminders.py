"""Reminders people set (`remind D-3 friday 10:00 call back`): at their time, each goes to its person
once. One transaction claims the due rows (PostgreSQL: FOR UPDATE SKIP LOCKED), writes one outbox row per
reminder with the key `reminder:<id>` and stamps `sent_at`; a second scheduler that races (or a tick that
a takeover repeats) finds the rows taken or sent, and the outbox key would refuse a second row anyway.
The scan reads the partial index of unsent reminders by due time: its cost is what is due, not the table."""
from __future__ import annotations

from sqlalchemy import select, update

from cards.builders.tasks import ReminderView, reminder_card
from crm_core.clock import Clock
from crm_core.company_time import in_zone
from crm_core.models import Reminder, User
from crm_core.refs import ref_str
from crm_core.services.tasks import claim_due_reminders
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from scheduler.jobs.common import notify

KIND = "reminder"
BATCH = 200


def run_reminders(*, uow: UnitOfWork, clock: Clock) -> int:
    now = clock.now()
    sent = 0
    with uow:
        due = claim_due_reminders(uow.session, now, limit=BATCH)
        users = {u.id: u for u in uow.session.scalars(select(User).where(User.id.in_({r.user_id for r in due})))}
        for reminder in due:
            user = users.get(reminder.user_id)
            if user is None or not user.active:
                continue
            ref = ref_str(reminder.record_type, reminder.record_id) if reminder.record_type and reminder.record_id else None
            view = ReminderView(number=reminder.id, text=reminder.text, local=in_zone(reminder.due_at, reminder.zone),
                                zone=reminder.zone, ref=ref)
            sent += notify(uow.session, user, reminder_card(locale_of(user, uow.config), view),
                           key=f"reminder:{reminder.id}", kind=KIND, now=now, record_type="reminder",
                           record_id=reminder.id)
        if due:  # one statement stamps them all, in the transaction that wrote their outbox rows
            uow.session.execute(update(Reminder).where(Reminder.id.in_([r.id for r in due])).values(sent_at=now))
    return sent
