"""WeCom (企业微信) rendering of neutral cards: markdown, `button_interaction` template cards, plain text.

Three forms, because WeCom gives each place a different vocabulary:

- `to_template_card(card, task_id)`: a `button_interaction` template card for a person (message/send,
  message/update_template_card). Used when the card has buttons. Each button's `key` is
  `"<action>|<value>"` ("approval.approve|A-5"); the click event brings the key back as `EventKey`, and
  `parse_button_key` splits it again. The first six fields become `horizontal_content_list`; the card's
  sections, the remaining fields and context lines become `sub_title_text`.
- `to_markdown(card)`: WeCom's markdown subset, for people (cards without buttons) and for group chats
  (appchat/send cannot carry template cards). Buttons become "reply `批准 A-5`" hints, so everything a
  button does can still be typed.
- `to_text(card)`: the same content without markup (text messages, logs).

Limits. Hard limits of the API raise `WeComLimitError` (nothing is dropped silently): markdown and text
at most 2048 bytes, at most 6 buttons (`button_list`), a button key at most 1024 bytes and unique, a task
id of `[0-9A-Za-z_\\-@]` at most 128 bytes. The limits WeCom documents as *suggestions* — `main_title`
36 characters, `sub_title_text` 160 characters, button text 10, `keyname` 5 — are display guidance: WeCom
cuts longer text itself. We cut `main_title` and `sub_title_text` ourselves, visibly (ending in "…"), so
what the person sees is predictable; button texts and key names are sent as they are. Callers that
prefer a shorter message to an error use `fit_markdown` / `fit_text`, which cut at a line boundary and
say so in the message.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cards.escape import wecom_markdown, wecom_text
from cards.model import Button, Card, Context, Divider, Image, Section

__all__ = [
    "WeComLimitError", "to_template_card", "to_markdown", "to_text", "fit_markdown", "fit_text",
    "button_key", "parse_button_key", "check_task_id", "command_hint",
    "MAX_MARKDOWN_BYTES", "MAX_TEXT_BYTES", "MAX_BUTTONS", "MAX_HORIZONTAL", "MAX_KEY_BYTES",
    "MAX_TASK_ID_BYTES", "MAIN_TITLE_CHARS", "SUB_TITLE_CHARS",
]

MAX_MARKDOWN_BYTES = 2048
MAX_TEXT_BYTES = 2048
MAX_BUTTONS = 6
MAX_HORIZONTAL = 6
MAX_KEY_BYTES = 1024
MAX_TASK_ID_BYTES = 128
MAIN_TITLE_CHARS = 36  # suggested
MAIN_DESC_CHARS = 44  # suggested
SUB_TITLE_CHARS = 160  # suggested
ELLIPSIS = "…"
KEY_SEPARATOR = "|"
_TASK_ID = re.compile(r"^[0-9A-Za-z_\-@]+$")
_STYLE = {"primary": 1, "default": 2, "danger": 3}  # WeCom button styles 1-4 (1 is the default)

# What to type instead of pressing a button (group chats, plain text). Values are the button's value.
_HINTS: dict[str, dict[str, str]] = {
    "approval.approve": {"zh_CN": "批准 {v}", "en": "approve {v}"},
    "approval.reject": {"zh_CN": "驳回 {v} <原因>", "en": "reject {v} <reason>"},
    "deal.advance": {"zh_CN": "推进 {v}", "en": "advance {v}"},
    "deal.log": {"zh_CN": "记录 {v} note <内容>", "en": "log {v} note <text>"},
    "deal.quote": {"zh_CN": "报价 {v} <SKU>x<数量>", "en": "quote {v} <sku>x<qty>"},
    "deal.swarm": {"zh_CN": "协作群 {v}", "en": "swarm {v}"},
    "deal.won": {"zh_CN": "赢单 {v}", "en": "won {v}"},
    "lead.convert": {"zh_CN": "线索 转化 {v}", "en": "lead convert {v}"},
    "lead.log": {"zh_CN": "记录 {v} note <内容>", "en": "log {v} note <text>"},
    "ticket.ack": {"zh_CN": "工单 受理 {v}", "en": "ticket ack {v}"},
    "ticket.close": {"zh_CN": "工单 关闭 {v}", "en": "ticket close {v}"},
    "ticket.log": {"zh_CN": "记录 {v} note <内容>", "en": "log {v} note <text>"},
    "quote.order": {"zh_CN": "订单 {v}", "en": "order {v}"},
    "pool.claim": {"zh_CN": "领取 {v}", "en": "claim {v}"},
}
_TEXT = {
    "reply": {"zh_CN": "回复", "en": "reply"},
    "actions": {"zh_CN": "可回复以下命令：", "en": "You can reply:"},
    "actions_group": {"zh_CN": "在与应用的会话中发送：", "en": "Send to the app in a direct chat:"},
    "cut": {"zh_CN": "（内容过长，已截断）", "en": "(too long, cut here)"},
}


class WeComLimitError(ValueError):
    """The card cannot be sent to WeCom as it is: an API limit would be exceeded."""


def _zh(locale: str) -> str:
    return "zh_CN" if locale.lower().startswith("zh") else "en"


def _tr(key: str, locale: str) -> str:
    return _TEXT[key][_zh(locale)]


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


# --- button keys and task ids ---------------------------------------------------------------------------

def button_key(button: Button) -> str:
    """The template-card key of a button: "<action>|<value>"."""
    if not button.action or KEY_SEPARATOR in button.action:
        raise WeComLimitError(f"button action {button.action!r} must be non-empty and contain no '|'")
    key = f"{button.action}{KEY_SEPARATOR}{button.value}"
    if _bytes(key) > MAX_KEY_BYTES:
        raise WeComLimitError(f"button key is {_bytes(key)} bytes; WeCom allows {MAX_KEY_BYTES}: {key[:40]!r}…")
    return key


def parse_button_key(key: str) -> tuple[str, str] | None:
    """("approval.approve", "A-5") from "approval.approve|A-5"; None for a key we did not make."""
    action, sep, value = key.partition(KEY_SEPARATOR)
    if not sep or not action:
        return None
    return action, value


def check_task_id(task_id: str) -> str:
    if not task_id or not _TASK_ID.match(task_id) or _bytes(task_id) > MAX_TASK_ID_BYTES:
        raise WeComLimitError(f"task_id {task_id!r} must be 1-{MAX_TASK_ID_BYTES} bytes of [0-9A-Za-z_-@]")
    return task_id


def command_hint(button: Button, locale: str) -> str | None:
    """What a person types to do what the button does ("批准 A-5"), or None when there is no text form."""
    entry = _HINTS.get(button.action)
    return entry[_zh(locale)].format(v=button.value.split(":", 1)[0]) if entry else None


# --- template card --------------------------------------------------------------------------------------

def to_template_card(card: Card, task_id: str, *, replace_text: str | None = None) -> dict[str, Any]:
    """A `button_interaction` template card (the value of "template_card" in message/send).

    `replace_text`, for message/update_template_card: the buttons are shown as one grey, unclickable label
    with this text (a decided approval). A card without buttons needs it, since WeCom wants a button list.
    """
    check_task_id(task_id)
    if not card.buttons and replace_text is None:
        raise WeComLimitError("a button_interaction card needs at least one button (or replace_text)")
    if len(card.buttons) > MAX_BUTTONS:
        raise WeComLimitError(f"card has {len(card.buttons)} buttons; WeCom allows {MAX_BUTTONS}")
    keys = [button_key(b) for b in card.buttons]
    if len(set(keys)) != len(keys):
        raise WeComLimitError(f"button keys must be unique in a card: {keys}")
    buttons = [{"type": 0, "text": b.label, "style": _STYLE[b.style], "key": k} for b, k in zip(card.buttons, keys)]
    if not buttons:
        buttons = [{"type": 0, "text": replace_text, "style": _STYLE["default"], "key": f"noop{KEY_SEPARATOR}{task_id}"}]
    out: dict[str, Any] = {
        "card_type": "button_interaction",
        "task_id": task_id,
        "main_title": {"title": _cut(card.title, MAIN_TITLE_CHARS)},
        "button_list": buttons,
    }
    if card.subtitle:
        out["main_title"]["desc"] = _cut(card.subtitle, MAIN_DESC_CHARS)
    horizontal = [{"type": 0, "keyname": f.label or "·", "value": f.value or "—"} for f in card.fields[:MAX_HORIZONTAL]]
    if horizontal:
        out["horizontal_content_list"] = horizontal
    body = _body_lines(card, overflow_fields=card.fields[MAX_HORIZONTAL:])
    if body:
        out["sub_title_text"] = _cut("\n".join(body), SUB_TITLE_CHARS)
    if replace_text is not None:
        out["replace_text"] = replace_text
    return out


# --- markdown and text ----------------------------------------------------------------------------------

def to_markdown(card: Card, *, group: bool = False) -> str:
    """WeCom markdown (message/send msgtype markdown, appchat/send); raises when over 2048 bytes.

    `group`: for a group chat, where messages do not reach the app — the command hints say to send them
    to the app directly."""
    text = "\n".join(_markdown_lines(card, group=group))
    if _bytes(text) > MAX_MARKDOWN_BYTES:
        raise WeComLimitError(f"markdown is {_bytes(text)} bytes; WeCom allows {MAX_MARKDOWN_BYTES}")
    return text


def to_text(card: Card) -> str:
    """Plain text (message/send msgtype text); raises when over 2048 bytes."""
    text = "\n".join(_text_lines(card))
    if _bytes(text) > MAX_TEXT_BYTES:
        raise WeComLimitError(f"text is {_bytes(text)} bytes; WeCom allows {MAX_TEXT_BYTES}")
    return text


def fit_markdown(card: Card, *, group: bool = False) -> str:
    """`to_markdown`, or when too long its first lines plus a visible note that the rest was cut."""
    return _fit(_markdown_lines(card, group=group), MAX_MARKDOWN_BYTES, f"<font color=\"comment\">{_tr('cut', card.locale)}</font>")


def fit_text(card: Card) -> str:
    return _fit(_text_lines(card), MAX_TEXT_BYTES, _tr("cut", card.locale))


def _fit(lines: list[str], limit: int, note: str) -> str:
    text = "\n".join(lines)
    if _bytes(text) <= limit:
        return text
    budget = limit - _bytes(note) - 1
    kept: list[str] = []
    used = 0
    for line in lines:
        size = _bytes(line) + (1 if kept else 0)
        if used + size > budget:
            if not kept:  # one enormous first line: cut inside it, on a character boundary
                kept.append(line.encode("utf-8")[:budget - 3].decode("utf-8", "ignore") + ELLIPSIS)
            break
        kept.append(line)
        used += size
    return "\n".join(kept + [note])


def _markdown_lines(card: Card, *, group: bool = False) -> list[str]:
    lines = [f"**{_md(card.title)}**"]
    if card.subtitle:
        lines.append(f"<font color=\"comment\">{_md(card.subtitle)}</font>")
    colon = _colon(card.locale)
    lines += [f"> <font color=\"comment\">{_md(f.label)}{colon}</font>{_md(f.value)}" if f.label else f"> {_md(f.value)}"
              for f in card.fields]
    for block in card.blocks:
        if isinstance(block, Section):
            lines.append(_md(block.text))
        elif isinstance(block, Context):
            lines.append(f"<font color=\"comment\">{_md(block.text)}</font>")
        elif isinstance(block, Divider):
            lines.append("")
        elif isinstance(block, Image):
            lines.append(f"[{_md(block.alt)}]({block.url})")
    hints = list(_hints(card.buttons, card.locale))
    if hints:
        lines.append(f"<font color=\"comment\">{_tr('actions_group' if group else 'actions', card.locale)}</font>")
        lines += [f"`{hint}` {_md(label)}" for hint, label in hints]
    return lines


def _text_lines(card: Card) -> list[str]:
    lines = [card.title]
    if card.subtitle:
        lines.append(card.subtitle)
    lines += _body_lines(card, overflow_fields=card.fields)
    lines = [_text(line) for line in lines]  # what the card says; the command hints below are ours
    hints = list(_hints(card.buttons, card.locale))
    if hints:
        lines.append(_tr("actions", card.locale))
        lines += [f"  {hint}  ({_text(label)})" for hint, label in hints]
    return lines


def _body_lines(card: Card, *, overflow_fields: Iterable[Any]) -> list[str]:
    lines: list[str] = []
    for block in card.blocks:
        if isinstance(block, Section):
            lines.append(_plain(block.text))
    colon = _colon(card.locale)
    lines += [f"{f.label}{colon}{f.value}" if f.label else f.value for f in overflow_fields]
    for block in card.blocks:
        if isinstance(block, Context):
            lines.append(_plain(block.text))
        elif isinstance(block, Image):
            lines.append(f"{block.alt}: {block.url}")
    return lines


def _hints(buttons: Iterable[Button], locale: str) -> Iterable[tuple[str, str]]:
    for b in buttons:
        hint = command_hint(b, locale)
        if hint:
            yield hint, b.label


def _colon(locale: str) -> str:
    return "：" if _zh(locale) == "zh_CN" else ": "


def _plain(text: str) -> str:
    """Our builders' `code` and *bold* marks, dropped for places without markup."""
    return text.replace("`", "").replace("*", "")


def _text(text: str) -> str:
    """A line of a WeCom text message (cards.escape.wecom_text: no `<a href>` survives)."""
    return wecom_text(text)


def _md(text: str) -> str:
    """Keep our own `code`; Slack-style *bold* becomes WeCom's **bold**; no link, tag or mention in the text
    survives (cards.escape.wecom_markdown, the one WeCom markdown escape)."""
    text = re.sub(r"(?<!\*)\*(?!\*)([^*\n]+)(?<!\*)\*(?!\*)", r"**\1**", text)
    return wecom_markdown(text)
