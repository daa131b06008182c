"""A burst of 500 notifications while the Slack Web API is down or rate-limited half the time.

The real deliverer (scheduler.outbox.deliver_due) runs pass after pass through the real SlackMessenger
(bot.slack.app.slack_messenger: slack_sdk over HTTP) into a fake Slack that fails half of the
chat.postMessage calls — 500, 503 with an HTML page, a dropped connection, 429 with Retry-After. The frozen
clock jumps to the next due row between passes; nothing sleeps (the messenger's client has slack_sdk's own
sleeping retry switched off: the deliverer retries). In the end every notification is in Slack exactly
once, every 429 was honoured to the second, and the failed sends were retried.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.console_messenger import ConsoleMessenger
from bot.slack.app import slack_messenger
from bot.wiring import Wiring
from cards.model import Card, Section
from crm_core.clock import FrozenClock
from crm_core.models import OutboxMessage, SentMessage
from crm_core.outbox import enqueue
from crm_core.services.users import create_chat_user
from scheduler.outbox import DeliveryStats, deliver_due
from tests.reliability.chaos import ChaosSlack, half_down

PEOPLE = 250
EACH = 2  # 500 notifications
TITLE = re.compile(r"Notice (\d+)")


def _burst(w: Wiring, clock: FrozenClock) -> list[str]:
    """PEOPLE Slack users, EACH notifications to every one of them, written as one burst."""
    titles: list[str] = []
    with w.session_factory.begin() as s:
        users = [create_chat_user(s, platform="slack", external_id=f"U9{n:05d}", name=f"Person {n}", now=clock.now(),
                                  locale="en") for n in range(PEOPLE)]
        for round_ in range(EACH):
            for user in users:
                title = f"Notice {len(titles) + 1}"
                card = Card(title=title, locale="en", kind="info", blocks=(Section(f"for {user.name}, round {round_}"),))
                enqueue(s, dedupe_key=f"burst:{len(titles)}", kind="notice", target_type="user", target_id=user.id,
                        payload=card.to_dict(), now=clock.now())
                titles.append(title)
    return titles


def _next_due(w: Wiring) -> datetime | None:
    with w.session_factory() as s:
        return s.scalar(select(func.min(OutboxMessage.next_attempt_at))
                        .where(OutboxMessage.status.in_(("pending", "failed", "sending"))))


def _drain(w: Wiring, clock: FrozenClock, messengers: dict, *, max_passes: int = 400) -> tuple[DeliveryStats, int]:
    total, rng = DeliveryStats(), random.Random(3)
    for n in range(1, max_passes + 1):
        total.add(deliver_due(w.session_factory, messengers, clock, w.config, rng=rng))
        nxt = _next_due(w)
        if nxt is None:
            return total, n
        if nxt > clock.now():  # past the next backoff / Retry-After / pacing slot (at least 5 s: batches)
            clock.set(max(nxt, clock.now() + timedelta(seconds=5)))
    raise AssertionError(f"outbox not drained after {max_passes} passes: {total}")


def test_a_burst_during_a_slack_outage_is_delivered_exactly_once(slack_wiring, fake_slack: ChaosSlack, clock):
    titles = _burst(slack_wiring, clock)
    start = clock.now()
    fake_slack.chaos = half_down(random.Random(20260302))
    messengers = {"slack": slack_messenger(slack_wiring),
                  "console": ConsoleMessenger(slack_wiring.session_factory, clock)}

    stats, passes = _drain(slack_wiring, clock, messengers)

    # Every notification reached Slack exactly once (each message the fake stored, by title).
    posted = Counter(m for msg in fake_slack.messages.values() for m in TITLE.findall(str(msg["text"])))
    assert len(posted) == len(titles) == 500
    assert set(posted.values()) == {1}, f"delivered twice: {[t for t, n in posted.items() if n > 1]}"
    attempts = fake_slack.attempts_to("chat.postMessage")
    assert sum(a.outcome == "ok" for a in attempts) == 500
    # The outage really happened, about half the time, in every flavour.
    outcomes = Counter(a.outcome for a in attempts)
    assert outcomes["500"] and outcomes["503"] and outcomes["drop"] and outcomes["429"], outcomes
    assert 0.35 < 1 - outcomes["ok"] / len(attempts) < 0.65, outcomes
    # Each 429's Retry-After was honoured: nothing more went to that person before it ran out.
    for i, a in enumerate(attempts):
        if a.outcome == "429":
            later = [b for b in attempts[i + 1:] if b.channel == a.channel]
            assert later and all(b.at >= a.at + timedelta(seconds=a.retry_after) for b in later), (a, later[:1])
    # 500s, 503s and dropped connections were retried with backoff (later, not in the same instant).
    for i, a in enumerate(attempts):
        if a.outcome in ("500", "503", "drop"):
            nxt = next(b for b in attempts[i + 1:] if b.channel == a.channel)
            assert nxt.at > a.at
    # The outbox agrees: all sent, nothing dead, one delivery record per row, retries counted.
    with slack_wiring.session_factory() as s:
        statuses = Counter(s.scalars(select(OutboxMessage.status)))
        assert statuses == {"sent": 500}, statuses
        assert s.scalar(select(func.count(SentMessage.id))) == 500
        assert s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.attempts > 0)) > 50
    assert stats.dead == 0 and stats.deliveries == 500
    assert clock.now() - start < timedelta(hours=2) and passes < 400
