"""What the clock sends: SLA warnings and breaches, stale-deal nudges, the morning task list, renewal
reminders, and the admins' dead-letter report. Pure functions of view dataclasses."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.i18n import translator
from cards.model import Button, Card, Context, Section

t = translator("nudges")


@dataclass(frozen=True)
class TaskLine:
    title: str
    ref: str | None
    due: str  # local date, 2026-03-02
    overdue: bool
    number: int | None = None  # the task's id, for "task done #12"


def tasks_card(locale: str, tasks: Sequence[TaskLine], late_deals: Sequence[str] = ()) -> Card:
    """The morning list: tasks due today or overdue, then open deals past their close date (flagged)."""
    rows = []
    for task in tasks:
        when = t(locale, "tasks.overdue", date=task.due) if task.overdue else t(locale, "tasks.today")
        number = f"#{task.number} " if task.number is not None else ""
        rows.append(f"• {number}{task.title}" + (f" · {task.ref}" if task.ref else "") + f" · {when}")
    blocks = [Section("\n".join(rows))] if rows else []
    if late_deals:
        blocks.append(Section("\n".join(late_deals)))
    return Card(title=t(locale, "tasks.title", n=len(tasks)), locale=locale,
                blocks=(*blocks, Context(t(locale, "tasks.hint"))), kind="tasks")


@dataclass(frozen=True)
class DeadRow:
    id: int
    kind: str
    target: str
    attempts: int
    error: str


def dead_letter_card(locale: str, rows: Sequence[DeadRow], max_attempts: int) -> Card:
    lines = [f"#{r.id} {r.kind} → {r.target} ({r.attempts}×): {r.error[:160]}" for r in rows[:30]]
    if len(rows) > 30:
        lines.append(f"… +{len(rows) - 30}")
    return Card(title=t(locale, "dead.title", n=len(rows)), locale=locale,
                blocks=(Section("\n".join(lines)), Context(t(locale, "dead.hint", attempts=max_attempts))),
                kind="outbox.dead")


def merged_card(locale: str, cards: Sequence[Card]) -> Card:
    """Several nudges to one person within a minute, as one message (one ping, not five)."""
    blocks: list[Section | Context] = []
    buttons: list[Button] = []
    for card in cards:
        blocks.append(Section(f"*{card.title}*"))
        blocks.extend(b for b in card.blocks if isinstance(b, (Section, Context)))
        if card.fields:
            blocks.append(Context(" · ".join(f"{f.label}: {f.value}" for f in card.fields[:4])))
        buttons.extend(card.buttons[:2])
    return Card(title=t(locale, "merged.title", n=len(cards)), locale=locale, blocks=tuple(blocks),
                buttons=tuple(buttons[:10]), kind="merged",
                attachments=tuple(a for card in cards for a in card.attachments))  # the digest's chart
