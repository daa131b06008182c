"""The outbox deliverer: takes due outbox rows and carries them out through the platform `Messenger`s.

One pass (`deliver_due`):
1. Claim up to `limit` due rows in one short transaction — `status` pending / failed (due again) /
   sending (a claim whose lease ran out: its worker died) — with `SELECT … FOR UPDATE SKIP LOCKED` on
   PostgreSQL, so any number of workers share the load without doubles. A claimed row is "sending",
   carries the pass's claim token and a lease (next_attempt_at = now + lease).
2. For each row, outside any transaction: resolve who or where it goes, take a pacing slot
   (scheduler.pacing), call the messenger, and record each delivery (`SentMessage`) right away, so a
   retry never reaches the same recipient twice.
3. Mark the row in a short transaction: sent, skipped, failed (attempts, last_error, next_attempt_at
   with exponential backoff and jitter), waiting (paced, 429 Retry-After, or its swarm channel is
   still being created — not counted as an attempt) or dead (after `max_attempts`, or a permanent
   error). Dead rows are reported to the admins in one message per batch.

It never raises out of the loop: every failure is logged and recorded on its row.

At most one copy (messengers with `find_sent_now`, i.e. Slack): before a post, the delivery is written as
"unsure" (a `SentMessage` with extra {"unsure": true, "first_at": …}, no ref_key yet); the post carries
a `SendTag` (outbox id + dedupe key). Success confirms that record; a definite failure (a clean Slack
error, 429) marks it "clean"; an ambiguous one (timeout, 5xx, dropped connection) leaves it unsure, and the
next attempt first looks for the tagged message in the channel's history (since the first attempt): found
→ recorded as sent, not posted again; the look-up fails → retried later, never posted blindly. The
record lives in the database, so this holds across worker restarts.
"""
from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cards.builders.nudges import DeadRow, dead_letter_card, merged_card
from cards.model import Card
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.db import read_only
from crm_core.models import Deal, OutboxMessage, SentMessage, Swarm, Ticket, User
from crm_core.outbox import enqueue
from crm_core.services.users import locale_of
from handlers.ports import DeliveryError, Messenger, PlatformRef, Recipient, SendTag
from crm_core.pacing import Pacer
from scheduler.swarms import build_swarm_spec, swarm_platforms

__all__ = ["DeliveryPolicy", "DeliveryStats", "Deliverer", "build_swarm_spec", "choose_recipient", "deliver_due"]

log = logging.getLogger("chatcrm.deliverer")

DUE_STATUSES = ("pending", "failed", "sending")
OPEN_STATUSES = DUE_STATUSES
DEAD_KIND = "outbox.dead"
# Kinds whose rows to one person within a minute may go out as one message.
MERGEABLE_PREFIXES = ("nudge.", "digest.", "tasks.")


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


@dataclass
class _Outcome:
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
class _Row:
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


def deliver_due(session_factory: sessionmaker[Session], messengers: Mapping[str, Messenger], clock: Clock,
                config: Config, *, limit: int = 100, policy: DeliveryPolicy | None = None,
                worker_id: str | None = None, rng: random.Random | None = None) -> DeliveryStats:
    """Deliver every due outbox row once (one pass). Never raises."""
    return Deliverer(session_factory, messengers, clock, config, policy=policy, worker_id=worker_id,
                     rng=rng).run_once(limit=limit)


def choose_recipient(user: User, available: Iterable[str], config: Config) -> Recipient | None:
    """Exactly one place per person: their chat identities that have a messenger; with both Slack and
    WeCom, their primary platform (else Slack); with none, the console. None when not even that exists."""
    available = set(available)
    chat = {i.platform: i for i in user.identities if i.platform in available and i.platform != "console"}
    idents = {p: i.external_id for p, i in chat.items()}
    locale = locale_of(user, config)
    if idents:
        if user.primary_platform in idents:
            platform = user.primary_platform
        else:
            platform = next((p for p in ("slack", "wecom") if p in idents), sorted(idents)[0])
        return Recipient(user_id=user.id, platform=platform, external_id=idents[platform], locale=locale,
                         team=chat[platform].team)
    if "console" in available:
        return Recipient(user_id=user.id, platform="console", external_id=user.key, locale=locale)
    return None


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
        self._held: dict[tuple[str, str], datetime] = {}  # keys known to be waiting, this pass
        self._streak: dict[str, int] = {}  # ambiguous failures in a row, per platform, this pass
        self._paused: dict[str, datetime] = {}  # platforms left alone until then, this pass

    # --- one pass --------------------------------------------------------------------------------------

    def run_once(self, *, limit: int = 100) -> DeliveryStats:
        stats = DeliveryStats()
        token = f"{self.worker_id}:{secrets.token_hex(4)}"
        self._held = {}
        self._streak = {}
        self._paused = {}
        try:
            rows = self._claim(token, limit)
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker loop
            log.exception("deliverer: claiming due outbox rows failed")
            return stats
        stats.claimed = len(rows)
        for row in self._merge(rows):
            stats.merged += len(row.merged_ids)
            self._deliver_row(row, token, stats)
        try:
            stats.dead_reported = self.report_dead()
        except Exception:  # noqa: BLE001
            log.exception("deliverer: reporting dead outbox rows failed")
        if stats.claimed:
            log.info("deliverer %s: %s", self.worker_id, stats)
        return stats

    def _deliver_row(self, row: _Row, token: str, stats: DeliveryStats) -> None:
        try:
            outcome = self._process(row)
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
            log.exception("deliverer: outbox row %s (%s) failed unexpectedly", row.id, row.kind)
            outcome = _Outcome(error=f"{type(exc).__name__}: {exc}")
        stats.deliveries += outcome.deliveries
        try:
            status = self._finish(row, token, outcome)
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

    # --- claiming --------------------------------------------------------------------------------------

    def _claim(self, token: str, limit: int) -> list[_Row]:
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.policy.lease)
        with self.factory.begin() as session:
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
            return sorted((_Row(id=r.id, op=r.op, kind=r.kind, target_type=r.target_type, target_id=r.target_id,
                                record_type=r.record_type, record_id=r.record_id, ref_key=r.ref_key,
                                payload=dict(r.payload or {}), attempts=r.attempts, dedupe_key=r.dedupe_key)
                           for r in rows), key=lambda r: order[r.id])

    def _merge(self, rows: list[_Row]) -> list[_Row]:
        """Nudges and digests to one person claimed in the same pass go out as one message."""
        groups: dict[int, list[_Row]] = {}
        out: list[_Row] = []
        for row in rows:
            if (row.op == "send" and row.target_type == "user" and row.target_id is not None and not row.ref_key
                    and row.kind.startswith(MERGEABLE_PREFIXES) and row.attempts == 0):
                groups.setdefault(row.target_id, []).append(row)
            else:
                out.append(row)
        for group in groups.values():
            if len(group) == 1:
                out.append(group[0])
                continue
            try:
                cards = [Card.from_dict(r.payload) for r in group]
            except (KeyError, TypeError, ValueError):
                out.extend(group)  # a bad payload goes on its own (and fails on its own)
                continue
            first = group[0]
            first.payload = merged_card(cards[0].locale, cards).to_dict()
            first.merged_ids = [r.id for r in group[1:]]
            out.append(first)
        return sorted(out, key=lambda r: r.id)

    # --- one row ---------------------------------------------------------------------------------------

    def _process(self, row: _Row) -> _Outcome:
        if row.op == "send":
            if row.target_type == "swarm":
                return self._send_to_swarm(row)
            return self._send_to_people(row)
        if row.op == "update":
            return self._update(row)
        if row.op == "swarm.create":
            return self._create_swarm(row)
        if row.op == "swarm.archive":
            return self._archive_swarm(row)
        return _Outcome(permanent=f"unknown outbox op {row.op!r}")

    def _card(self, row: _Row) -> Card:
        try:
            return Card.from_dict(row.payload)
        except (KeyError, TypeError, ValueError) as exc:
            raise DeliveryError(f"payload is not a card: {exc}", permanent=True) from exc

    def _done(self, session: Session, row: _Row) -> list[SentMessage]:
        """The row's confirmed deliveries (not the "unsure" records of posts whose answer was lost)."""
        return [s for s in self._records(session, row) if not _unsure_record(s)]

    def _records(self, session: Session, row: _Row) -> list[SentMessage]:
        return list(session.scalars(select(SentMessage).where(SentMessage.outbox_id == row.id)
                                    .order_by(SentMessage.id)))

    def _send_to_people(self, row: _Row) -> _Outcome:
        outcome = _Outcome()
        card = self._card(row)
        with read_only(self.factory)() as session:
            if row.target_type == "user":
                user = session.get(User, row.target_id) if row.target_id is not None else None
                if user is None or not user.active:
                    return _Outcome(skipped=f"no active user {row.target_id}")
                people = [user]
            elif row.target_type == "admins":
                people = list(session.scalars(select(User).where(User.role == "admin", User.active.is_(True))
                                              .order_by(User.id)))
                if not people:
                    return _Outcome(skipped="no active admin")
            else:
                return _Outcome(permanent=f"unknown target type {row.target_type!r}")
            records = self._records(session, row)
            done = {s.recipient_user_id for s in records if not _unsure_record(s)}
            unsure = {s.recipient_user_id: _Pending.of(s) for s in records if _unsure_record(s)}
            todo = [(u, choose_recipient(u, self.messengers, self.config)) for u in people if u.id not in done]
        for person, recipient in todo:
            if recipient is None:
                outcome.error = f"no messenger can reach {person.key}"
                continue
            messenger = self.messengers[recipient.platform]
            if _can_find(messenger):
                self._attempt_once(outcome, row, messenger, recipient.external_id, unsure.get(person.id),
                                   lambda tag, m=messenger, r=recipient: m.send_now(r, card, tag=tag),  # type: ignore[call-arg]
                                   recipient_user_id=recipient.user_id, team=recipient.team)
                continue
            self._attempt(outcome, recipient.platform, recipient.external_id,
                          lambda m=messenger, r=recipient: m.send_now(r, card),
                          lambda ref, r=recipient: self._record(row, ref, recipient_user_id=r.user_id,
                                                                ref_key=row.ref_key))
        return outcome

    def _send_to_swarm(self, row: _Row) -> _Outcome:
        card = self._card(row)
        now = self.clock.now()
        with read_only(self.factory)() as session:
            swarms = list(session.scalars(select(Swarm).where(
                Swarm.record_type == row.record_type, Swarm.record_id == row.record_id,
                Swarm.archived_at.is_(None)).order_by(Swarm.id)))
            if not swarms:
                creating = self._ready_at(session, now, OutboxMessage.op == "swarm.create",
                                          OutboxMessage.record_type == row.record_type,
                                          OutboxMessage.record_id == row.record_id)
                if creating is None:
                    return _Outcome(skipped=f"{row.record_type} {row.record_id} has no swarm channel")
                outcome = _Outcome()
                outcome.wait(creating, "its swarm channel is still being created")
                return outcome
            records = self._records(session, row)
            done = {(s.platform, s.channel) for s in records if not _unsure_record(s)}
            unsure = {(s.platform, s.channel): _Pending.of(s) for s in records if _unsure_record(s)}
        outcome = _Outcome()
        for swarm in swarms:
            if (swarm.platform, swarm.channel) in done:
                continue
            messenger = self.messengers.get(swarm.platform)
            if messenger is None:
                log.warning("deliverer: no %s messenger for swarm channel %s; row %s skips it",
                            swarm.platform, swarm.channel, row.id)
                continue
            if _can_find(messenger):
                self._attempt_once(outcome, row, messenger, swarm.channel, unsure.get((swarm.platform, swarm.channel)),
                                   lambda tag, m=messenger, ch=swarm.channel: m.post_swarm_now(ch, card, tag=tag))  # type: ignore[call-arg]
                continue
            self._attempt(outcome, swarm.platform, swarm.channel,
                          lambda m=messenger, ch=swarm.channel: m.post_swarm_now(ch, card),
                          lambda ref: self._record(row, ref, ref_key=row.ref_key))
        return outcome

    def _update(self, row: _Row) -> _Outcome:
        card = self._card(row)
        now = self.clock.now()
        with read_only(self.factory)() as session:
            earlier = self._ready_at(session, now, OutboxMessage.ref_key == row.ref_key, OutboxMessage.op == "send",
                                     OutboxMessage.id < row.id) if row.ref_key else None
            if earlier is not None:
                outcome = _Outcome()
                outcome.wait(earlier, "the message it updates is not delivered yet")
                return outcome
            targets = list(session.scalars(select(SentMessage).where(SentMessage.ref_key == row.ref_key)
                                           .order_by(SentMessage.id))) if row.ref_key else []
            done = {int(s.extra.get("updates", 0)) for s in self._done(session, row)}
        if not targets:
            if row.target_type in ("user", "admins"):
                return self._send_to_people(row)  # nothing to replace: the new card goes out as a message
            return _Outcome(skipped=f"no delivered message with ref_key {row.ref_key!r}")
        outcome = _Outcome()
        for target in targets:
            if target.id in done:
                continue
            messenger = self.messengers.get(target.platform)
            if messenger is None:
                log.warning("deliverer: no %s messenger to update message %s", target.platform, target.id)
                continue
            ref = PlatformRef(platform=target.platform, channel=target.channel, message_ref=target.message_ref,
                              extra=dict(target.extra or {}))
            self._attempt(outcome, target.platform, target.channel or "-",
                          lambda m=messenger, r=ref: m.update_now(r, card),
                          lambda new, t=target: self._record_update(row, t.id, new))
        return outcome

    def _create_swarm(self, row: _Row) -> _Outcome:
        assert row.record_type is not None and row.record_id is not None
        now = self.clock.now()
        with read_only(self.factory)() as session:
            owner = _record_owner(session, row.record_type, row.record_id)
            if owner is None:
                return _Outcome(skipped=f"{row.record_type} {row.record_id} does not exist")
            existing = set(session.scalars(select(Swarm.platform).where(
                Swarm.record_type == row.record_type, Swarm.record_id == row.record_id)))
            platforms = [p for p in swarm_platforms(owner, set(self.messengers)) if p not in existing]
            specs = {p: build_swarm_spec(session, self.config, row.record_type, row.record_id, platform=p, now=now)
                     for p in platforms}
        outcome = _Outcome()
        for platform, spec in specs.items():
            messenger = self.messengers[platform]
            self._attempt(outcome, platform, f"create:{spec.ref}", lambda m=messenger, s=spec: m.create_swarm_now(s),
                          lambda ref, p=platform, s=spec: self._record_swarm(row, p, s.title, ref), paced=False)
        return outcome

    def _archive_swarm(self, row: _Row) -> _Outcome:
        outcome = _Outcome()
        with read_only(self.factory)() as session:
            swarms = list(session.scalars(select(Swarm).where(
                Swarm.record_type == row.record_type, Swarm.record_id == row.record_id,
                Swarm.archived_at.is_(None)).order_by(Swarm.id)))
            creating = self._ready_at(session, self.clock.now(), OutboxMessage.op == "swarm.create",
                                      OutboxMessage.record_type == row.record_type,
                                      OutboxMessage.record_id == row.record_id)
        if creating is not None:
            outcome.wait(creating, "the swarm channel to archive is still being created")
            return outcome
        for swarm in swarms:
            messenger = self.messengers.get(swarm.platform)
            if messenger is None:
                continue

            def archive(m: Messenger = messenger, ch: str = swarm.channel) -> PlatformRef:
                m.archive_swarm_now(ch)
                return PlatformRef(platform=m.platform, channel=ch)

            self._attempt(outcome, swarm.platform, swarm.channel, archive,
                          lambda ref, sid=swarm.id: self._mark_archived(sid), paced=False)
        return outcome

    def _ready_at(self, session: Session, now: datetime, *conditions: Any) -> datetime | None:
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

    # --- talking to a platform -------------------------------------------------------------------------

    def _attempt(self, outcome: _Outcome, platform: str, target: str, call: Callable[[], PlatformRef],
                 record: Callable[[PlatformRef], None], *, paced: bool = True) -> None:
        """One messenger call for one recipient / channel, paced; the result is folded into `outcome`."""
        now = self.clock.now()
        paused = self._paused.get(platform)
        if paused is not None and paused > now:
            outcome.wait(paused, f"{platform} failed {self.policy.ambiguous_in_a_row} times in a row without an "
                                 f"answer; trying again later")
            return
        if paced:
            held = self._held.get((platform, target))
            wait = held if held is not None and held > now else self.pacer.reserve(platform, target, now)
            if wait is not None:
                self._held[(platform, target)] = wait
                outcome.wait(wait, f"paced: {platform}:{target}")
                return
        try:
            ref = call()
        except DeliveryError as exc:
            if exc.permanent:
                outcome.permanent = f"{platform}:{target}: {exc}"
            elif exc.retry_after is not None:
                until = now + timedelta(seconds=max(0.0, float(exc.retry_after)))
                self.pacer.block(platform, target, until)
                self._held[(platform, target)] = until
                outcome.wait(until, f"{platform}:{target}: asked to wait {exc.retry_after}s: {exc}")
            else:
                outcome.error = f"{platform}:{target}: {exc}"
            if exc.ambiguous:
                self._streak[platform] = self._streak.get(platform, 0) + 1
                if self._streak[platform] >= self.policy.ambiguous_in_a_row:
                    self._paused[platform] = self.clock.now() + timedelta(seconds=self.policy.platform_pause)
                    log.warning("deliverer: %s failed %d times in a row; leaving it alone for %ss", platform,
                                self._streak[platform], self.policy.platform_pause)
            else:
                self._streak[platform] = 0
            log.warning("deliverer: %s %s: %s", platform, target, exc)
            return
        except Exception as exc:  # noqa: BLE001 - a messenger bug is a failed attempt, not a crash
            log.exception("deliverer: %s messenger raised for %s", platform, target)
            outcome.error = f"{platform}:{target}: {type(exc).__name__}: {exc}"
            return
        self._streak[platform] = 0
        outcome.deliveries += 1
        record(ref)

    def _attempt_once(self, outcome: _Outcome, row: _Row, messenger: Messenger, target: str,
                      pending: "_Pending | None", post: Callable[[SendTag], PlatformRef], *,
                      recipient_user_id: int | None = None, team: str | None = None) -> None:
        """`_attempt` for a messenger that tags its posts: at most one copy reaches `target` (see the top)."""
        platform = messenger.platform
        tag = SendTag(outbox_id=row.id, key=row.dedupe_key or f"outbox:{row.id}")
        held: dict[str, int] = {}

        def call() -> PlatformRef:
            if pending is not None and pending.unsure:
                try:
                    found = messenger.find_sent_now(pending.channel or target, tag, pending.first_at,  # type: ignore[attr-defined]
                                                    team or pending.team)
                except DeliveryError as exc:
                    raise DeliveryError(f"could not check whether an earlier attempt arrived: {exc}",
                                        retry_after=exc.retry_after, ambiguous=exc.ambiguous) from exc
                if found is not None:
                    log.info("deliverer: row %s was already in %s %s (its answer was lost); not posting again",
                             row.id, platform, found.channel)
                    held["id"] = pending.id
                    return found
            held["id"] = self._mark_unsure(row, pending, platform, target, recipient_user_id, team)
            try:
                return post(tag)
            except DeliveryError as exc:
                if not exc.ambiguous:
                    self._mark_clean(held["id"])
                raise

        self._attempt(outcome, platform, target, call,
                      lambda ref: self._confirm(held["id"], ref, ref_key=row.ref_key))

    def _mark_unsure(self, row: _Row, pending: "_Pending | None", platform: str, target: str,
                     recipient_user_id: int | None, team: str | None) -> int:
        """Written before the post: a delivery whose outcome is not known yet, and since when."""
        now = self.clock.now()
        with self.factory.begin() as session:
            record = session.get(SentMessage, pending.id) if pending is not None else None
            if record is None:
                extra: dict[str, Any] = {"unsure": True, "first_at": now.isoformat()}
                if team:
                    extra["team"] = team
                record = SentMessage(outbox_id=row.id, ref_key=None, platform=platform, channel=target[:128],
                                     message_ref=None, extra=extra, at=now, recipient_user_id=recipient_user_id)
                session.add(record)
            else:
                record.extra = {**(record.extra or {}), "unsure": True}
            session.flush()
            return int(record.id)

    def _mark_clean(self, sent_id: int) -> None:
        """A definite failure: nothing was posted, the next attempt need not look."""
        with self.factory.begin() as session:
            record = session.get(SentMessage, sent_id)
            if record is not None:
                record.extra = {**(record.extra or {}), "unsure": False}

    def _confirm(self, sent_id: int, ref: PlatformRef, *, ref_key: str | None) -> None:
        values: dict[str, Any] = {"message_ref": ref.message_ref, "ref_key": ref_key, "extra": dict(ref.extra or {}),
                                  "at": self.clock.now()}
        if ref.channel:
            values["channel"] = ref.channel
        with self.factory.begin() as session:
            session.execute(update(SentMessage).where(SentMessage.id == sent_id).values(**values)
                            .execution_options(synchronize_session=False))

    def _record(self, row: _Row, ref: PlatformRef, *, recipient_user_id: int | None = None,
                ref_key: str | None = None) -> None:
        with self.factory.begin() as session:
            session.add(SentMessage(outbox_id=row.id, ref_key=ref_key, platform=ref.platform, channel=ref.channel,
                                    message_ref=ref.message_ref, extra=dict(ref.extra or {}), at=self.clock.now(),
                                    recipient_user_id=recipient_user_id))

    def _record_update(self, row: _Row, sent_id: int, ref: PlatformRef) -> None:
        with self.factory.begin() as session:
            original = session.get(SentMessage, sent_id)
            if original is not None:
                original.channel = ref.channel or original.channel
                original.message_ref = ref.message_ref or original.message_ref
                if ref.extra:
                    original.extra = {**(original.extra or {}), **ref.extra}
            session.add(SentMessage(outbox_id=row.id, ref_key=None, platform=ref.platform, channel=ref.channel,
                                    message_ref=ref.message_ref, extra={"updates": sent_id}, at=self.clock.now(),
                                    recipient_user_id=original.recipient_user_id if original else None))

    def _record_swarm(self, row: _Row, platform: str, name: str, ref: PlatformRef) -> None:
        assert row.record_type is not None and row.record_id is not None
        try:
            with self.factory.begin() as session:
                # The platform's own name for the channel (Slack: deal-7-acme-expansion) when it says one.
                channel_name = str((ref.extra or {}).get("name") or name)
                session.add(Swarm(record_type=row.record_type, record_id=row.record_id, platform=platform,
                                  channel=ref.channel or "", name=channel_name[:200], created_at=self.clock.now()))
                session.add(SentMessage(outbox_id=row.id, ref_key=None, platform=platform, channel=ref.channel,
                                        message_ref=ref.message_ref, extra=dict(ref.extra or {}),
                                        at=self.clock.now()))
        except IntegrityError:
            log.warning("deliverer: %s already has a %s swarm channel (row %s)", row.record_id, platform, row.id)

    def _mark_archived(self, swarm_id: int) -> None:
        with self.factory.begin() as session:
            swarm = session.get(Swarm, swarm_id)
            if swarm is not None:
                swarm.archived_at = self.clock.now()

    # --- the row's fate --------------------------------------------------------------------------------

    def _finish(self, row: _Row, token: str, outcome: _Outcome) -> str:
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
        with self.factory.begin() as session:
            result = session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id,
                                                                 OutboxMessage.claimed_by == token)
                                     .values(**values).execution_options(synchronize_session=False))
            if not getattr(result, "rowcount", 1):
                log.warning("deliverer: outbox row %s was reclaimed by another worker before we finished", row.id)
            if row.merged_ids:
                merged = dict(values)
                if merged["status"] == "sent":
                    merged["last_error"] = f"merged into outbox row {row.id}"
                session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(row.merged_ids),
                                                            OutboxMessage.claimed_by == token)
                                .values(**merged).execution_options(synchronize_session=False))
        return str(values["status"])

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter: base × 2^(attempts−1), capped, of which `jitter` is random."""
        step = min(self.policy.max_delay, self.policy.base_delay * (2 ** max(0, attempts - 1)))
        random_part = step * self.policy.jitter
        return step - random_part + self.rng.uniform(0, random_part)

    # --- dead letters ----------------------------------------------------------------------------------

    def report_dead(self) -> int:
        """One admin message listing the rows that died since the last report (not one per row)."""
        now = self.clock.now()
        with self.factory.begin() as session:
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


@dataclass(frozen=True)
class _Pending:
    """A delivery recorded before its post, whose outcome was not confirmed."""

    id: int
    channel: str | None
    first_at: datetime
    unsure: bool
    team: str | None

    @classmethod
    def of(cls, record: SentMessage) -> "_Pending":
        extra = record.extra or {}
        try:
            first_at = datetime.fromisoformat(str(extra.get("first_at")))
        except ValueError:
            first_at = record.at
        if first_at.tzinfo is None:
            first_at = first_at.replace(tzinfo=timezone.utc)
        return cls(id=record.id, channel=record.channel, first_at=first_at, unsure=bool(extra.get("unsure")),
                   team=extra.get("team"))


def _unsure_record(record: SentMessage) -> bool:
    """Recorded before a post and not confirmed since ("unsure": true, or false after a clean failure)."""
    return "unsure" in (record.extra or {})


def _can_find(messenger: Messenger) -> bool:
    return callable(getattr(messenger, "find_sent_now", None))


def _record_owner(session: Session, record_type: str | None, record_id: int | None) -> User | None:
    model = {"deal": Deal, "ticket": Ticket}.get(record_type or "")
    if model is None or record_id is None:
        return None
    record = session.get(model, record_id)
    return None if record is None else record.owner  # type: ignore[attr-defined, no-any-return]
