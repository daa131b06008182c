"""Plays Slack against the app: requests signed exactly as Slack signs them, bodies shaped exactly as
Slack sends them (a form for slash commands, `payload=<json>` for interactivity, JSON for events).
Payload shapes follow /work/shared/reference/slack.md §2."""
from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from fastapi.testclient import TestClient
from slack_sdk.signature import SignatureVerifier

from bot.slack.answer import InlineExecutor  # noqa: F401 - the tests' inline listener pool
from tests.bot.slack.fake_slack import BOT_ID, BOT_USER, TEAM, FakeSlack

SECRET = "test-signing-secret"
# Slack's own references, sent as real <…> (a mention, a channel, a special mention, a link)
_REFERENCE = re.compile(r"<(?:[@#!]|https?://|mailto:)[^<>]*>")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def slack_escape(text_: str) -> str:
    """What Slack does to typed text before sending it (slash-command text, message text): `&`, `<`, `>`
    become `&amp;`, `&lt;`, `&gt;`; its own references (`<@U123>`, `<#C1|sales>`, `<!here>`) stay as they are."""
    out, last = [], 0
    for m in _REFERENCE.finditer(text_):
        out.append("".join(_ESCAPES.get(c, c) for c in text_[last:m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append("".join(_ESCAPES.get(c, c) for c in text_[last:]))
    return "".join(out)
FORM = "application/x-www-form-urlencoded"
_ids = itertools.count(1)


def signed_headers(raw: str, content_type: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=raw),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}


# --- element states of a view_submission ---

def text(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def select(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value}}


def date(value: str) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": value}


def number(value: str) -> dict[str, Any]:
    return {"type": "number_input", "value": value}


class SlackPlayer:
    def __init__(self, client: TestClient, fake: FakeSlack) -> None:
        self.client = client
        self.fake = fake

    def post(self, raw: str, content_type: str, *, extra_headers: dict[str, str] | None = None,
             secret: str = SECRET, timestamp: int | None = None) -> httpx.Response:
        headers = signed_headers(raw, content_type, secret=secret, timestamp=timestamp)
        headers.update(extra_headers or {})
        r = self.client.post("/slack/events", content=raw.encode("utf-8"), headers=headers)
        if (r.status_code == 200 and content_type == FORM and not raw.startswith("payload=")
                and r.headers.get("content-type", "").startswith("application/json") and "blocks" in r.json()):
            self.fake.record_inline(r.json())  # a slash command answered in its own HTTP response
        return r

    def interaction(self, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        return self.post(f"payload={quote(json.dumps(payload))}", FORM, **kw)

    # --- slash command ---
    def command_body(self, user: str, text_: str, *, channel: str = "C0001", user_name: str | None = None,
                     team: str = TEAM) -> str:
        """`text_` as the person typed it; the body carries it escaped, as Slack sends it."""
        n = next(_ids)
        return urlencode({
            "token": "vtok", "team_id": team, "team_domain": "acme", "channel_id": channel, "channel_name": "sales",
            "user_id": user, "user_name": user_name or user.lower(), "command": "/crm", "text": slack_escape(text_),
            "api_app_id": "A0001", "is_enterprise_install": "false",
            "response_url": self.fake.response_url(f"cmd{n}"), "trigger_id": f"{n}.{n}.cmd{n}"})

    def command(self, user: str, text_: str, **kw: Any) -> httpx.Response:
        return self.post(self.command_body(user, text_, **kw), FORM)

    # --- buttons ---
    def click(self, user: str, action_id: str, value: str, *, channel: str = "C0001", message_ts: str | None = None,
              ephemeral: bool = True, block_id: str = "actions:x", home: bool = False) -> httpx.Response:
        n = next(_ids)
        ts = message_ts or "1700000000.000100"
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": user, "username": user.lower(), "name": user.lower(),
                                               "team_id": TEAM},
            "api_app_id": "A0001", "token": "vtok", "trigger_id": f"{n}.{n}.act{n}",
            "team": {"id": TEAM, "domain": "acme"}, "enterprise": None, "is_enterprise_install": False,
            "state": {"values": {}},
            "actions": [{"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                         "text": {"type": "plain_text", "text": "Button"}, "action_ts": f"1700000001.{n:06d}"}]}
        if home:
            payload.update(container={"type": "view", "view_id": "VHOME"},
                           view={"id": "VHOME", "type": "home", "blocks": [], "state": {"values": {}}})
        else:
            payload.update(container={"type": "message", "message_ts": ts, "channel_id": channel,
                                      "is_ephemeral": ephemeral},
                           channel={"id": channel, "name": "sales"},
                           response_url=self.fake.response_url(f"act{n}"))
            if not ephemeral:
                payload["message"] = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "ts": ts,
                                      "text": "card", "blocks": []}
        return self.interaction(payload)

    # --- modals ---
    def submit(self, user: str, view: dict[str, Any], values: dict[str, dict[str, Any]], *,
               view_id: str | None = None) -> httpx.Response:
        n = next(_ids)
        payload = {
            "type": "view_submission", "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
            "api_app_id": "A0001", "token": "vtok", "trigger_id": f"{n}.{n}.view{n}",
            "view": {"id": view_id or f"V{n:04d}", "team_id": TEAM, "type": "modal",
                     "callback_id": view["callback_id"], "private_metadata": view.get("private_metadata", ""),
                     "hash": "1.abc", "blocks": view.get("blocks", []), "title": view.get("title"),
                     "state": {"values": {block: {"value": state} for block, state in values.items()}},
                     "previous_view_id": None, "root_view_id": view_id or f"V{n:04d}", "app_id": "A0001",
                     "external_id": "", "app_installed_team_id": TEAM, "bot_id": BOT_ID},
            "response_urls": [], "is_enterprise_install": False, "enterprise": None}
        return self.interaction(payload)

    def suggest(self, user: str, view: dict[str, Any], block_id: str, value: str, *,
                action_id: str = "value") -> httpx.Response:
        """What Slack posts to the options load URL as the person types in an external_select."""
        n = next(_ids)
        return self.interaction({
            "type": "block_suggestion", "user": {"id": user, "username": user.lower(), "name": user.lower(),
                                                 "team_id": TEAM},
            "container": {"type": "view", "view_id": f"V{n:04d}"}, "api_app_id": "A0001", "token": "vtok",
            "action_id": action_id, "block_id": block_id, "value": value, "team": {"id": TEAM, "domain": "acme"},
            "enterprise": None, "is_enterprise_install": False,
            "view": {"id": f"V{n:04d}", "team_id": TEAM, "type": "modal", "callback_id": view["callback_id"],
                     "private_metadata": view.get("private_metadata", ""), "blocks": view.get("blocks", []),
                     "state": {"values": {}}, "hash": "1.abc", "app_id": "A0001", "bot_id": BOT_ID}})

    def opened_view(self, index: int = -1) -> dict[str, Any]:
        view = self.fake.calls_to("views.open")[index]["view"]
        return json.loads(view) if isinstance(view, str) else view

    # --- message shortcut ---
    def log_message_shortcut(self, user: str, message_text: str, *, author: str = "U01HAN") -> httpx.Response:
        n = next(_ids)
        return self.interaction({
            "type": "message_action", "callback_id": "crm.log_message", "trigger_id": f"{n}.{n}.sc{n}",
            "action_ts": f"1700000002.{n:06d}", "token": "vtok", "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "name": user.lower()}, "channel": {"id": "C0001", "name": "sales"},
            "message_ts": "1700000000.000100",
            "message": {"type": "message", "user": author, "ts": "1700000000.000100",
                        "text": slack_escape(message_text)},
            "response_url": self.fake.response_url(f"sc{n}")})

    # --- events ---
    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None) -> httpx.Response:
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
        return self.post(self.event_body(event, event_id=event_id), "application/json", extra_headers=extra)

    def event_body(self, event: dict[str, Any], *, event_id: str | None = None) -> str:
        """An Events API callback as Slack sends it (authorizations, event_context)."""
        return json.dumps({
            "token": "vtok", "team_id": TEAM, "api_app_id": "A0001", "type": "event_callback",
            "event_id": event_id or f"Ev{next(_ids):04d}", "event_time": 1700000003, "event_context": "4-xyz",
            "is_ext_shared_channel": False,
            "authorizations": [{"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER, "is_bot": True,
                                "is_enterprise_install": False}],
            "event": event})

    def home_opened(self, user: str, **kw: Any) -> httpx.Response:
        return self.event({"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home",
                           "event_ts": "1700000003.000400"}, **kw)

    # --- what came back ---
    def responses(self) -> list[dict[str, Any]]:
        return self.fake.calls_to("response_url")

    def last_response(self) -> dict[str, Any]:
        found = self.responses()
        assert found, f"nothing was posted to a response_url; calls: {self.fake.methods()}"
        return found[-1]


def blocks_text(message: dict[str, Any]) -> str:
    """Every human-readable string in a message's blocks (headers, sections, fields, context, buttons)."""
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return "\n".join(out)


def buttons(message: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, action_id, value) of every button in a message."""
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [(e["text"]["text"], e["action_id"], e.get("value", "")) for b in blocks if b["type"] == "actions"
            for e in b["elements"] if e["type"] == "button"]
