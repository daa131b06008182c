"""Home surface cards (Slack App Home): my open deals grouped by stage, my tasks due."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.i18n import translator
from cards.model import Card, Context, Section

t = translator("home")
SECTION_MAX = 2500


@dataclass(frozen=True)
class StageGroup:
    stage: str
    rows: Sequence[str]


def _fit_rows(head: str, rows: Sequence[str]) -> str:
    text = head
    for i, row in enumerate(rows):
        if len(text) + len(row) + 8 > SECTION_MAX:
            return text + f"\n… +{len(rows) - i}"
        text += "\n" + row
    return text


def deals_by_stage_card(locale: str, groups: Sequence[StageGroup], *, total: int, shown: int | None = None) -> Card:
    """`total`: the person's open deals; `shown`: how many of them `groups` holds (the most recently changed)."""
    if not groups:
        return Card(title=t(locale, "home.deals", n=0), locale=locale, blocks=(Section(t(locale, "home.none_deals")),),
                    kind="home.deals")
    blocks: list[Section | Context] = [Section(_fit_rows(f"*{g.stage}* ({len(g.rows)})", g.rows)) for g in groups]
    if shown is not None and total > shown:
        blocks.append(Context(t(locale, "home.deals_first", n=shown)))
    return Card(title=t(locale, "home.deals", n=total), locale=locale, blocks=tuple(blocks), kind="home.deals")


def tasks_due_card(locale: str, rows: Sequence[str], *, more: int = 0) -> Card:
    """`more`: how many further tasks are due than `rows` shows (the Home tab lists the oldest)."""
    text = _fit_rows("", rows).lstrip("\n") if rows else t(locale, "home.none_tasks")
    if more > 0:
        text += "\n" + t(locale, "home.tasks_more", n=more)
    return Card(title=t(locale, "home.tasks"), locale=locale, blocks=(Section(text),), kind="home.tasks")
