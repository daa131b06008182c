"""The managers' digest card: pipeline by stage with the change since the last digest, forecast vs
quota, won / lost, SLA breaches, stale deals, and first-response time and win rate per rep.

The body is a Jinja2 template per locale (cards/templates/<locale>/digest.txt.j2); "---" lines split
it into sections (each well under a Slack section's 3 000 characters). The funnel is drawn as text
bars, which every platform shows (no PNG: see docs/scheduler.md).
"""
from __future__ import annotations

from dataclasses import dataclass

from cards.i18n import translator
from cards.model import Card, Context, Section
from cards.templates import render

t = translator("digests")
BAR_WIDTH = 16
MAX_REPS = 25


@dataclass(frozen=True)
class StageLine:
    name: str
    count: int
    amount: str
    bar: str = ""
    delta: str | None = None  # "+2 · +¥120,000.00" since the last digest; None when nothing to compare


@dataclass(frozen=True)
class ForecastLine:
    period: str
    weighted: str
    won: str
    total: str
    quota: str | None
    attainment: str | None


@dataclass(frozen=True)
class RepLine:
    name: str
    open: str
    won: int
    lost: int
    win_rate: str | None
    response: str | None
    breaches: int
    stale: int


@dataclass(frozen=True)
class DigestView:
    period: str  # daily | weekly
    team_of: str | None  # the manager's name; None: everyone
    day: str
    previous_day: str | None
    stages: tuple[StageLine, ...]
    total: StageLine
    forecast: tuple[ForecastLine, ...]
    won: int
    won_amount: str
    lost: int
    lost_amount: str
    breaches: int
    stale: int
    reps: tuple[RepLine, ...]


def bar(value: float, largest: float, width: int = BAR_WIDTH) -> str:
    if largest <= 0 or value <= 0:
        return "▏"
    return "█" * max(1, round(width * value / largest))


def duration(locale: str, seconds: int | None) -> str | None:
    if seconds is None:
        return None
    minutes = max(1, round(seconds / 60)) if seconds else 0
    if minutes < 120:
        return t(locale, "minutes", n=minutes)
    return t(locale, "hours", n=round(minutes / 60, 1))


def digest_card(locale: str, v: DigestView) -> Card:
    scope = t(locale, "scope.team", name=v.team_of) if v.team_of else t(locale, "scope.all")
    view = DigestView(**{**v.__dict__, "reps": v.reps[:MAX_REPS]})
    text = render(locale, "digest.txt.j2", v=view)
    sections = [part.strip() for part in text.split("\n---\n") if part.strip()]
    blocks: list[Section | Context] = [Section(s) for s in sections]
    blocks.append(Context(t(locale, "footer")))
    return Card(title=t(locale, f"title.{v.period}", scope=scope, day=v.day), locale=locale, blocks=tuple(blocks),
                kind=f"digest.{v.period}")
