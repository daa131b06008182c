"""Replay protection for signed Slack requests.

Bolt checks `X-Slack-Signature` (HMAC-SHA256 over `v0:<timestamp>:<body>`) and refuses a timestamp more
than 5 minutes from now — but inside that window it accepts the *same* signed request any number of times.
So after Bolt's verification (this middleware runs behind it), the signature is claimed in the database
(`seen_signatures`, shared by every web process); a second request carrying it is answered 401 and
reaches no listener.

Slack's own retries are not replays: Slack re-signs every delivery with the time it is sent, and only
Events API callbacks are retried (`X-Slack-Retry-Num`). A retried event is keyed by its retry number as
well, so even a retry signed in the same second as the original passes here — and is then dropped by the
event_id dedupe (`claim_event`). Slash commands and interactivity are never retried by Slack.

`claim_event` is that dedupe: the first delivery of an event_id claims it in the database, any later one is
dropped. It runs where an event is about to do work, after the ack — not before every event: most events
(a 👍 anywhere, the Messages tab) do nothing, and a claim before the ack made each of them wait for a
write (an fsync on SQLite).

For the same reason the events in `GUARDED_BY_EVENT_ID` are not claimed by their signature either: each
of their effects starts behind their event_id (`SlackContext.first_delivery`: a 📌 claims its id in the
database before it logs anything; a Home opening only shows that person their own view again), so the
same signed callback sent twice reaches no more than Slack's own retry does. On PostgreSQL the signature
claim was a write and a commit before every reaction's ack. Every other request — commands, clicks,
forms, `app_uninstalled` and `tokens_revoked` — is claimed as before.

A signature is remembered for `KEEP`: Bolt accepts it while |now − timestamp| ≤ 300 s, so one first seen
at t (≥ timestamp − 300 s) can no longer pass verification after t + 600 s. Old rows are pruned by one
claim in `PRUNE_ONE_IN` (index range scan on `at`), so the table holds about ten minutes of traffic.
"""
from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.clock import Clock
from crm_core.db import insert_or_skip
from crm_core.models import ProcessedInvocation, SeenSignature

log = logging.getLogger("chatcrm.slack.replay")

WINDOW = timedelta(minutes=5)  # Bolt's (and Slack's documented) signature freshness window
KEEP = 2 * WINDOW
PRUNE_ONE_IN = 32
KEY_MAX = 200
PRUNE_AT = 20_000  # entries kept in memory before expired ones are dropped


GUARDED_BY_EVENT_ID = frozenset({"reaction_added", "app_home_opened"})


def guarded_by_event_id(body: object) -> bool:
    """An Events API callback, with an event_id, of a type whose effects all start behind that id."""
    if not isinstance(body, dict) or body.get("type") != "event_callback" or not body.get("event_id"):
        return False
    event = body.get("event")
    return isinstance(event, dict) and event.get("type") in GUARDED_BY_EVENT_ID


def _header(req: BoltRequest, name: str) -> str:
    values = req.headers.get(name) or [""]
    return str(values[0] or "")


def replay_key(req: BoltRequest) -> str | None:
    """The request's replay identity: its signature (+ the retry number of a retried event)."""
    signature = _header(req, "x-slack-signature").strip()
    if not signature:
        return None
    key = f"slack:{signature}"
    retry = _header(req, "x-slack-retry-num").strip()
    if retry and isinstance(req.body, dict) and req.body.get("type") == "event_callback":
        key += f":retry{retry[:8]}"
    return key[:KEY_MAX]


def claim_signature(session_factory: sessionmaker[Session], clock: Clock, key: str) -> bool:
    """True the first time `key` is seen (within KEEP); False for a replay."""
    now = clock.now()
    try:
        with session_factory.begin() as session:
            session.add(SeenSignature(key=key, at=now))
    except IntegrityError:
        return False
    if zlib.crc32(key.encode()) % PRUNE_ONE_IN == 0:
        prune(session_factory, clock)
    return True


def prune(session_factory: sessionmaker[Session], clock: Clock) -> int:
    """Forget signatures that can no longer pass verification. Failures are logged, never raised."""
    try:
        with session_factory.begin() as session:
            result = session.execute(delete(SeenSignature).where(SeenSignature.at < clock.now() - KEEP))
            return int(getattr(result, "rowcount", 0) or 0)
    except Exception:  # noqa: BLE001 - housekeeping must never cost a request
        log.exception("slack: pruning seen signatures failed")
        return 0


class MemorySeen:
    """Signatures seen by this process. For SQLite, the embedded single-process deployment: claiming a
    signature in the database there would queue each request's ack behind the one writer (bench/ack.py
    showed the tail), and no other web process needs to see the claim."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def claim(self, key: str) -> bool:
        now = self._clock.now()
        with self._lock:
            if len(self._seen) >= PRUNE_AT:
                self._seen = {k: at for k, at in self._seen.items() if now - at < KEEP}
            at = self._seen.get(key)
            if at is not None and now - at < KEEP:
                return False
            self._seen[key] = now
            return True


class RefuseReplays(Middleware):
    """A Bolt middleware (registered after Bolt's own request verification): 401 to a replayed request.

    `in_memory`: remember signatures in this process (SQLite) instead of the shared table (PostgreSQL).
    A `Middleware` subclass, not a function: Bolt calls a function middleware through its keyword-argument
    injection, which builds every argument a listener could ask for on each request."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, *, in_memory: bool = False) -> None:
        self._session_factory, self._clock = session_factory, clock
        self._memory = MemorySeen(clock) if in_memory else None

    def _claim(self, key: str) -> bool:
        if self._memory is not None:
            return self._memory.claim(key)
        return claim_signature(self._session_factory, self._clock, key)

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002 - Bolt's name
        key = None if guarded_by_event_id(req.body) else replay_key(req)
        if key is not None and not self._claim(key):
            log.warning("slack: refused a replayed request (signature already used, timestamp %s)",
                        _header(req, "x-slack-request-timestamp"))
            return BoltResponse(status=401, body={"error": "invalid request"})
        return next()


def claim_event(session_factory: sessionmaker[Session], clock: Clock, event_id: str) -> bool:
    """True for the first delivery of an Events API event_id (it is claimed), False for any later one."""
    key = f"slack:event:{event_id}"[:KEY_MAX]
    with session_factory.begin() as session:
        # One statement: a row already there (an earlier or a concurrent delivery's) is left, and returns none.
        claimed = session.execute(insert_or_skip(session, ProcessedInvocation, on=("key",))
                                  .values(key=key, reply={}, at=clock.now())
                                  .returning(ProcessedInvocation.key)).first()
    return claimed is not None


__all__ = ["GUARDED_BY_EVENT_ID", "KEEP", "MemorySeen", "claim_event", "claim_signature", "guarded_by_event_id",
           "RefuseReplays", "prune", "replay_key"]

