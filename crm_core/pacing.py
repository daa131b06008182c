"""Pace sends to each platform's published limits instead of hitting them.

- Slack: about one message per second per channel (`chat.postMessage`).
- WeCom: at most 30 per minute and 1 000 per hour per member — WeCom silently drops the excess, so
  over-sending loses messages without an error.

State lives in the database (`delivery_pacing`, `delivery_log`), so any number of workers share one
budget per recipient. A send that would break a limit is not made: the caller leaves the outbox row
waiting until the returned time. A platform's "wait" answer (HTTP 429 Retry-After, WeCom 45009)
blocks only that recipient / channel (`block`); other recipients keep flowing.

Why here: two rooms spend the same budget — the outbox deliverer (scheduler/) and the WeCom adapter's
immediate replies (bot/wecom/inbound.py). Both may import crm_core, neither should reach into the
other (scheduler never imports bot; an adapter importing the scheduler for a transport limit reads
backwards). Like crm_core.outbox and crm_core.inbox, this is delivery bookkeeping over tables crm_core
owns (`delivery_pacing`, `delivery_log`), taking a session factory and using short transactions of its
own; it calls no platform and knows a platform only by its name and published limits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db import insert_or_skip
from crm_core.models import DeliveryLogEntry, DeliveryPacing


@dataclass(frozen=True)
class Rule:
    min_interval: float = 0.0  # seconds between two sends to the same key
    windows: tuple[tuple[int, int], ...] = ()  # (window seconds, max sends in any such window)


RULES: dict[str, Rule] = {
    "slack": Rule(min_interval=1.0),
    "wecom": Rule(windows=((60, 30), (3600, 1000))),
}
LOG_KEEP = timedelta(hours=1, minutes=5)


def pacing_key(platform: str, target: str) -> str:
    return f"{platform}:{target}"[:200]


class Pacer:
    def __init__(self, session_factory: sessionmaker[Session], rules: dict[str, Rule] | None = None) -> None:
        self._factory = session_factory
        self.rules = RULES if rules is None else rules

    def reserve(self, platform: str, target: str, now: datetime) -> datetime | None:
        """Take a send slot for (platform, target): None means go ahead (the send is counted);
        otherwise the earliest time a slot frees up. Unpaced platforms (console) always go ahead."""
        rule = self.rules.get(platform)
        if rule is None:
            return None
        key = pacing_key(platform, target)
        with self._factory.begin() as session:
            state = _locked_state(session, key)
            wait = _wait_until(session, state, rule, now)
            if wait is not None:
                return wait
            state.last_sent_at = now
            if rule.windows:
                session.add(DeliveryLogEntry(key=key, at=now))
        return None

    def reserve_many(self, session: Session, wanted: list[tuple[str, str]], now: datetime) -> list[datetime | None]:
        """`reserve` for a batch of sends inside the caller's transaction, one answer per entry (in order; the
        same key twice competes for its slots like two calls would). A fixed number of statements: the state
        rows of all keys locked at once (in key order, so two workers cannot deadlock), one count per
        window for the keys that have windows, the slots taken written back at the flush."""
        answers: list[datetime | None] = [None] * len(wanted)
        keyed = [(i, pacing_key(p, t), self.rules[p]) for i, (p, t) in enumerate(wanted) if p in self.rules]
        if not keyed:
            return answers
        keys = sorted({key for _, key, _ in keyed})
        session.execute(insert_or_skip(session, DeliveryPacing, on=("key",)).values([{"key": key} for key in keys]))
        states = {s.key: s for s in session.scalars(select(DeliveryPacing).where(DeliveryPacing.key.in_(keys))
                                                     .order_by(DeliveryPacing.key).with_for_update())}
        counts: dict[tuple[str, int], int] = {}
        windows = sorted({seconds for _, _, rule in keyed for seconds, _ in rule.windows})
        windowed = sorted({key for _, key, rule in keyed if rule.windows})
        for seconds in windows:
            for key, n in session.execute(select(DeliveryLogEntry.key, func.count()).where(
                    DeliveryLogEntry.key.in_(windowed), DeliveryLogEntry.at > now - timedelta(seconds=seconds))
                    .group_by(DeliveryLogEntry.key)):
                counts[(key, seconds)] = int(n)
        taken: set[str] = set()
        log_rows: list[dict[str, object]] = []
        for i, key, rule in keyed:
            state = states[key]
            full = [seconds for seconds, limit in rule.windows if counts.get((key, seconds), 0) >= limit]
            if full:
                session.flush()
                if log_rows:  # this batch's sends count in the window too
                    session.execute(sa_insert(DeliveryLogEntry), log_rows)
                    log_rows = []
                wait = _wait_until(session, state, rule, now, taken_now=key in taken)
            else:
                wait = _wait_without_windows(state, rule, now, taken_now=key in taken)
            if wait is not None:
                answers[i] = wait
                continue
            taken.add(key)
            for seconds, _ in rule.windows:
                counts[(key, seconds)] = counts.get((key, seconds), 0) + 1
            if rule.windows:
                log_rows.append({"key": key, "at": now})
        if taken:  # one UPDATE for every slot taken (the state objects are not changed: no flush per key)
            session.execute(update(DeliveryPacing).where(DeliveryPacing.key.in_(sorted(taken)))
                            .values(last_sent_at=now).execution_options(synchronize_session=False))
        if log_rows:
            session.execute(sa_insert(DeliveryLogEntry), log_rows)
        return answers

    def block(self, platform: str, target: str, until: datetime) -> None:
        """The platform asked us to wait: nothing more goes to this key before `until`."""
        with self._factory.begin() as session:
            self.block_in(session, platform, target, until)

    def block_in(self, session: Session, platform: str, target: str, until: datetime) -> None:
        """`block` inside the caller's transaction."""
        state = _locked_state(session, pacing_key(platform, target))
        if state.blocked_until is None or state.blocked_until < until:
            state.blocked_until = until

    def prune(self, now: datetime) -> int:
        """Forget sends older than the longest window."""
        with self._factory.begin() as session:
            result = session.execute(delete(DeliveryLogEntry).where(DeliveryLogEntry.at < now - LOG_KEEP))
            return int(getattr(result, "rowcount", 0) or 0)


def _locked_state(session: Session, key: str) -> DeliveryPacing:
    """The key's state row, locked (FOR UPDATE on PostgreSQL) so workers take slots one at a time."""
    session.execute(insert_or_skip(session, DeliveryPacing, on=("key",)).values(key=key))
    state = session.scalar(select(DeliveryPacing).where(DeliveryPacing.key == key).with_for_update())
    assert state is not None
    return state


def _wait_without_windows(state: DeliveryPacing, rule: Rule, now: datetime, *,
                          taken_now: bool = False) -> datetime | None:
    """The blocked / minimum-interval part of `_wait_until` (windows known to have room); `taken_now`: this
    batch took a slot of the key already (its state row is written once, at the end)."""
    if state.blocked_until is not None and state.blocked_until > now:
        return state.blocked_until
    last = now if taken_now else state.last_sent_at
    if rule.min_interval and last is not None:
        free_at = last + timedelta(seconds=rule.min_interval)
        if free_at > now:
            return free_at
    return None


def _wait_until(session: Session, state: DeliveryPacing, rule: Rule, now: datetime, *,
                taken_now: bool = False) -> datetime | None:
    early = _wait_without_windows(state, rule, now, taken_now=taken_now)
    if early is not None:
        return early
    for seconds, limit in rule.windows:
        since = now - timedelta(seconds=seconds)
        in_window = select(DeliveryLogEntry.at).where(DeliveryLogEntry.key == state.key, DeliveryLogEntry.at > since)
        count = session.scalar(select(func.count()).select_from(in_window.subquery())) or 0
        if count >= limit:
            # The window frees a slot when the limit-th most recent send leaves it.
            oldest_counted = session.scalar(in_window.order_by(DeliveryLogEntry.at.desc()).offset(limit - 1).limit(1))
            assert oldest_counted is not None
            return oldest_counted + timedelta(seconds=seconds)
    return None
