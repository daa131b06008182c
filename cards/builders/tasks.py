"""Tasks people give each other, reminders, and the date a command understood. Pure functions of views."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from cards.i18n import translator
from cards.model import Button, Card, Context, Field, Section

t = translator("tasks")


def day_text(locale: str, day: date) -> str:
    """`2027-03-31 (Wed)` / `2027-03-31（周三）`: a date with its weekday, so a reader sees which Friday."""
    return t(locale, "day", date=day.isoformat(), weekday=t(locale, f"weekday.{day.weekday()}"))


def understood_date(locale: str, field: str, day: date) -> str:
    """The note a command adds when it read a date: "Close date 2027-03-31 (Wed)"."""
    return t(locale, f"understood.{field}", day=day_text(locale, day))


@dataclass(frozen=True)
class TaskView:
    number: int
    title: str
    due: date
    overdue: bool
    done: bool
    owner: str
    ref: str | None = None      # D-3 / L-5
    assigned_by: str | None = None


def _line(locale: str, task: TaskView) -> str:
    flag = t(locale, "overdue") + " · " if task.overdue and not task.done else ""
    ref = f" · {task.ref}" if task.ref else ""
    return f"#{task.number} · {flag}{day_text(locale, task.due)} · {task.title}{ref}"


def task_buttons(locale: str, task: TaskView) -> tuple[Button, ...]:
    toggle = (Button(t(locale, "btn.reopen"), "task.reopen", str(task.number)) if task.done
              else Button(t(locale, "btn.done"), "task.done", str(task.number), "primary"))
    return (toggle, Button(t(locale, "btn.open"), "task.open", str(task.number)))


def task_card(locale: str, task: TaskView, *, notes: Sequence[str] = ()) -> Card:
    fields = [Field(t(locale, "field.due"), day_text(locale, task.due) + (f" · {t(locale, 'overdue')}"
                                                                        if task.overdue and not task.done else "")),
              Field(t(locale, "field.owner"), task.owner),
              Field(t(locale, "field.status"), t(locale, "status.done" if task.done else "status.open"))]
    if task.ref:
        fields.append(Field(t(locale, "field.record"), task.ref))
    if task.assigned_by:
        fields.append(Field(t(locale, "field.assigned_by"), task.assigned_by))
    blocks = tuple(Section(n) for n in notes)
    return Card(title=t(locale, "title", n=task.number, title=task.title[:120]), locale=locale,
                fields=tuple(fields), blocks=blocks, buttons=task_buttons(locale, task), kind="task", ref=task.ref)


def assigned_card(locale: str, task: TaskView) -> Card:
    """What the assignee gets: who gave it, what, by when, with Done / Open."""
    note = t(locale, "assigned.body", who=task.assigned_by or "?", title=task.title[:300],
             day=day_text(locale, task.due))
    return task_card(locale, task, notes=(note,))


def my_tasks_card(locale: str, tasks: Sequence[TaskView], *, today: date, total: int | None = None,
                  overdue: int | None = None, start: int = 1, more: Button | None = None) -> Card:
    """A page of the open tasks: `total`, `overdue` are the whole list's figures when `tasks` is part of it (from
    number `start`, the oldest due first); `more` turns to the next page."""
    overdue = sum(1 for x in tasks if x.overdue) if overdue is None else overdue
    total = len(tasks) if total is None else total
    if not tasks:
        return Card(title=t(locale, "list.title", n=total), locale=locale, blocks=(Section(t(locale, "list.empty")),),
                    kind="list")
    blocks: list[Section | Context] = [Section("\n".join(_line(locale, x) for x in tasks))]
    if overdue:
        blocks.insert(0, Context(t(locale, "list.overdue", n=overdue)))
    if total > len(tasks):
        blocks.append(Context(t(locale, "list.part_of", start=start, end=start + len(tasks) - 1, total=total)))
    blocks.append(Context(t(locale, "list.hint", today=day_text(locale, today))))
    buttons = tuple(Button(t(locale, "btn.done_n", n=x.number), "task.done", str(x.number)) for x in tasks[:5])
    return Card(title=t(locale, "list.title", n=total), locale=locale, blocks=tuple(blocks),
                buttons=buttons + ((more,) if more is not None else ()), kind="list")


def task_lines(locale: str, tasks: Sequence[TaskView]) -> list[str]:
    """One line per task (`my` and the home tab), overdue ones flagged."""
    return [_line(locale, x) for x in tasks]


def overdue_deal_line(locale: str, ref: str, name: str, close: date) -> str:
    return t(locale, "deal.past_close", ref=ref, name=name[:80], day=day_text(locale, close))


@dataclass(frozen=True)
class ReminderView:
    number: int
    text: str
    local: datetime  # in the person's zone
    zone: str
    ref: str | None = None


def reminder_set_card(locale: str, reminder: ReminderView, *, company_zone: str) -> Card:
    when = day_text(locale, reminder.local.date()) + f" {reminder.local:%H:%M}"
    if reminder.zone != company_zone:
        when += f" ({reminder.zone})"
    body = t(locale, "remind.set", when=when, text=reminder.text[:300])
    return Card(title=t(locale, "remind.set_title"), locale=locale, blocks=(Section(body),),
                fields=(Field(t(locale, "field.record"), reminder.ref),) if reminder.ref else (),
                kind="reminder", ref=reminder.ref)


def reminder_card(locale: str, reminder: ReminderView) -> Card:
    """The reminder itself, delivered at its time."""
    blocks: list[Section | Context] = [Section(reminder.text[:2000])]
    blocks.append(Context(t(locale, "remind.context", time=f"{reminder.local:%H:%M}", ref=reminder.ref or "—")))
    return Card(title=t(locale, "remind.title"), locale=locale, blocks=tuple(blocks), kind="reminder",
                ref=reminder.ref)
