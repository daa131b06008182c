"""The Home view this process last published for each person: opening the tab again when nothing on it has
changed publishes nothing. `views.publish` is a round trip to Slack (a new HTTPS connection each time with
slack_sdk's client) and counts against the workspace's rate limit; the view is still built each time, so a
change anywhere (a task done, a new day making one overdue) is published.

Only where this process is the one that publishes Home views (SQLite serves one web process): with several
processes, another may have published a newer view since, and skipping would leave it showing. A view
remembered for longer than `fresh_for` is published again anyway, so anything Slack lost (an app reinstalled)
comes back within minutes.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from crm_core.clock import Clock

Key = tuple[str, str]  # (workspace, Slack user id)
FRESH_FOR = timedelta(minutes=5)
CAPACITY = 10_000  # people remembered; the least recently published are forgotten first


class PublishedViews:
    def __init__(self, clock: Clock, *, enabled: bool, fresh_for: timedelta = FRESH_FOR,
                 capacity: int = CAPACITY) -> None:
        self.enabled, self._clock, self._fresh_for, self._capacity = enabled, clock, fresh_for, capacity
        self._last: OrderedDict[Key, tuple[bytes, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def digest(self, view: dict[str, Any]) -> bytes | None:
        """What a view is remembered by; None where nothing is remembered (the view is not even serialised)."""
        if not self.enabled:
            return None
        return hashlib.blake2b(json.dumps(view, separators=(",", ":"), ensure_ascii=False).encode(),
                               digest_size=16).digest()

    def showing(self, key: Key, digest: bytes | None) -> bool:
        """True when this exact view was published for `key` less than `fresh_for` ago."""
        if digest is None:
            return False
        with self._lock:
            last = self._last.get(key)
        return last is not None and last[0] == digest and self._clock.now() - last[1] < self._fresh_for

    def published(self, key: Key, digest: bytes | None) -> None:
        """Slack accepted this view for `key`."""
        if digest is None:
            return
        with self._lock:
            self._last[key] = (digest, self._clock.now())
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
