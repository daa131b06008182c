"""Lines, titles and the "More" button of `deal list` / `lead list` (mine, team, all; filtered)."""
from __future__ import annotations

from cards.i18n import translator
from cards.model import Button

t = translator("lists")


def list_title(locale: str, what: str, scope: str) -> str:
    """what: deals | leads; scope: mine | team | all."""
    return t(locale, f"title.{what}.{scope}")


def list_subtitle(locale: str, *, stage: str | None, owner: str | None, overdue: bool) -> str | None:
    parts = []
    if stage:
        parts.append(t(locale, "filter.stage", stage=stage))
    if owner:
        parts.append(t(locale, "filter.owner", owner=owner))
    if overdue:
        parts.append(t(locale, "filter.overdue"))
    return " · ".join(parts) or None


def _flags(locale: str, owner: str | None, overdue: bool) -> str:
    out = f" · {owner}" if owner else ""
    return out + (f" {t(locale, 'overdue')}" if overdue else "")


def deal_list_line(locale: str, ref: str, name: str, stage: str, amount: str | None, *, owner: str | None = None,
                   overdue: bool = False) -> str:
    return f"{ref} · {name} · {stage} · {amount or '—'}" + _flags(locale, owner, overdue)


def lead_list_line(locale: str, ref: str, name: str, company: str | None, score: int, *, owner: str | None = None,
                   overdue: bool = False) -> str:
    return f"{ref} · {name} · {company or '—'} · {score}" + _flags(locale, owner, overdue)


def more_button(locale: str, action: str, value: str) -> Button:
    return Button(t(locale, "more"), action, value)
