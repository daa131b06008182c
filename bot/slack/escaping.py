"""Slack's escaping, undone once on the way in.

Slack escapes exactly three characters in the text it sends us — `&` as `&amp;`, `<` as `&lt;`, `>` as
`&gt;` — in slash-command text and in message text (events, and the message a shortcut carries), and
uses real `<…>` only for its own references: `<@U123>`, `<#C123|sales>`, `<!here>`, `<https://…|label>`.
(docs.slack.dev "Formatting text for app surfaces" → "Escaping text".) So the text is unescaped exactly
once, in one pass (`&amp;lt;` becomes the `&lt;` the person typed, never `<`), and Slack's references are
left as they are for the handler (`lead assign L-3 <@U123>`).

Modal input values (`view.state.values`) and button values arrive as typed, unescaped: they are never
passed through here. The way out — escaping once for mrkdwn — is cards/render/slack.py's job.
"""
from __future__ import annotations

import re
from typing import Any

_ENTITY = re.compile(r"&(amp|lt|gt);")
_CHARS = {"amp": "&", "lt": "<", "gt": ">"}


def unescape(text: str) -> str:
    """`AT&amp;T &lt;HQ&gt;` → `AT&T <HQ>`; anything else unchanged."""
    return _ENTITY.sub(lambda m: _CHARS[m.group(1)], text)


def unescape_incoming(body: dict[str, Any]) -> None:
    """Unescape, in place, the texts of a request body that Slack escaped: a slash command's `text`, a
    message event's `event.text`, a message shortcut's `message.text`."""
    if body.get("command") and isinstance(body.get("text"), str):
        body["text"] = unescape(body["text"])
    event = body.get("event") if body.get("type") == "event_callback" else None
    if isinstance(event, dict) and event.get("type") == "message" and isinstance(event.get("text"), str):
        event["text"] = unescape(event["text"])
    message = body.get("message") if body.get("type") == "message_action" else None
    if isinstance(message, dict) and isinstance(message.get("text"), str):
        message["text"] = unescape(message["text"])


__all__ = ["unescape", "unescape_incoming"]
