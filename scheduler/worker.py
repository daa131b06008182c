"""`chatcrm worker`: the deliverer loop. A new outbox row goes out within about a second when idle.

The loop runs a pass (`Deliverer.run_once`); when the pass had a full batch it goes again at once,
otherwise it waits `idle_seconds` (a short poll: one indexed query on (status, next_attempt_at)).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from crm_core.clock import Clock
from crm_core.config import Config
from handlers.ports import Messenger
from scheduler.delivery import Deliverer, DeliveryPolicy

log = logging.getLogger("chatcrm.worker")

PRUNE_EVERY = timedelta(minutes=5)


class DeliveryLoop:
    def __init__(self, session_factory: sessionmaker[Session], messengers: Mapping[str, Messenger], clock: Clock,
                 config: Config, *, idle_seconds: float = 0.5, batch: int = 100,
                 policy: DeliveryPolicy | None = None, worker_id: str | None = None) -> None:
        self.deliverer = Deliverer(session_factory, messengers, clock, config, policy=policy, worker_id=worker_id)
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.batch = batch
        self.stop_event = threading.Event()
        self._pruned_at: datetime | None = None
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Deliver until `stop()`; never raises (each pass logs its own problems)."""
        log.info("deliverer %s started (messengers: %s)", self.deliverer.worker_id,
                 ", ".join(sorted(self.deliverer.messengers)))
        while not self.stop_event.is_set():
            try:
                stats = self.deliverer.run_once(limit=self.batch)
            except Exception:  # noqa: BLE001 - the database away for a moment must not end the deliverer
                log.exception("deliverer %s: a pass failed; trying again shortly", self.deliverer.worker_id)
                self.stop_event.wait(self.idle_seconds)
                continue
            self._prune()
            if stats.claimed < self.batch:
                self.stop_event.wait(self.idle_seconds)
        log.info("deliverer %s stopped", self.deliverer.worker_id)

    def _prune(self) -> None:
        now = self.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        try:
            self.deliverer.pacer.prune(now)
        except Exception:  # noqa: BLE001 - pruning is housekeeping; the next round tries again
            log.exception("deliverer: pruning the pacing log failed")

    def start(self) -> threading.Thread:
        """Run in a daemon thread (the embedded mode of `chatcrm serve`)."""
        self._thread = threading.Thread(target=self.run, name="chatcrm-deliverer", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)
