"""Fixtures for the clock's tests: a recording fake messenger, and a helper that runs the deliverer
until nothing is due, moving the frozen clock to each next due time (no sleeping)."""
from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.console_messenger import ConsoleMessenger
from cards.model import Card
from crm_core.clock import FrozenClock
from crm_core.models import OutboxMessage
from handlers.ports import DeliveryError, PlatformRef, Recipient, SwarmSpec
from scheduler.delivery import DeliveryPolicy, DeliveryStats, deliver_due

Failure = Callable[[str, str], DeliveryError | None]  # (operation, target) -> error to raise, or None


@dataclass
class Delivery:
    op: str  # send | update | create_swarm | post_swarm | archive_swarm
    target: str  # external id / channel
    card: Card | None
    ref: PlatformRef | None = None
    spec: SwarmSpec | None = None


@dataclass
class FakeMessenger:
    """Records every successful call (thread-safe). `fail` decides per call whether to raise."""

    platform: str = "slack"
    fail: Failure | None = None
    delivered: list[Delivery] = field(default_factory=list)
    attempts: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def _maybe_fail(self, op: str, target: str) -> None:
        with self._lock:
            self.attempts += 1
        if self.fail is not None:
            err = self.fail(op, target)
            if err is not None:
                raise err

    def _ok(self, delivery: Delivery, channel: str) -> PlatformRef:
        with self._lock:
            ref = PlatformRef(platform=self.platform, channel=channel, message_ref=f"ts.{next(self._ids)}")
            delivery.ref = ref
            self.delivered.append(delivery)
        return ref

    def send_now(self, recipient: Recipient, card: Card) -> PlatformRef:
        self._maybe_fail("send", recipient.external_id)
        return self._ok(Delivery("send", recipient.external_id, card), f"D-{recipient.external_id}")

    def update_now(self, ref: PlatformRef, card: Card) -> PlatformRef:
        self._maybe_fail("update", ref.channel or "")
        with self._lock:
            self.delivered.append(Delivery("update", ref.channel or "", card, ref=ref))
        return ref

    def create_swarm_now(self, spec: SwarmSpec) -> PlatformRef:
        self._maybe_fail("create_swarm", spec.ref)
        return self._ok(Delivery("create_swarm", spec.ref, spec.card, spec=spec), f"C-{spec.ref}")

    def post_swarm_now(self, channel: str, card: Card) -> PlatformRef:
        self._maybe_fail("post_swarm", channel)
        return self._ok(Delivery("post_swarm", channel, card), channel)

    def archive_swarm_now(self, channel: str) -> None:
        self._maybe_fail("archive_swarm", channel)
        with self._lock:
            self.delivered.append(Delivery("archive_swarm", channel, None))

    def sent_to(self, target: str) -> list[Card]:
        return [d.card for d in self.delivered if d.op == "send" and d.target == target and d.card is not None]

    def titles(self, op: str = "send") -> list[tuple[str, str]]:
        return [(d.target, d.card.title) for d in self.delivered if d.op == op and d.card is not None]


def flaky(rate: float, seed: int = 7, retry_after: float = 3.0) -> Failure:
    """Fails `rate` of the calls: half of those as a 500 (retry with backoff), half as a 429."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def decide(op: str, target: str) -> DeliveryError | None:
        with lock:
            roll = rng.random()
        if roll >= rate:
            return None
        if roll < rate / 2:
            return DeliveryError(f"HTTP 500 from the platform ({op} {target})")
        return DeliveryError("HTTP 429 ratelimited", retry_after=retry_after)

    return decide


@pytest.fixture
def fake_slack() -> FakeMessenger:
    return FakeMessenger("slack")


@pytest.fixture
def console_messenger(wiring: Any) -> ConsoleMessenger:
    return ConsoleMessenger(wiring.session_factory, wiring.clock)


@pytest.fixture
def drain(wiring: Any, clock: FrozenClock) -> Callable[..., DeliveryStats]:
    """drain(messengers) runs deliver_due until no row is open, jumping the clock to each next due time."""

    def run(messengers: dict[str, Any], *, policy: DeliveryPolicy | None = None, max_passes: int = 500,
            limit: int = 100, rng: random.Random | None = None) -> DeliveryStats:
        total = DeliveryStats()
        rng = rng or random.Random(1)
        for _ in range(max_passes):
            stats = deliver_due(wiring.session_factory, messengers, clock, wiring.config, limit=limit,
                                policy=policy, rng=rng)
            total.add(stats)
            nxt = next_due(wiring)
            if nxt is None:
                return total
            if nxt > clock.now():
                clock.set(nxt)
        raise AssertionError(f"outbox not drained after {max_passes} passes: {total}")

    return run


def next_due(wiring: Any) -> datetime | None:
    with wiring.session_factory() as s:
        return s.scalar(select(func.min(OutboxMessage.next_attempt_at))
                        .where(OutboxMessage.status.in_(("pending", "failed", "sending"))))
