"""A local fake of the Slack Web API (and of response_url), served from its own thread on 127.0.0.1.

It records every call and answers like Slack does (shapes from /work/shared/reference/slack.md §4–5):
`ok`, `channel`, `ts`, `name_taken` (archived names stay taken), `already_in_channel`,
`message_not_found`, 429 with `Retry-After` on demand, and it enforces the server-side Block Kit limits
slack_sdk does not check (50 blocks a message, 100 a view, text lengths, unique block ids), so a card
the app should never send fails the test. It routes on the path only (slack_sdk POSTs everything) and
accepts form or JSON bodies with any extra arguments (Bolt adds `team_id`).

Messages keep the `metadata` they were posted with, and conversations.history serves them (newest first,
`oldest` / `limit` / `cursor`; metadata only with `include_all_metadata`). With `clock` set (an app
clock), a message's ts is that clock's time, so `oldest` compares like on Slack.
"""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
TEAM = "T0001"
TOKEN = "xoxb-test-token"
INSTALLED_TOKEN = "xoxb-installed-token"
# A second workspace, for multi-workspace OAuth: installing with code "good-code-2" gives this team its token.
TEAM_2 = "T0002"
INSTALLED_TOKEN_2 = "xoxb-installed-token-2"
INSTALLS = {"good-code": (TEAM, "Acme", INSTALLED_TOKEN), "good-code-2": (TEAM_2, "Beta", INSTALLED_TOKEN_2)}
_NAME = re.compile(r"^[a-z0-9_-]+$")
LIMIT_ERRORS = frozenset({"invalid_blocks", "msg_too_long", "no_text", "invalid_arguments"})


@dataclass
class Call:
    method: str  # "chat.postMessage", or "response_url" for posts to a response_url
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool
    creator: str
    members: set[str] = field(default_factory=set)
    topic: str = ""
    archived: bool = False
    pins: list[str] = field(default_factory=list)


class SlackError(Exception):
    def __init__(self, error: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.error, self.status, self.headers = error, status, headers or {}


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.violations: list[tuple[str, str]] = []  # Block Kit / view limits the app broke
        self.channels: dict[str, Channel] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.homes: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, str] = {}  # file id -> content
        self.files: dict[str, dict[str, Any]] = {}  # file id -> {title, channel}
        self.upload_bytes: dict[str, bytes] = {}  # file id -> the bytes as uploaded (binary files)
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens = {TOKEN}
        self.token_teams: dict[str, str] = {}  # tokens of a workspace other than TEAM (auth.test answers it)
        self.delays: dict[str, float] = {}
        self.held: dict[str, tuple[threading.Event, threading.Event]] = {}  # method -> (reached, let go)
        self.clock: Any = None  # an app clock (crm_core.clock.Clock): message ts follow it when set
        self._failures: dict[str, list[SlackError]] = {}
        self._lock = threading.Lock()
        self._n = 0
        self._token = ""  # the bearer token of the call being handled (under the lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-slack", daemon=True)

    # --- lifecycle ---
    def start(self) -> "FakeSlack":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, n: int | str = 1) -> str:
        return f"{self.url}/response_url/{TEAM}/{n}/x"

    # --- test controls ---
    def add_user(self, user_id: str, real_name: str, *, locale: str = "en-US", name: str | None = None,
                 team: str = TEAM, tz: str = "Asia/Shanghai") -> None:
        self.users[user_id] = {"id": user_id, "team_id": team, "name": name or real_name.lower().replace(" ", "."),
                               "real_name": real_name, "tz": tz, "locale": locale, "is_bot": False,
                               "deleted": False, "profile": {"real_name": real_name, "display_name": real_name,
                                                             "email": f"{user_id.lower()}@example.com"}}

    def fail(self, method: str, error: str, *, status: int = 200, retry_after: int | None = None,
             times: int = 1) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._failures.setdefault(method, []).extend([SlackError(error, status, headers)] * times)

    def rate_limit(self, method: str, retry_after: int = 7, times: int = 1) -> None:
        self.fail(method, "ratelimited", status=429, retry_after=retry_after, times=times)

    def recover(self, method: str | None = None) -> None:
        """Drop the failures still queued (for `method`, or all): the outage is over."""
        with self._lock:
            if method is None:
                self._failures.clear()
            else:
                self._failures.pop(method, None)

    # --- what the app sent ---
    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c.body for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def record_inline(self, body: dict[str, Any]) -> None:
        """A slash command answered in its HTTP response: recorded as what the person saw, beside the
        response_url posts (`calls_to("response_url")` returns both, in order; `inline_answers()` and
        `response_url_posts()` tell them apart). Held to the same Block Kit limits."""
        with self._lock:
            self.calls.append(Call("response_url", "inline", {}, body))
            try:
                check_message(body)
            except SlackError as e:
                self.violations.append(("inline answer", e.error))

    def inline_answers(self) -> list[dict[str, Any]]:
        with self._lock:
            return [c.body for c in self.calls if c.method == "response_url" and c.path == "inline"]

    def response_url_posts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [c.body for c in self.calls if c.method == "response_url" and c.path != "inline"]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {count} call(s) to {method}, got {self.methods()}")

    def channel_named(self, name: str) -> Channel:
        return next(c for c in self.channels.values() if c.name == name)

    def dm_messages(self, user_id: str) -> list[dict[str, Any]]:
        return [m for (ch, _), m in self.messages.items() if ch == dm_channel(user_id)]

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        return [m for (ch, _), m in self.messages.items() if ch == channel]

    # --- the API ---
    def hold(self, method: str) -> tuple[threading.Event, threading.Event]:
        """Slack is slow to answer `method`: its calls wait (each in its own server thread) until the test sets
        the second event; the first is set when a call is waiting."""
        self.held[method] = (threading.Event(), threading.Event())
        return self.held[method]

    def handle(self, method: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        delay = self.delays.get(method)
        if delay:
            time.sleep(delay)
        if method in self.held:
            reached, let_go = self.held[method]
            reached.set()
            let_go.wait(10.0)
        with self._lock:
            self.calls.append(Call(method, method, headers, body))
            injected = False
            try:
                failures = self._failures.get(method)
                injected = bool(failures)
                if failures:
                    raise failures.pop(0)
                if method == "response_url":
                    try:
                        check_message(body)
                    except SlackError as e:
                        self.violations.append((method, e.error))
                        return 400, {"Content-Type": "text/plain"}, e.error
                    return 200, {"Content-Type": "text/plain"}, "ok"
                if method != "oauth.v2.access":
                    self._check_token(headers)
                self._token = headers.get("authorization", "").removeprefix("Bearer ")
                impl = getattr(self, "_" + method.replace(".", "_"), None)
                if impl is None:
                    raise SlackError("unknown_method")
                result = impl(body)
                return 200, {"x-oauth-scopes": "commands,chat:write"}, {"ok": True, **result}
            except SlackError as e:
                if e.error in LIMIT_ERRORS and not injected:
                    self.violations.append((method, e.error))
                return e.status, dict(e.headers), {"ok": False, "error": e.error}

    def _check_token(self, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise SlackError("not_authed")
        if auth.removeprefix("Bearer ") not in self.tokens:
            raise SlackError("invalid_auth")

    def _next(self) -> int:
        self._n += 1
        return self._n

    def _auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        team = self.token_teams.get(self._token, TEAM)
        return {"url": "https://acme.slack.com/", "team": "Acme", "user": "chatcrm", "team_id": team,
                "user_id": BOT_USER, "bot_id": BOT_ID, "enterprise_id": None, "is_enterprise_install": False,
                "app_id": "A0001", "app_name": "chatcrm"}

    def _channel(self, channel_id: str, *, writable: bool = True) -> Channel:
        ch = self.channels.get(channel_id)
        if ch is None:
            raise SlackError("channel_not_found")
        if writable and ch.archived:
            raise SlackError("is_archived")
        return ch

    def _target(self, channel: str) -> str:
        if channel.startswith(("U", "W")):
            return dm_channel(channel)
        if channel.startswith("D"):
            return channel
        ch = self._channel(channel)
        if BOT_USER not in ch.members:
            raise SlackError("not_in_channel")
        return ch.id

    def _chat_postMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        check_message(body)
        channel = self._target(str(body.get("channel", "")))
        n = self._next()
        seconds = int(self.clock.now().timestamp()) if self.clock is not None else 1700000000 + n
        ts = f"{seconds}.{n:06d}"
        message = {"channel": channel, "ts": ts, "text": body.get("text"), "blocks": body.get("blocks", []),
                   "user": BOT_USER, "bot_id": BOT_ID}
        metadata = _as_dict(body.get("metadata")) if body.get("metadata") else None
        if metadata:
            message["metadata"] = metadata
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def _conversations_history(self, body: dict[str, Any]) -> dict[str, Any]:
        raw = str(body.get("channel", ""))
        channel = raw if raw.startswith("D") else self._channel(raw, writable=False).id
        oldest = float(body.get("oldest") or 0)
        latest = float(body["latest"]) if body.get("latest") else None
        inclusive = str(body.get("inclusive", "")).lower() in ("1", "true")
        limit = max(1, min(int(body.get("limit") or 100), 999))
        start = int(body.get("cursor") or 0)
        with_meta = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        found = sorted((m for (ch, ts), m in self.messages.items() if ch == channel and float(ts) > oldest
                        and (latest is None or float(ts) < latest or (inclusive and float(ts) == latest))),
                       key=lambda m: float(m["ts"]), reverse=True)
        page = found[start:start + limit]
        out = [{k: v for k, v in m.items() if with_meta or k != "metadata"} for m in page]
        more = start + limit < len(found)
        return {"messages": out, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _conversations_replies(self, body: dict[str, Any]) -> dict[str, Any]:
        """The thread of `ts`: its parent and replies (messages carrying thread_ts == ts), oldest first."""
        channel = self._channel(str(body.get("channel", "")), writable=False).id
        ts = str(body.get("ts", ""))
        found = sorted((m for (ch, mts), m in self.messages.items()
                        if ch == channel and (mts == ts or m.get("thread_ts") == ts)), key=lambda m: float(m["ts"]))
        return {"messages": found, "has_more": False}

    def _chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        check_message(body)
        key = (self._target(str(body.get("channel", ""))), str(body.get("ts", "")))
        if key not in self.messages:
            raise SlackError("message_not_found")
        self.messages[key].update(text=body.get("text"), blocks=body.get("blocks", []), edited=True)
        return {"channel": key[0], "ts": key[1], "text": body.get("text")}

    def _chat_postEphemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        check_message(body)
        return {"message_ts": f"{1700000000 + self._next()}.000001"}

    def _conversations_create(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name", ""))
        if not name:
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if not _NAME.match(name):
            raise SlackError("invalid_name_specials")
        if any(c.name == name for c in self.channels.values()):  # archived names stay taken
            raise SlackError("name_taken")
        cid = f"C{900 + self._next():06d}"
        private = str(body.get("is_private", "")).lower() in ("1", "true")
        self.channels[cid] = Channel(cid, name, private, BOT_USER, members={BOT_USER})
        return {"channel": self._channel_json(self.channels[cid])}

    def _channel_json(self, ch: Channel) -> dict[str, Any]:
        return {"id": ch.id, "name": ch.name, "is_channel": True, "is_private": ch.is_private, "created": 1700000000,
                "creator": ch.creator, "is_archived": ch.archived, "name_normalized": ch.name,
                "topic": {"value": ch.topic, "creator": BOT_USER, "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0}}

    def _conversations_invite(self, body: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel(str(body.get("channel", "")))
        users = [u for u in str(body.get("users", "")).split(",") if u]
        if not users:
            raise SlackError("no_user")
        for u in users:
            if u == BOT_USER:
                raise SlackError("cant_invite_self")
            if u not in self.users:
                raise SlackError("user_not_found")
        if all(u in ch.members for u in users):
            raise SlackError("already_in_channel")
        ch.members.update(users)
        return {"channel": self._channel_json(ch)}

    def _conversations_setTopic(self, body: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel(str(body.get("channel", "")))
        topic = str(body.get("topic", ""))
        if len(topic) > 250:
            raise SlackError("too_long")
        ch.topic = topic
        return {"channel": self._channel_json(ch)}

    def _conversations_archive(self, body: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel(str(body.get("channel", "")), writable=False)
        if ch.archived:
            raise SlackError("already_archived")
        ch.archived = True
        return {}

    def _pins_add(self, body: dict[str, Any]) -> dict[str, Any]:
        ch = self._channel(str(body.get("channel", "")))
        ts = str(body.get("timestamp", ""))
        if (ch.id, ts) not in self.messages:
            raise SlackError("message_not_found")
        if ts in ch.pins:
            raise SlackError("already_pinned")
        ch.pins.append(ts)
        return {}

    def _views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("trigger_id") in (None, "", "expired"):
            raise SlackError("expired_trigger_id")
        view = _as_dict(body.get("view"))
        check_view(view, "modal")
        return {"view": {**view, "id": f"V{self._next():04d}", "team_id": TEAM, "state": {"values": {}},
                         "hash": "1.abc", "root_view_id": None, "app_id": "A0001", "bot_id": BOT_ID}}

    def _views_publish(self, body: dict[str, Any]) -> dict[str, Any]:
        view = _as_dict(body.get("view"))
        check_view(view, "home")
        self.homes[str(body.get("user_id"))] = view
        return {"view": {**view, "id": f"V{self._next():04d}"}}

    def _views_update(self, body: dict[str, Any]) -> dict[str, Any]:
        view = _as_dict(body.get("view"))
        check_view(view, view.get("type", "modal"))
        return {"view": view}

    def _conversations_open(self, body: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(body.get("users", "")).split(",") if u]
        if len(users) != 1 or users[0] not in self.users:
            raise SlackError("user_not_found")
        return {"channel": {"id": dm_channel(users[0])}}

    def _files_getUploadURLExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("filename") or not str(body.get("length", "")).isdigit():
            raise SlackError("invalid_arguments")
        file_id = f"F{self._next():05d}"
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(str(body.get("files", "[]")))
        for f in files:
            if f["id"] not in self.uploads:
                raise SlackError("file_not_found")
            self.files[f["id"]] = {"title": f.get("title"), "channel": body.get("channel_id")}
        return {"files": [{"id": f["id"], "title": f.get("title")} for f in files]}

    def _users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(body.get("user", "")))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user}

    def _oauth_v2_access(self, body: dict[str, Any]) -> dict[str, Any]:
        install = INSTALLS.get(str(body.get("code")))
        if install is None:
            raise SlackError("invalid_code")
        team, team_name, token = install
        self.tokens.add(token)
        self.token_teams[token] = team
        return {"access_token": token, "token_type": "bot", "scope": "commands,chat:write",
                "bot_user_id": BOT_USER, "app_id": "A0001", "team": {"id": team, "name": team_name},
                "enterprise": None, "is_enterprise_install": False,
                "authed_user": {"id": "U01LI", "scope": "", "access_token": None, "token_type": None}}


def dm_channel(user_id: str) -> str:
    return "D" + user_id[1:]


def _as_dict(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def _blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = body.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def check_blocks(blocks: list[dict[str, Any]], limit: int) -> None:
    """Slack's own limits (server side), which slack_sdk does not check for plain dicts."""
    if len(blocks) > limit:
        raise SlackError("invalid_blocks")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)) or any(len(b) > 255 for b in block_ids):
        raise SlackError("invalid_blocks")
    for b in blocks:
        text = (b.get("text") or {}).get("text", "") if isinstance(b.get("text"), dict) else ""
        if b["type"] == "header" and not 0 < len(text) <= 150:
            raise SlackError("invalid_blocks")
        if b["type"] == "section" and len(text) > 3000:
            raise SlackError("invalid_blocks")
        if b["type"] == "section" and len(b.get("fields") or []) > 10:
            raise SlackError("invalid_blocks")
        if b["type"] == "actions":
            elements = b.get("elements") or []
            ids = [e.get("action_id") for e in elements]
            if len(elements) > 25 or len(ids) != len(set(ids)):
                raise SlackError("invalid_blocks")
            for e in elements:
                if len(e.get("value") or "") > 2000 or len(e.get("action_id") or "") > 255:
                    raise SlackError("invalid_blocks")
                if len((e.get("text") or {}).get("text", "")) > 75:
                    raise SlackError("invalid_blocks")


def check_message(body: dict[str, Any]) -> None:
    check_blocks(_blocks(body), 50)
    if len(str(body.get("text") or "")) > 40000:
        raise SlackError("msg_too_long")
    if not body.get("text") and not body.get("blocks") and not body.get("delete_original"):
        raise SlackError("no_text")


def check_view(view: dict[str, Any], kind: str) -> None:
    if view.get("type") != kind:
        raise SlackError("invalid_arguments")
    blocks = view.get("blocks") or []
    if not 0 < len(blocks) <= 100:
        raise SlackError("invalid_arguments")
    if kind == "modal" and not 0 < len((view.get("title") or {}).get("text", "")) <= 24:
        raise SlackError("invalid_arguments")
    if len(view.get("private_metadata") or "") > 3000:
        raise SlackError("invalid_arguments")
    check_blocks(blocks, 100)


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
            return

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw_bytes = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            if path.startswith("/upload/"):  # files_upload_v2 step 2: raw bytes (a PDF, a PNG…), no token
                fake.upload_bytes[path.rsplit("/", 1)[-1]] = raw_bytes
            raw = raw_bytes.decode("utf-8", "replace")
            ctype = self.headers.get("Content-Type", "")
            if "json" in ctype or raw.startswith("{"):
                body = json.loads(raw or "{}")
            else:
                body = dict(parse_qsl(raw, keep_blank_values=True))
            path = self.path.split("?")[0]
            if path.startswith("/upload/"):  # files_upload_v2 step 2: raw bytes, no token
                fake.uploads[path.rsplit("/", 1)[-1]] = raw
                data = b"OK - " + str(len(raw)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if path.startswith("/response_url/"):
                method = "response_url"
                body = {**body, "_path": path}
            else:
                method = path.rsplit("/", 1)[-1]
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, result = fake.handle(method, body, headers)
            payload = result if isinstance(result, str) else json.dumps(result)
            data = payload.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", extra.pop("Content-Type", "application/json; charset=utf-8"))
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST

    return Handler
