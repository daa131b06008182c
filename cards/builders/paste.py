"""What `lead paste` understood from a signature, with Create and Edit; and the command Edit offers."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from cards.i18n import translator
from cards.model import Button, Card, Context, Field, Section

t = translator("paste")

PARTS = ("name", "title", "company", "mobile", "landline", "email", "address", "website")
BUTTON_VALUE_MAX = 900  # bytes: a WeCom template-card key is at most 1024 ("lead.paste_create|" + value)


def fits_a_button(text: str) -> bool:
    return len(text.encode("utf-8")) <= BUTTON_VALUE_MAX


def paste_card(locale: str, found: Mapping[str, str], other: Sequence[str], text: str, command: str) -> Card:
    fields = tuple(Field(t(locale, f"part.{part}"), found[part]) for part in PARTS if found.get(part))
    blocks: list[Section | Context] = []
    if other:
        blocks.append(Section(t(locale, "kept", items=" · ".join(other))))
    buttons: tuple[Button, ...] = ()
    if fits_a_button(text):
        buttons = (Button(t(locale, "btn.create"), "lead.paste_create", text, "primary"),
                   Button(t(locale, "btn.edit"), "lead.paste_edit", text))
        blocks.append(Context(t(locale, "hint")))
    else:
        blocks.append(Context(t(locale, "too_long", command=command)))
    return Card(title=t(locale, "title"), locale=locale, fields=fields, blocks=tuple(blocks), buttons=buttons,
                kind="lead")


def edit_card(locale: str, command: str) -> Card:
    return Card(title=t(locale, "edit.title"), locale=locale, blocks=(Section(f"```{command}```"),
                                                                      Context(t(locale, "edit.hint"))), kind="info")


def note_text(locale: str, items: Sequence[str]) -> str:
    """The activity note a created lead keeps: every part that has no field of its own."""
    return t(locale, "note", items=" · ".join(items))


def part_label(locale: str, part: str) -> str:
    return t(locale, f"part.{part}")
