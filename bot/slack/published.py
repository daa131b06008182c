"""The Home view this process last published for each person, and the database version it was built at.

Not built again while nothing was committed to the database since it was built (`unchanged`, with
crm_core.data_version), for up to `build_every`: a person switching to the Home tab and back costs one
PRAGMA (SQLite) or one snapshot read (PostgreSQL), not five queries, a view and a `views.publish`. After
`build_every` it is built anyway, so what only time changes (a task becoming overdue, a ticket nearing its
SLA) shows within a minute. This holds with several web processes too: any commit since this process's
build changes the version it reads, so a view another process published since from a later commit is not
left showing. One case stays: two openings by the same person, moments apart, served by two processes, where
the slower build read the database before a commit and published after the faster one. Its view then shows
until the next opening `build_every` later.

Built again, it is not published when it is the view this process last published (`showing`), only where
this process is the one that publishes Home views (`sole_publisher`; SQLite serves one web process): with
several, another may have published a different view since (from a later commit, which a still later one
undid), and skipping would leave that one showing. `views.publish` is a round trip to Slack (a new HTTPS
connection each time with slack_sdk's client) and counts against the workspace's rate limit. A view
remembered for longer than `fresh_for` is published again anyway, so anything Slack lost (an app
reinstalled) comes back within minutes.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from crm_core.clock import Clock

Key = tuple[str, str]  # (workspace, Slack user id)
Version = int | str | None  # crm_core.data_version: None where unknown
FRESH_FOR = timedelta(minutes=5)
BUILD_EVERY = timedelta(minutes=1)
CAPACITY = 10_000  # people remembered; the least recently published are forgotten first


@dataclass(frozen=True)
class _Shown:
    """What Slack shows a person, as far as this process knows: the view it last published (`digest`, `at`),
    and the database version it was last built at (`version`, `built_at`; None when not known)."""

    digest: bytes | None  # None: not remembered (another process may publish too)
    at: datetime
    version: Version
    built_at: datetime


class PublishedViews:
    def __init__(self, clock: Clock, *, sole_publisher: bool, fresh_for: timedelta = FRESH_FOR,
                 capacity: int = CAPACITY, build_every: timedelta = BUILD_EVERY) -> None:
        self.sole_publisher, self._clock, self._fresh_for = sole_publisher, clock, fresh_for
        self._capacity = capacity
        self._build_every = build_every
        self._last: OrderedDict[Key, _Shown] = OrderedDict()
        self._lock = threading.Lock()

    def unchanged(self, key: Key, version: Version) -> bool:
        """True when the view `key` has was built at database version `version` (nothing committed since)
        less than `build_every` ago, and is still fresh: building it again would give the same view."""
        if version is None:
            return False
        now = self._clock.now()
        with self._lock:
            last = self._last.get(key)
        return (last is not None and last.version == version and now - last.built_at < self._build_every
                and now - last.at < self._fresh_for)

    def digest(self, view: dict[str, Any]) -> bytes | None:
        """What a view is remembered by; None where it is not (another process may publish too), and the view is
        not even serialised."""
        if not self.sole_publisher:
            return None
        return hashlib.blake2b(json.dumps(view, separators=(",", ":"), ensure_ascii=False).encode(),
                               digest_size=16).digest()

    def showing(self, key: Key, digest: bytes | None, version: Version = None) -> bool:
        """True when this exact view was published for `key` less than `fresh_for` ago. Then, with `version`:
        it was just built again from the database at that version (`unchanged` counts from now)."""
        if digest is None:
            return False
        now = self._clock.now()
        with self._lock:
            last = self._last.get(key)
            if last is None or last.digest != digest or now - last.at >= self._fresh_for:
                return False
            if version is not None:
                self._last[key] = replace(last, version=version, built_at=now)
        return True

    def published(self, key: Key, digest: bytes | None, version: Version = None) -> None:
        """Slack accepted this view for `key` (built at database version `version`, when known)."""
        if digest is None and version is None:
            return
        now = self._clock.now()
        with self._lock:
            self._last[key] = _Shown(digest, now, version, now)
            self._last.move_to_end(key)
            while len(self._last) > self._capacity:
                self._last.popitem(last=False)

    def forget(self, key: Key) -> None:
        """The publish failed or its outcome is unknown: the next opening publishes."""
        with self._lock:
            self._last.pop(key, None)

    def forget_all(self) -> None:
        """The app was uninstalled or its token revoked: whatever Slack showed may be gone."""
        with self._lock:
            self._last.clear()
