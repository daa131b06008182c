"""A Slack that fails on purpose: the shared fake Slack Web API (tests/bot/slack/fake_slack.py) plus a
`chaos` hook that, per call, may answer 500 / 503 / 429 + Retry-After or drop the connection without an
answer — before anything is posted, as a real outage does. Every call (failed or not) is recorded with
the app clock's time, so a test can check when each retry came. The fake still answers instantly.

`after` is the worse outage: Slack *stores the message and then fails* — answers 500, drops the connection
without an answer, or hangs past the client's timeout (`stored_then_fails`). The stored message is in
the fake's channels (and in conversations.history, with its metadata), the client never learns it.
"""
from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm_core.clock import Clock
from tests.bot.slack.fake_slack import FakeSlack

Answer = tuple[int, dict[str, str], Any]


class DropConnection(Exception):
    """Raised by the chaos hook: the fake closes the connection without answering."""


@dataclass(frozen=True)
class Attempt:
    method: str
    channel: str
    at: Any  # the app clock's time (datetime), or None without a clock
    outcome: str  # "ok" | "500" | "503" | "429" | "drop" | another HTTP status
    retry_after: int | None = None
    wall: float = 0.0  # time.monotonic() when the fake finished with the call (real time, for hang tests)


Chaos = Callable[[str, dict[str, Any]], Answer | None]  # (method, body) -> injected answer, None = behave


class ChaosSlack(FakeSlack):
    def __init__(self) -> None:
        super().__init__()
        self.chaos: Chaos | None = None
        self.after: Chaos | None = None  # asked after a call succeeded: an answer replaces Slack's real one
        self.clock: Clock | None = None
        self.attempts: list[Attempt] = []
        self._attempt_lock = threading.Lock()
        base = self._server.RequestHandlerClass

        class DroppingHandler(base):  # type: ignore[misc, valid-type]
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                try:
                    super().do_POST()
                except DropConnection:
                    self.close_connection = True  # nothing written: the client sees the connection go

        self._server.RequestHandlerClass = DroppingHandler
        server = self._server
        original = server.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                original(request, client_address)  # a client that stopped waiting is expected here

        server.handle_error = handle_error  # type: ignore[method-assign]

    def _record(self, method: str, body: dict[str, Any], outcome: str, retry_after: int | None = None) -> None:
        at = self.clock.now() if self.clock is not None else None
        with self._attempt_lock:
            self.attempts.append(Attempt(method, str(body.get("channel", "")), at, outcome, retry_after,
                                         time.monotonic()))

    def handle(self, method: str, body: dict[str, Any], headers: dict[str, str]) -> Answer:
        try:
            injected = self.chaos(method, body) if self.chaos is not None else None
        except DropConnection:
            self._record(method, body, "drop")
            raise
        if injected is not None:
            status, extra, _ = injected
            retry_after = int(extra["Retry-After"]) if "Retry-After" in extra else None
            self._record(method, body, str(status), retry_after)
            return injected
        status, extra, result = super().handle(method, body, headers)
        if status == 200 and self.after is not None:
            try:
                replaced = self.after(method, body)
            except DropConnection:
                self._record(method, body, "stored+drop")
                raise
            except Hung as hung:
                self._record(method, body, "stored+hang")
                time.sleep(hung.seconds)  # the fake server's own thread: the remote end hangs, not the test
                return status, extra, result  # the client stopped waiting long ago
            if replaced is not None:
                self._record(method, body, f"stored+{replaced[0]}")
                return replaced
        self._record(method, body, "ok" if status == 200 else str(status))
        return status, extra, result

    def attempts_to(self, method: str) -> list[Attempt]:
        with self._attempt_lock:
            return [a for a in self.attempts if a.method == method]


def half_down(rng: random.Random, *, methods: frozenset[str] = frozenset({"chat.postMessage"})) -> Chaos:
    """Half of the calls fail: 10 % HTTP 500 (Slack's JSON `internal_error`), 10 % 503 with an HTML page,
    5 % a dropped connection, 25 % HTTP 429 with a Retry-After of 1–30 s."""
    lock = threading.Lock()

    def chaos(method: str, body: dict[str, Any]) -> Answer | None:
        if method not in methods:
            return None
        with lock:
            roll, wait = rng.random(), rng.randint(1, 30)
        if roll < 0.10:
            return 500, {}, {"ok": False, "error": "internal_error"}
        if roll < 0.20:
            return 503, {"Content-Type": "text/html"}, "<html><body>Service Unavailable</body></html>"
        if roll < 0.25:
            raise DropConnection()
        if roll < 0.50:
            return 429, {"Retry-After": str(wait)}, {"ok": False, "error": "ratelimited"}
        return None

    return chaos


class Hung(Exception):
    """Raised by an `after` hook: hold the answer back for `seconds` (past the client's timeout)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"hung for {seconds}s")
        self.seconds = seconds


def stored_then_fails(rng: random.Random, *, share: float = 0.5, hang: float = 0.0,
                      methods: frozenset[str] = frozenset({"chat.postMessage"}),
                      kinds: tuple[str, ...] | None = None) -> Chaos:
    """An `after` hook: `share` of the calls are stored and then fail — split between HTTP 500, a dropped
    connection and (with `hang` seconds > 0) an answer held back for `hang` seconds; `kinds` picks some."""
    lock = threading.Lock()
    if kinds is None:
        kinds = ("500", "drop", "hang") if hang > 0 else ("500", "drop")

    def after(method: str, body: dict[str, Any]) -> Answer | None:
        if method not in methods:
            return None
        with lock:
            roll, kind = rng.random(), rng.choice(kinds)
        if roll >= share:
            return None
        if kind == "500":
            return 500, {}, {"ok": False, "error": "internal_error"}
        if kind == "drop":
            raise DropConnection()
        raise Hung(hang)

    return after


__all__ = ["Attempt", "ChaosSlack", "DropConnection", "Hung", "half_down", "stored_then_fails"]
