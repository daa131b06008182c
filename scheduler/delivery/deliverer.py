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
from scheduler.delivery.batch import BatchSender, batchable
from scheduler.delivery.calls import PlatformCalls
from scheduler.delivery.merging import merge_rows
from scheduler.delivery.operations import Operations
from scheduler.delivery.parts import DeliveryParts
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
        parts = DeliveryParts(session_factory, messengers, clock, config, self.queue, self.records, self.calls,
                              self.pacer)
        self.operations = parts.of(Operations)
        self.batch = parts.of(BatchSender)

    def run_once(self, *, limit: int = 100) -> DeliveryStats:
        """One pass. Messages to people (nearly every row) take two transactions for the whole batch (see
        batch.py): claim + recipients + pacing + unsure records, then, after the posts, every result, status
        and the dead-letter report. Other operations (swarm channels, card updates) go row by row."""
        stats = DeliveryStats()
        token = f"{self.worker_id}:{secrets.token_hex(4)}"
        self.calls.new_pass()
        outcomes: dict[int, Outcome] = {}
        try:
            with self.queue.transaction() as session:
                rows = self.queue.claim_in(session, token, limit)
                merged = merge_rows(rows)
                batch = [r for r in merged if batchable(r)]
                for row in batch:
                    outcomes[row.id] = Outcome()
                planned = self.batch.plan(session, batch, outcomes) if batch else []
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker loop
            log.exception("deliverer: claiming due outbox rows failed")
            return stats
        stats.claimed = len(rows)
        results = self.batch.post(planned, outcomes)
        for row in merged:
            stats.merged += len(row.merged_ids)
            if row.id not in outcomes:
                outcomes[row.id] = self._carry_out(row)
        try:
            with self.queue.transaction() as session:
                self.batch.write_results(session, results)
                statuses = self.queue.finish_many(session, merged, token, outcomes)
                try:
                    with session.begin_nested():
                        stats.dead_reported = self.queue.report_dead_in(session)
                except Exception:  # noqa: BLE001
                    log.exception("deliverer: reporting dead outbox rows failed")
        except Exception:  # noqa: BLE001 - one by one, so one bad write cannot lose the others
            log.exception("deliverer: recording the pass's results failed; recording them one by one")
            self.batch.write_results_one_by_one(results)
            statuses = {}
            for row in merged:
                try:
                    statuses[row.id] = self.queue.finish(row, token, outcomes[row.id])
                except Exception:  # noqa: BLE001 - the lease brings the row back later
                    log.exception("deliverer: recording the result of outbox row %s failed", row.id)
        for row in merged:
            outcome = outcomes[row.id]
            stats.deliveries += outcome.deliveries
            self._count(stats, statuses.get(row.id), outcome)
        if stats.claimed:
            log.info("deliverer %s: %s", self.worker_id, stats)
        return stats

    def _carry_out(self, row: ClaimedRow) -> Outcome:
        try:
            return self.operations.process(row)
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
            log.exception("deliverer: outbox row %s (%s) failed unexpectedly", row.id, row.kind)
            return Outcome(error=f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _count(stats: DeliveryStats, status: str | None, outcome: Outcome) -> None:
        if status is None:
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
