"""Talking to a platform: one messenger call for one recipient / channel, paced (crm_core.pacing),
a platform that keeps failing without an answer left alone for the rest of the pass, and — for
messengers that tag their posts (Slack) — at most one copy:

Before a post, the delivery is written as "unsure" (a `SentMessage` with extra {"unsure": true,
"first_at": …}, no ref_key yet); the post carries a `SendTag` (outbox id + dedupe key). Success confirms
that record; a definite failure (a clean Slack error, 429) marks it "clean"; an ambiguous one (timeout,
5xx, dropped connection) leaves it unsure, and the next attempt first looks for the tagged message in the
channel's history (since the first attempt): found → recorded as sent, not posted again; the look-up
fails → retried later, never posted blindly. The record lives in the database, so this holds across
worker restarts.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from crm_core.clock import Clock
from crm_core.pacing import Pacer
from handlers.ports import DeliveryError, Messenger, PlatformRef, SendTag
from scheduler.delivery.queue import ClaimedRow, DeliveryPolicy, Outcome
from scheduler.delivery.records import DeliveryRecords, Pending

log = logging.getLogger("chatcrm.deliverer")


class PlatformCalls:
    def __init__(self, clock: Clock, policy: DeliveryPolicy, pacer: Pacer, records: DeliveryRecords) -> None:
        self.clock = clock
        self.policy = policy
        self.pacer = pacer
        self.records = records
        self._held: dict[tuple[str, str], datetime] = {}  # keys known to be waiting, this pass
        self._streak: dict[str, int] = {}  # ambiguous failures in a row, per platform, this pass
        self._paused: dict[str, datetime] = {}  # platforms left alone until then, this pass

    def new_pass(self) -> None:
        self._held = {}
        self._streak = {}
        self._paused = {}

    def attempt(self, outcome: Outcome, platform: str, target: str, call: Callable[[], PlatformRef],
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
        ref, blocked, _ = self.call(outcome, platform, target, call, check_pause=False)
        if blocked is not None:
            self.pacer.block(platform, target, blocked)
        if ref is not None:
            record(ref)

    def call(self, outcome: Outcome, platform: str, target: str, call: Callable[[], PlatformRef], *,
             check_pause: bool = True) -> tuple[PlatformRef | None, datetime | None, bool]:
        """One messenger call whose pacing slot is taken: (its ref or None, until when the platform asked
        this key to wait — for the caller to record — or None, whether the call was made at all: not while
        the platform is paused). Failures are folded into `outcome`."""
        now = self.clock.now()
        if check_pause:
            paused = self._paused.get(platform)
            if paused is not None and paused > now:
                outcome.wait(paused, f"{platform} failed {self.policy.ambiguous_in_a_row} times in a row without "
                                     f"an answer; trying again later")
                return None, None, False
        blocked: datetime | None = None
        try:
            ref = call()
        except DeliveryError as exc:
            if exc.permanent:
                outcome.permanent = f"{platform}:{target}: {exc}"
            elif exc.retry_after is not None:
                blocked = now + timedelta(seconds=max(0.0, float(exc.retry_after)))
                self._held[(platform, target)] = blocked
                outcome.wait(blocked, f"{platform}:{target}: asked to wait {exc.retry_after}s: {exc}")
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
            return None, blocked, True
        except Exception as exc:  # noqa: BLE001 - a messenger bug is a failed attempt, not a crash
            log.exception("deliverer: %s messenger raised for %s", platform, target)
            outcome.error = f"{platform}:{target}: {type(exc).__name__}: {exc}"
            return None, None, True
        self._streak[platform] = 0
        outcome.deliveries += 1
        return ref, None, True

    def attempt_once(self, outcome: Outcome, row: ClaimedRow, messenger: Messenger, target: str,
                     pending: Pending | None, post: Callable[[SendTag], PlatformRef], *,
                     recipient_user_id: int | None = None, team: str | None = None) -> None:
        """`attempt` for a messenger that tags its posts: at most one copy reaches `target` (see the top)."""
        platform = messenger.platform
        tag = outbox_tag(row)
        held: dict[str, int] = {}

        def call() -> PlatformRef:
            found = find_earlier_post(messenger, platform, row, pending, target, team, tag)
            if found is not None and pending is not None:
                held["id"] = pending.id
                return found
            held["id"] = self.records.mark_unsure(row, pending, platform, target, recipient_user_id, team)
            try:
                return post(tag)
            except DeliveryError as exc:
                if not exc.ambiguous:
                    self.records.mark_clean(held["id"])
                raise

        self.attempt(outcome, platform, target, call,
                     lambda ref: self.records.confirm(held["id"], ref, ref_key=row.ref_key))


def outbox_tag(row: ClaimedRow) -> SendTag:
    """What a tagging messenger marks a post with, so a later attempt can find it."""
    return SendTag(outbox_id=row.id, key=row.dedupe_key or f"outbox:{row.id}")


def find_earlier_post(messenger: Messenger, platform: str, row: ClaimedRow, pending: Pending | None, target: str,
                      team: str | None, tag: SendTag) -> PlatformRef | None:
    """The post an earlier attempt made when its answer was lost (the record is unsure), looked up in the
    channel's history; None when there is no such attempt or it did not arrive (post then)."""
    if pending is None or not pending.unsure:
        return None
    try:
        found: PlatformRef | None = messenger.find_sent_now(  # type: ignore[attr-defined]
            pending.channel or target, tag, pending.first_at, team or pending.team)
    except DeliveryError as exc:
        raise DeliveryError(f"could not check whether an earlier attempt arrived: {exc}",
                            retry_after=exc.retry_after, ambiguous=exc.ambiguous) from exc
    if found is not None:
        log.info("deliverer: row %s was already in %s %s (its answer was lost); not posting again",
                 row.id, platform, found.channel)
    return found
