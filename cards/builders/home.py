"""Home surface cards (Slack App Home): my open deals grouped by stage, my tasks due."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.i18n import translator
from cards.model import Card, Section

CATALOG = {
    "home.deals": {"en": "My open deals ({n})", "zh_CN": "我的进行中商机（{n}）"},
    "home.tasks": {"en": "Tasks due", "zh_CN": "到期任务"},
    "home.none_deals": {"en": "No open deals. Start one with /crm deal new <account> amount=<n>.",
                        "zh_CN": "暂无进行中的商机。可输入 /crm 商机 新建 <客户> amount=<金额>。"},
    "home.none_tasks": {"en": "Nothing due. 🎉", "zh_CN": "暂无到期任务。🎉"},
}
t = translator(CATALOG)
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


def deals_by_stage_card(locale: str, groups: Sequence[StageGroup], *, total: int) -> Card:
    if not groups:
        return Card(title=t(locale, "home.deals", n=0), locale=locale, blocks=(Section(t(locale, "home.none_deals")),),
                    kind="home.deals")
    blocks = tuple(Section(_fit_rows(f"*{g.stage}* ({len(g.rows)})", g.rows)) for g in groups)
    return Card(title=t(locale, "home.deals", n=total), locale=locale, blocks=blocks, kind="home.deals")


def tasks_due_card(locale: str, rows: Sequence[str]) -> Card:
    text = _fit_rows("", rows).lstrip("\n") if rows else t(locale, "home.none_tasks")
    return Card(title=t(locale, "home.tasks"), locale=locale, blocks=(Section(text),), kind="home.tasks")
