"""The platform-neutral card: what a person sees, before any platform renders it.

Pure data (frozen dataclasses), JSON round-trippable (`to_dict` / `from_dict`) so it can sit in the
outbox. Imports nothing from the project.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Literal

Style = Literal["default", "primary", "danger"]
Visibility = Literal["ephemeral", "in_channel"]


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Button:
    """`action` is a stable namespaced id ("deal.advance"); `value` an opaque reference ("D-7")."""

    label: str
    action: str
    value: str
    style: Style = "default"


@dataclass(frozen=True)
class Section:
    text: str


@dataclass(frozen=True)
class Divider:
    pass


@dataclass(frozen=True)
class Context:
    text: str


@dataclass(frozen=True)
class Image:
    url: str
    alt: str


Block = Section | Divider | Context | Image

_BLOCK_TYPES: dict[str, type] = {"section": Section, "divider": Divider, "context": Context, "image": Image}
_TYPE_NAMES = {v: k for k, v in _BLOCK_TYPES.items()}


@dataclass(frozen=True)
class Card:
    title: str
    locale: str = "en"
    subtitle: str | None = None
    fields: tuple[Field, ...] = ()
    blocks: tuple[Block, ...] = ()
    buttons: tuple[Button, ...] = ()
    kind: str = "info"  # info | error | usage | list | deal | lead | approval | ...
    ref: str | None = None  # the record this card shows, e.g. "D-7"
    # Files sent with the card when it goes to someone through the outbox (the weekly digest's chart PNG):
    # the messenger uploads them after the card. Replies carry theirs on Reply.attachments instead.
    attachments: tuple["Attachment", ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = {
            "title": self.title, "locale": self.locale, "subtitle": self.subtitle, "kind": self.kind,
            "ref": self.ref,
            "fields": [[f.label, f.value] for f in self.fields],
            "blocks": [_block_to_dict(b) for b in self.blocks],
            "buttons": [{"label": b.label, "action": b.action, "value": b.value, "style": b.style}
                        for b in self.buttons],
        }
        if self.attachments:
            d["attachments"] = [a.to_dict() for a in self.attachments]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Card":
        return cls(
            title=d["title"], locale=d.get("locale", "en"), subtitle=d.get("subtitle"), kind=d.get("kind", "info"),
            ref=d.get("ref"),
            fields=tuple(Field(label, value) for label, value in d.get("fields", [])),
            blocks=tuple(_block_from_dict(b) for b in d.get("blocks", [])),
            buttons=tuple(Button(b["label"], b["action"], b["value"], b.get("style", "default"))
                          for b in d.get("buttons", [])),
            attachments=tuple(Attachment.from_dict(a) for a in d.get("attachments", [])),
        )

    def text(self) -> str:
        """Every human-readable string of the card, for search and for simple assertions."""
        parts = [self.title, self.subtitle or ""]
        parts += [f"{f.label}: {f.value}" for f in self.fields]
        parts += [getattr(b, "text", "") for b in self.blocks]
        parts += [b.label for b in self.buttons]
        return "\n".join(p for p in parts if p)


def _block_to_dict(block: Block) -> dict[str, Any]:
    d: dict[str, Any] = {"type": _TYPE_NAMES[type(block)]}
    d.update({k: v for k, v in block.__dict__.items()})
    return d


def _block_from_dict(d: dict[str, Any]) -> Block:
    kind = _BLOCK_TYPES[d["type"]]
    return kind(**{k: v for k, v in d.items() if k != "type"})  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a reply (a quote document): the console saves it, chat adapters upload it."""

    filename: str
    content_type: str
    content: str | bytes  # text (the HTML quote) or binary (the PDF quote, a chart PNG)

    def data(self) -> bytes:
        return self.content if isinstance(self.content, bytes) else self.content.encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        if isinstance(self.content, bytes):  # stored as JSON (the inbox row): binary travels as base64
            return {"filename": self.filename, "content_type": self.content_type,
                    "content": base64.b64encode(self.content).decode("ascii"), "encoding": "base64"}
        return {"filename": self.filename, "content_type": self.content_type, "content": self.content}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Attachment":
        content = d["content"]
        if d.get("encoding") == "base64":
            content = base64.b64decode(content)
        return cls(d["filename"], d["content_type"], content)


@dataclass(frozen=True)
class Reply:
    """What a handler returns to the person who acted."""

    cards: tuple[Card, ...] = ()
    visibility: Visibility = "ephemeral"
    replace_original: bool = False
    # A follow-up the adapter may offer as a form (Slack modal); None when not needed.
    form: dict[str, Any] | None = field(default=None)
    attachments: tuple[Attachment, ...] = ()
    # The language of the person who acted, as the runner read it with the actor (one read per request):
    # adapters render the reply in it without a look-up of their own. None: not known (an adapter's own reply).
    locale: str | None = None
    # The field an error reply is about (a value refused by the rules), so a form shows it beside that field.
    field: str | None = None

    def text(self) -> str:
        return "\n\n".join(c.text() for c in self.cards)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "cards": [c.to_dict() for c in self.cards], "visibility": self.visibility,
            "replace_original": self.replace_original, "form": self.form,
            "attachments": [a.to_dict() for a in self.attachments]}
        if self.locale is not None:
            d["locale"] = self.locale
        if self.field is not None:
            d["field"] = self.field
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Reply":
        return cls(cards=tuple(Card.from_dict(c) for c in d.get("cards", [])),
                   visibility=d.get("visibility", "ephemeral"), replace_original=d.get("replace_original", False),
                   form=d.get("form"), locale=d.get("locale"), field=d.get("field"),
                   attachments=tuple(Attachment.from_dict(a) for a in d.get("attachments", [])))
