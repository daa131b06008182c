"""Cards every area uses: errors, usage, notices, simple lists."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.i18n import translator
from cards.format import t as labels_t  # how a list is joined in the reader's language
from cards.model import Button, Card, Context, Field, Section

t = translator("common")


def error_card(locale: str, message: str, *, hint: str | None = None) -> Card:
    blocks: list[Section | Context] = [Section(message)]
    if hint:
        blocks.append(Context(hint))
    return Card(title=t(locale, "error.title"), locale=locale, blocks=tuple(blocks), kind="error")


def internal_error_card(locale: str, reference: str, *, saved: bool | None = False) -> Card:
    """`saved`: False — the change was rolled back; True — it was committed; None — not known."""
    key = {False: "internal.body", True: "internal.body_saved", None: "internal.body_unknown"}[saved]
    return Card(title=t(locale, "internal.title"), locale=locale,
                blocks=(Section(t(locale, key, ref=reference)),), kind="error")


def saved_notice_card(locale: str, command: str, refs: Sequence[str], *, saved: bool) -> Card:
    """Heads a reply that is delivered late (the first delivery failed): says truthfully what was saved."""
    if not saved:
        text = t(locale, "saved.nothing")
    elif refs:
        text = t(locale, "saved.records", refs=", ".join(refs))
    else:
        text = t(locale, "saved.no_records")
    return Card(title=t(locale, "saved.title", command=command[:80]), locale=locale, blocks=(Section(text),),
                kind="info")


def busy_card(locale: str, command: str) -> Card:
    """The answer to a request that found the work queue full: it is saved, and will be answered."""
    return Card(title=t(locale, "busy.title"), locale=locale,
                blocks=(Section(t(locale, "busy.body", command=command[:80])),), kind="info")


@dataclass(frozen=True)
class UsageView:
    command: str
    usage_lines: Sequence[str]
    problem: str | None = None
    suggestions: Sequence[str] = ()


def usage_card(locale: str, view: UsageView) -> Card:
    blocks: list[Section | Context] = []
    if view.problem:
        blocks.append(Section(view.problem))
    if view.suggestions:
        blocks.append(Section(t(locale, "usage.did_you_mean", suggestions=labels_t(locale, "sep").join(view.suggestions))))
    blocks.append(Section("\n".join(f"`{line}`" for line in view.usage_lines)))
    blocks.append(Context(t(locale, "usage.help")))
    return Card(title=t(locale, "usage.title", command=view.command), locale=locale, blocks=tuple(blocks),
                kind="usage")


def notice_card(locale: str, title: str, text: str | None = None, *, fields: Sequence[Field] = (),
                buttons: Sequence[Button] = (), ref: str | None = None, kind: str = "info") -> Card:
    return Card(title=title, locale=locale, blocks=(Section(text),) if text else (), fields=tuple(fields),
                buttons=tuple(buttons), ref=ref, kind=kind)


def list_card(locale: str, title: str, rows: Sequence[str], *, more: Button | None = None,
              start: int = 1, subtitle: str | None = None, hint: str | None = None) -> Card:
    """`hint`: a line under the rows (where the whole list is, when these are its first)."""
    if not rows:
        return Card(title=title, locale=locale, subtitle=subtitle, blocks=(Section(t(locale, "list.empty")),),
                    kind="list")
    blocks: list[Section | Context] = [Section("\n".join(rows))]
    if more is not None:
        blocks.append(Context(t(locale, "list.showing", start=start, end=start + len(rows) - 1)))
    if hint:
        blocks.append(Context(hint))
    return Card(title=title, locale=locale, subtitle=subtitle, blocks=tuple(blocks),
                buttons=(more,) if more else (), kind="list")
