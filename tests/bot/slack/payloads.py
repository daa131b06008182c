"""Recorded Slack request bodies (tests/bot/payloads/slack/), byte for byte as Slack sends them: form-encoded
slash commands with Slack's `&amp;` escaping inside, `payload=<json>` interactions, JSON event callbacks.

Placeholders filled at load time: `__RESPONSE_URL__` (the fake Slack's response_url, URL-encoded in a form
body), and in some forms `__USER__` / `__TEXT__` (form-encoded by the caller's values)."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx

from tests.bot.slack.harness import FORM, SlackPlayer

DIR = Path(__file__).resolve().parents[1] / "payloads" / "slack"


def form(name: str, slack: SlackPlayer, tag: str, **fields: str) -> str:
    raw = (DIR / f"{name}.form").read_text(encoding="utf-8")
    raw = raw.replace("__RESPONSE_URL__", quote(slack.fake.response_url(tag), safe=""))
    for key, value in fields.items():
        raw = raw.replace(f"__{key.upper()}__", quote_plus(value))
    return raw


def interaction(name: str, slack: SlackPlayer, tag: str) -> str:
    payload = json.loads((DIR / f"{name}.json").read_text(encoding="utf-8").replace(
        "__RESPONSE_URL__", slack.fake.response_url(tag)))
    return f"payload={quote(json.dumps(payload))}"


def event(name: str) -> str:
    return (DIR / f"{name}.json").read_text(encoding="utf-8")


def post_form(slack: SlackPlayer, raw: str) -> httpx.Response:
    return slack.post(raw, FORM)


def post_json(slack: SlackPlayer, raw: str, *, retry_num: int | None = None) -> httpx.Response:
    extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
    return slack.post(raw, "application/json", extra_headers=extra)
