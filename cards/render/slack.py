"""Slack Block Kit rendering of neutral cards.

Blocks are built with `slack_sdk.models.blocks` classes and turned into plain dicts with `.to_dict()`, so
slack_sdk's own validation runs at build time. Slack's documented limits that slack_sdk does not check
(50 blocks per message, 2000 chars per section field, ...) are checked here. A card that breaks a limit
raises `SlackLimitError`; nothing is truncated silently. Builders and adapters that want shorter text call
`fit_text` explicitly.

Text escaping (cards.escape.slack_mrkdwn, the one Slack escape): every string that lands in a `mrkdwn` text
object (subtitle, sections, field labels and
values, context, the fallback `text`) has `&`, `<` and `>` escaped as Slack asks, and nothing else, so the
`*bold*` and `` `code` `` of our own templates keep working. `plain_text` objects (header, button labels,
image alt text) are shown literally by Slack and are not escaped. Length limits are checked on the text
as sent, i.e. after escaping.

Action ids: a button's `action_id` is its card action ("deal.advance") when that action occurs once in the
message, else the action plus `#<index>`, the button's 0-based position among all buttons of the message
("deal.advance#0", "deal.advance#3"). Bolt listeners must therefore match a regex, not a plain string:

    app.action(action_pattern("deal.advance"))       # == re.compile(r"^deal\\.advance(#\\d+)?$")

and use `action_name(body["actions"][0]["action_id"])` to get "deal.advance" back. The record is in the
button's `value`. Each card's buttons sit in actions blocks with `block_id` "actions:<ref or kind>"; a
repeated id in one message gets a "#<n>" suffix (n = 2, 3, ...) because Slack wants block ids unique.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    ImageBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.blocks import Block as SlackBlock

from cards.escape import SLACK_ESCAPES, slack_mrkdwn
from cards.model import Block, Button, Card, Context, Divider, Field, Image, Section

__all__ = [
    "SlackLimitError", "to_blocks", "to_message", "to_view_blocks", "fallback_text", "action_name",
    "action_pattern", "fit_text", "fit_card", "escape_mrkdwn",
    "MAX_BLOCKS", "MAX_VIEW_BLOCKS", "MAX_HEADER", "MAX_SECTION_TEXT", "MAX_FIELD_TEXT", "MAX_FIELDS_PER_SECTION",
    "MAX_BUTTON_LABEL", "MAX_BUTTON_VALUE", "MAX_ACTIONS_PER_BLOCK", "MAX_ID", "MAX_FALLBACK",
]

MAX_BLOCKS = 50  # per message
MAX_VIEW_BLOCKS = 100  # per modal or Home tab
MAX_HEADER = 150
MAX_SECTION_TEXT = 3000  # also used for context text
MAX_FIELD_TEXT = 2000
MAX_FIELDS_PER_SECTION = 10
MAX_BUTTON_LABEL = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTIONS_PER_BLOCK = 25
MAX_ID = 255  # action_id and block_id
MAX_FALLBACK = 3000  # our own cap for the notification text

ELLIPSIS = "…"
_ESCAPES = SLACK_ESCAPES
_SUFFIX = re.compile(r"#\d+$")


class SlackLimitError(ValueError):
    """The card cannot be sent to Slack as it is: a Block Kit limit would be exceeded."""


# --- public helpers -------------------------------------------------------------------------------------

def escape_mrkdwn(text: str) -> str:
    """Escape Slack's three control characters (`&`, `<`, `>`) and nothing else (cards.escape.slack_mrkdwn)."""
    return slack_mrkdwn(text)


def fit_text(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """`text` if it has at most `limit` characters, else its start plus `ellipsis`, `limit` chars in all."""
    if limit < len(ellipsis):
        raise ValueError(f"limit {limit} is shorter than the ellipsis")
    if len(text) <= limit:
        return text
    return text[: limit - len(ellipsis)] + ellipsis


def fit_card(card: Card) -> Card:
    """A copy of `card` with every text cut (with an ellipsis) to Slack's length limits, for adapters that
    would rather show a shortened card than none (a 300-character deal name in a 150-character header).
    Lengths are measured as sent, i.e. after escaping. Button values are references and are never cut,
    and the number of blocks is not changed: those limits still raise in `to_message`."""
    def fit_field(f: Field) -> Field:
        room = MAX_FIELD_TEXT - (len(escape_mrkdwn(f.label)) + 3 if f.label else 0)
        return Field(_fit_raw(f.label, MAX_FIELD_TEXT // 2), _fit_raw(f.value, max(room, 10)))

    def fit_block(b: Block) -> Block:
        if isinstance(b, Section):
            return Section(_fit_raw(b.text, MAX_SECTION_TEXT))
        if isinstance(b, Context):
            return Context(_fit_raw(b.text, MAX_SECTION_TEXT))
        return b

    return replace(
        card, title=fit_text(card.title, MAX_HEADER) if card.title else card.title,
        subtitle=_fit_raw(card.subtitle, MAX_SECTION_TEXT) if card.subtitle else card.subtitle,
        fields=tuple(fit_field(f) for f in card.fields), blocks=tuple(fit_block(b) for b in card.blocks),
        buttons=tuple(replace(b, label=fit_text(b.label, MAX_BUTTON_LABEL)) for b in card.buttons))


def _fit_raw(text: str, limit: int) -> str:
    """The longest start of `text` (plus an ellipsis) whose escaped form has at most `limit` characters."""
    if len(escape_mrkdwn(text)) <= limit:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        size = len(_ESCAPES.get(ch, ch))
        if used + size > limit - len(ELLIPSIS):
            break
        out.append(ch)
        used += size
    return "".join(out) + ELLIPSIS


def action_name(action_id: str) -> str:
    """The card action of a rendered `action_id`: "deal.advance#3" -> "deal.advance"."""
    return _SUFFIX.sub("", action_id)


def action_pattern(action: str) -> re.Pattern[str]:
    """Regex matching every action id rendered for `action`, for `app.action(...)` in Bolt."""
    return re.compile(rf"^{re.escape(action)}(#\d+)?$")


# --- public renderers -----------------------------------------------------------------------------------

def to_blocks(card: Card) -> list[dict[str, Any]]:
    """Block Kit blocks (plain dicts) for one card; raises `SlackLimitError` when a limit is exceeded."""
    return _render([card])


def to_message(card_or_cards: Card | Sequence[Card]) -> dict[str, Any]:
    """`{"text", "blocks"}` for `chat.postMessage` & co.; several cards are separated by a divider."""
    cards = [card_or_cards] if isinstance(card_or_cards, Card) else list(card_or_cards)
    if not cards:
        raise ValueError("to_message needs at least one card")
    text = _fit_escaped("\n\n".join(_fallback_raw(c) for c in cards), MAX_FALLBACK)
    return {"text": text, "blocks": _render(cards)}


def to_view_blocks(cards: Sequence[Card], *, leading: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """Blocks for a modal or the Home tab (up to 100): `leading` blocks (already dicts) then the cards.

    Action and block ids follow the same rules as for a message, over the whole view.
    """
    room = MAX_VIEW_BLOCKS - len(leading)
    return [*leading, *_render(cards, max_blocks=room, what="view")] if cards else list(leading)


def fallback_text(card: Card) -> str:
    """The message `text` sent with the blocks (notifications, old clients): title + first section."""
    return _fit_escaped(_fallback_raw(card), MAX_FALLBACK)


# --- rendering ------------------------------------------------------------------------------------------

def _render(cards: Sequence[Card], *, max_blocks: int = MAX_BLOCKS, what: str = "message") -> list[dict[str, Any]]:
    action_ids = iter(_action_ids([b.action for c in cards for b in c.buttons]))
    block_ids: set[str] = set()
    blocks: list[SlackBlock] = []
    for i, card in enumerate(cards):
        if i:
            blocks.append(DividerBlock())
        blocks.extend(_card_blocks(card, action_ids, block_ids))
    if len(blocks) > max_blocks:
        raise SlackLimitError(f"{what} has {len(blocks)} blocks; Slack allows {max_blocks}")
    return [_to_dict(b) for b in blocks]


def _card_blocks(card: Card, action_ids: Iterator[str], block_ids: set[str]) -> list[SlackBlock]:
    blocks: list[SlackBlock] = [_header(card.title)]
    if card.subtitle:
        blocks.append(_section(card.subtitle))
    blocks.extend(_field_sections(card.fields))
    blocks.extend(_body_block(b) for b in card.blocks)
    blocks.extend(_actions_blocks(card, action_ids, block_ids))
    return blocks


def _header(title: str) -> HeaderBlock:
    _check_text("header (card title)", title, MAX_HEADER)
    return HeaderBlock(text=title)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_mrkdwn("section text", text, MAX_SECTION_TEXT))


def _field_sections(fields: Sequence[Field]) -> list[SectionBlock]:
    texts = [_mrkdwn_field(f) for f in fields]
    return [SectionBlock(fields=texts[i:i + MAX_FIELDS_PER_SECTION])
            for i in range(0, len(texts), MAX_FIELDS_PER_SECTION)]


def _mrkdwn_field(field: Field) -> MarkdownTextObject:
    value = escape_mrkdwn(field.value)
    text = f"*{escape_mrkdwn(field.label)}*\n{value}" if field.label else value
    _check_text(f"field {field.label!r}", text, MAX_FIELD_TEXT)
    return MarkdownTextObject(text=text)


def _body_block(block: Block) -> SlackBlock:
    if isinstance(block, Section):
        return _section(block.text)
    if isinstance(block, Divider):
        return DividerBlock()
    if isinstance(block, Context):
        return ContextBlock(elements=[_mrkdwn("context text", block.text, MAX_SECTION_TEXT)])
    if isinstance(block, Image):
        return ImageBlock(image_url=block.url, alt_text=block.alt)  # lengths checked by slack_sdk
    raise TypeError(f"unknown card block {block!r}")


def _actions_blocks(card: Card, action_ids: Iterator[str], block_ids: set[str]) -> list[ActionsBlock]:
    buttons = [_button(b, next(action_ids)) for b in card.buttons]
    base = f"actions:{card.ref or card.kind}"
    return [ActionsBlock(elements=buttons[i:i + MAX_ACTIONS_PER_BLOCK], block_id=_unique_id(base, block_ids))
            for i in range(0, len(buttons), MAX_ACTIONS_PER_BLOCK)]


def _button(button: Button, action_id: str) -> ButtonElement:
    _check_text(f"button label {button.label!r}", button.label, MAX_BUTTON_LABEL)
    _check_text(f"value of button {button.label!r}", button.value, MAX_BUTTON_VALUE, allow_empty=True)
    _check_text("action_id", action_id, MAX_ID)
    style = None if button.style == "default" else button.style
    return ButtonElement(text=button.label, action_id=action_id, value=button.value or None, style=style)


# --- ids, text, limits ----------------------------------------------------------------------------------

def _action_ids(actions: Sequence[str]) -> list[str]:
    for action in actions:
        if not action or _SUFFIX.search(action):
            raise ValueError(f"button action {action!r} must be non-empty and not end in '#<digits>'")
    counts = Counter(actions)
    return [a if counts[a] == 1 else f"{a}#{i}" for i, a in enumerate(actions)]


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}#{n}"
    _check_text("block_id", candidate, MAX_ID)
    taken.add(candidate)
    return candidate


def _mrkdwn(what: str, text: str, limit: int) -> MarkdownTextObject:
    escaped = escape_mrkdwn(text)
    _check_text(what, escaped, limit)
    return MarkdownTextObject(text=escaped)


def _check_text(what: str, text: str, limit: int, *, allow_empty: bool = False) -> None:
    if not text and not allow_empty:
        raise SlackLimitError(f"{what} is empty; Slack needs at least 1 character")
    if len(text) > limit:
        raise SlackLimitError(f"{what} is {len(text)} characters; Slack allows {limit}: {text[:40]!r}…")


def _to_dict(block: SlackBlock) -> dict[str, Any]:
    try:
        return block.to_dict()
    except SlackObjectFormationError as e:  # a limit only slack_sdk knows about (image url, alt text, ...)
        raise SlackLimitError(str(e)) from e


def _fallback_raw(card: Card) -> str:
    first = card.subtitle or next((b.text for b in card.blocks if isinstance(b, Section)), None)
    return f"{card.title}\n{first}" if first else card.title


def _fit_escaped(text: str, limit: int) -> str:
    """Escaped `text`, cut (with an ellipsis, never inside an entity) to at most `limit` characters."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 0
    for ch in text:
        piece = _ESCAPES.get(ch, ch)
        if used + len(piece) > limit - len(ELLIPSIS):
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + ELLIPSIS
