"""One pass of the outbox deliverer: claim due rows (queue), merge nudges to one person (merging), carry
each row out (operations, through calls and records), mark its fate (queue), report dead letters."""
from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.pacing import Pacer
from handlers.ports import Messenger
from scheduler.delivery.calls import PlatformCalls
from scheduler.delivery.merging import merge_rows
from scheduler.delivery.operations import Operations
from scheduler.delivery.queue import ClaimedRow, DeliveryPolicy, OutboxQueue, Outcome
from scheduler.delivery.records import DeliveryRecords

log = logging.getLogger("chatcrm.deliverer")


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0  # rows completed
    deliveries: int = 0  # messenger calls that succeeded
    failed: int = 0  # rows that will be retried
    waiting: int = 0  # rows paced / throttled / waiting for their swarm channel
    dead: int = 0
    skipped: int = 0
    merged: int = 0  # rows delivered inside another row's merged message
    dead_reported: int = 0

    def add(self, other: "DeliveryStats") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def deliver_due(session_factory: sessionmaker[Session], messengers: Mapping[str, Messenger], clock: Clock,
                config: Config, *, limit: int = 100, policy: DeliveryPolicy | None = None,
                worker_id: str | None = None, rng: random.Random | None = None) -> DeliveryStats:
    """Deliver every due outbox row once (one pass). Never raises."""
    return Deliverer(session_factory, messengers, clock, config, policy=policy, worker_id=worker_id,
                     rng=rng).run_once(limit=limit)


class Deliverer:
    def __init__(self, session_factory: sessionmaker[Session], messengers: Mapping[str, Messenger], clock: Clock,
                 config: Config, *, policy: DeliveryPolicy | None = None, worker_id: str | None = None,
                 rng: random.Random | None = None, pacer: Pacer | None = None) -> None:
        self.factory = session_factory
        self.messengers = messengers
        self.clock = clock
        self.config = config
        self.policy = policy or DeliveryPolicy()
        self.worker_id = (worker_id or f"w{secrets.token_hex(3)}")[:40]
        self.rng = rng or random.Random()
        self.pacer = pacer or Pacer(session_factory)
        self.queue = OutboxQueue(session_factory, clock, config, self.policy, self.rng)
        self.records = DeliveryRecords(session_factory, clock)
        self.calls = PlatformCalls(clock, self.policy, self.pacer, self.records)
        self.operations = Operations(session_factory, messengers, clock, config, self.queue, self.records,
                                     self.calls)

    def run_once(self, *, limit: int = 100) -> DeliveryStats:
        stats = DeliveryStats()
        token = f"{self.worker_id}:{secrets.token_hex(4)}"
        self.calls.new_pass()
        try:
            rows = self.queue.claim(token, limit)
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker loop
            log.exception("deliverer: claiming due outbox rows failed")
            return stats
        stats.claimed = len(rows)
        for row in merge_rows(rows):
            stats.merged += len(row.merged_ids)
            self._deliver_row(row, token, stats)
        try:
            stats.dead_reported = self.queue.report_dead()
        except Exception:  # noqa: BLE001
            log.exception("deliverer: reporting dead outbox rows failed")
        if stats.claimed:
            log.info("deliverer %s: %s", self.worker_id, stats)
        return stats

    def _deliver_row(self, row: ClaimedRow, token: str, stats: DeliveryStats) -> None:
        try:
            outcome = self.operations.process(row)
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
            log.exception("deliverer: outbox row %s (%s) failed unexpectedly", row.id, row.kind)
            outcome = Outcome(error=f"{type(exc).__name__}: {exc}")
        stats.deliveries += outcome.deliveries
        try:
            status = self.queue.finish(row, token, outcome)
        except Exception:  # noqa: BLE001 - the lease brings the row back later
            log.exception("deliverer: recording the result of outbox row %s failed", row.id)
            return
        if status == "sent":
            stats.sent += 1
        elif status == "dead":
            stats.dead += 1
        elif status == "skipped":
            stats.skipped += 1
        elif status == "failed" and outcome.error:
            stats.failed += 1
        else:
            stats.waiting += 1
