"""The outbox queue's mechanics, apart from what a row asks for: claim due rows, mark each one's fate
(sent, skipped, failed with exponential backoff and jitter, waiting, dead), tell a row waiting for
another when to look again, and report dead letters to the admins in one message per batch.

Claiming takes up to `limit` due rows in one short transaction — `status` pending / failed (due again) /
sending (a claim whose lease ran out: its worker died) — with `SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL, so any number of workers share the load without doubles. A claimed row is "sending",
carries the pass's claim token and a lease (next_attempt_at = now + lease).
"""
from __future__ import annotations

import logging
import random
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from cards.builders.nudges import DeadRow, dead_letter_card
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.models import OutboxMessage, User
from crm_core.outbox import enqueue
from crm_core.services.users import locale_of

log = logging.getLogger("chatcrm.deliverer")

DUE_STATUSES = ("pending", "failed", "sending")
OPEN_STATUSES = DUE_STATUSES
DEAD_KIND = "outbox.dead"


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 8
    base_delay: float = 10.0  # seconds before the first retry; doubles each attempt
    max_delay: float = 1800.0
    jitter: float = 0.5  # this share of each backoff step is random (spreads retries of a failed batch)
    lease: float = 300.0  # a claimed row comes back if its worker has not finished it by then
    swarm_wait: float = 2.0  # a row waiting for another one (its swarm channel, the message it updates)
    # A platform that failed ambiguously (timeout, 5xx, dropped connection) this many times in a row in
    # one pass is left alone for `platform_pause` seconds: the rest of the pass does not queue up behind
    # it one timeout after another (those rows wait; it is not counted as an attempt).
    ambiguous_in_a_row: int = 3
    platform_pause: float = 30.0


@dataclass
class Outcome:
    """What carrying out a row came to; `OutboxQueue.finish` turns it into the row's status."""

    error: str | None = None  # transient failure: retry with backoff
    permanent: str | None = None  # retrying cannot help: dead now
    skipped: str | None = None  # nothing to do (no channel, record gone, …)
    wait_until: datetime | None = None  # paced / throttled / waiting: not an attempt
    wait_reason: str | None = None
    deliveries: int = 0

    def wait(self, until: datetime, reason: str) -> None:
        """Some target must wait: the row comes back at the earliest such time (the others re-check then)."""
        if self.wait_until is None or until < self.wait_until:
            self.wait_until = until
            self.wait_reason = reason


@dataclass
class ClaimedRow:
    """A claimed outbox row, detached from any session."""

    id: int
    op: str
    kind: str
    target_type: str
    target_id: int | None
    record_type: str | None
    record_id: int | None
    ref_key: str | None
    payload: dict[str, Any]
    attempts: int
    merged_ids: list[int] = field(default_factory=list)  # rows delivered inside this one's message
    dedupe_key: str = ""


class OutboxQueue:
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, config: Config,
                 policy: DeliveryPolicy, rng: random.Random) -> None:
        self.factory = session_factory
        self.clock = clock
        self.config = config
        self.policy = policy
        self.rng = rng

    def transaction(self) -> AbstractContextManager[Session]:
        """One of the deliverer's two transactions of a pass (claim and plan; results and statuses)."""
        return self.factory.begin()

    def claim(self, token: str, limit: int) -> list[ClaimedRow]:
        with self.factory.begin() as session:
            return self.claim_in(session, token, limit)

    def claim_in(self, session: Session, token: str, limit: int) -> list[ClaimedRow]:
        """`claim` inside the caller's transaction (the deliverer's first transaction of a pass)."""
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.policy.lease)
        due = (select(OutboxMessage.id)
               .where(OutboxMessage.status.in_(DUE_STATUSES), OutboxMessage.next_attempt_at <= now)
               .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
               .with_for_update(skip_locked=True))
        ids = list(session.scalars(due))
        if not ids:
            return []
        # Write-guarded: a row another worker took meanwhile (SQLite has no row locks) is not ours.
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.id.in_(ids), OutboxMessage.status.in_(DUE_STATUSES),
                               OutboxMessage.next_attempt_at <= now)
                        .values(status="sending", claimed_by=token, next_attempt_at=lease_until)
                        .execution_options(synchronize_session=False))
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids),
                                                           OutboxMessage.claimed_by == token)
                               .order_by(OutboxMessage.id)).all()
        order = {i: n for n, i in enumerate(ids)}
        return sorted((ClaimedRow(id=r.id, op=r.op, kind=r.kind, target_type=r.target_type,
                                  target_id=r.target_id, record_type=r.record_type, record_id=r.record_id,
                                  ref_key=r.ref_key, payload=dict(r.payload or {}), attempts=r.attempts,
                                  dedupe_key=r.dedupe_key)
                       for r in rows), key=lambda r: order[r.id])

    def ready_at(self, session: Session, now: datetime, *conditions: Any) -> datetime | None:
        """When a row waiting for another (still open) outbox row should look again; None: no such row."""
        other = session.execute(select(OutboxMessage.status, OutboxMessage.next_attempt_at)
                                .where(*conditions, OutboxMessage.status.in_(OPEN_STATUSES))
                                .order_by(OutboxMessage.next_attempt_at).limit(1)).first()
        if other is None:
            return None
        soon = now + timedelta(seconds=self.policy.swarm_wait)
        status, next_at = other
        # "sending": being delivered right now (its next_attempt_at is only the claim's lease).
        return soon if status == "sending" else max(soon, next_at)

    # --- the row's fate --------------------------------------------------------------------------------

    def finish(self, row: ClaimedRow, token: str, outcome: Outcome) -> str:
        with self.factory.begin() as session:
            return self.finish_in(session, row, token, outcome)

    def finish_in(self, session: Session, row: ClaimedRow, token: str, outcome: Outcome) -> str:
        """`finish` inside the caller's transaction."""
        return self.finish_many(session, [row], token, {row.id: outcome})[row.id]

    def finish_many(self, session: Session, rows: list[ClaimedRow], token: str,
                    outcomes: dict[int, Outcome]) -> dict[int, str]:
        """Every row's fate in a few executemany UPDATEs (one per set of columns written), whatever the number
        of rows; each only while the row is still ours (claimed_by = token). Returns each row's status."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        statuses: dict[int, str] = {}
        for row in rows:
            values = self._values(row, outcomes[row.id])
            statuses[row.id] = str(values["status"])
            updates = [(row.id, values)]
            if row.merged_ids:
                merged = dict(values)
                if merged["status"] == "sent":
                    merged["last_error"] = f"merged into outbox row {row.id}"
                updates += [(i, merged) for i in row.merged_ids]
            for row_id, vals in updates:
                groups.setdefault(tuple(sorted(vals)), []).append(
                    {"_id": row_id, "_token": token, **{f"_v_{k}": v for k, v in vals.items()}})
        table = OutboxMessage.__table__
        expected = changed = 0
        for columns, params in groups.items():
            stmt = (update(table).where(table.c.id == bindparam("_id"), table.c.claimed_by == bindparam("_token"))
                    .values({c: bindparam(f"_v_{c}") for c in columns}))
            result = session.connection().execute(stmt, params)
            expected += len(params)
            count = getattr(result, "rowcount", -1)
            changed += count if isinstance(count, int) and count >= 0 else len(params)  # -1: the driver did not say
        if changed < expected:
            log.warning("deliverer: %d outbox rows were reclaimed by another worker before we finished",
                        expected - changed)
        return statuses

    def _values(self, row: ClaimedRow, outcome: Outcome) -> dict[str, Any]:
        now = self.clock.now()
        attempts = row.attempts
        values: dict[str, Any]
        if outcome.permanent:
            attempts += 1
            values = {"status": "dead", "last_error": outcome.permanent[:2000], "next_attempt_at": now}
        elif outcome.error:
            attempts += 1
            if attempts >= self.policy.max_attempts:
                values = {"status": "dead", "last_error": outcome.error[:2000], "next_attempt_at": now}
            else:
                retry_at = now + timedelta(seconds=self.backoff(attempts))
                if outcome.wait_until is not None and outcome.wait_until > retry_at:
                    retry_at = outcome.wait_until
                values = {"status": "failed", "last_error": outcome.error[:2000], "next_attempt_at": retry_at}
        elif outcome.wait_until is not None:
            values = {"status": "failed" if attempts else "pending", "next_attempt_at": outcome.wait_until,
                      "last_error": (outcome.wait_reason or "waiting")[:2000]}
        elif outcome.skipped:
            values = {"status": "skipped", "last_error": outcome.skipped[:2000], "next_attempt_at": now}
        else:
            values = {"status": "sent", "sent_at": now, "next_attempt_at": now}
        values["attempts"] = attempts
        values["claimed_by"] = None
        return values

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter: base × 2^(attempts−1), capped, of which `jitter` is random."""
        step = min(self.policy.max_delay, self.policy.base_delay * (2 ** max(0, attempts - 1)))
        random_part = step * self.policy.jitter
        return step - random_part + self.rng.uniform(0, random_part)

    # --- dead letters ----------------------------------------------------------------------------------

    def report_dead(self) -> int:
        """One admin message listing the rows that died since the last report (not one per row)."""
        with self.factory.begin() as session:
            return self.report_dead_in(session)

    def report_dead_in(self, session: Session) -> int:
        """`report_dead` inside the caller's transaction."""
        now = self.clock.now()
        dead = list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.status == "dead", OutboxMessage.dead_reported_at.is_(None))
            .order_by(OutboxMessage.id).limit(200).with_for_update(skip_locked=True)))
        if not dead:
            return 0
        for row in dead:
            row.dead_reported_at = now
        reportable = [r for r in dead if r.kind != DEAD_KIND]
        for row in dead:
            if row.kind == DEAD_KIND:
                log.error("deliverer: the dead-letter report %s itself could not be delivered: %s",
                          row.id, row.last_error)
        if not reportable:
            return 0
        admins = list(session.scalars(select(User).where(User.role == "admin", User.active.is_(True))
                                      .order_by(User.id)))
        views = [DeadRow(id=r.id, kind=r.kind, target=f"{r.target_type}:{r.target_id}", attempts=r.attempts,
                         error=r.last_error or "") for r in reportable]
        if not admins:
            log.error("deliverer: %d outbox rows are dead and there is no admin to tell: %s",
                      len(views), [v.id for v in views])
            return 0
        batch = f"{reportable[0].id}-{reportable[-1].id}:{len(reportable)}"
        for admin in admins:
            card = dead_letter_card(locale_of(admin, self.config), views, self.policy.max_attempts)
            enqueue(session, dedupe_key=f"outbox-dead:{batch}:{admin.id}", kind=DEAD_KIND, target_type="user",
                    target_id=admin.id, payload=card.to_dict(), now=now)
        log.error("deliverer: %d outbox rows are dead (reported to %d admins): %s", len(views), len(admins),
                  [v.id for v in views])
        return len(reportable)
