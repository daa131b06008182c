"""A burst of 500 notifications while the Slack Web API is down or rate-limited half the time.

The real deliverer (scheduler.delivery.deliver_due) runs pass after pass through the real SlackMessenger
(bot.slack.app.slack_messenger: slack_sdk over HTTP) into a fake Slack that fails half of the
chat.postMessage calls — 500, 503 with an HTML page, a dropped connection, 429 with Retry-After. The frozen
clock jumps to the next due row between passes; nothing sleeps (the messenger's client has slack_sdk's own
sleeping retry switched off: the deliverer retries). In the end every notification is in Slack exactly
once, every 429 was honoured to the second, and the failed sends were retried.
"""
from __future__ import annotations

import random
import re
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.console_messenger import ConsoleMessenger
from bot.slack.app import slack_messenger
from bot.wiring import Wiring
from cards.model import Card, Section
from crm_core.clock import FrozenClock
from crm_core.models import OutboxMessage, SentMessage, User
from crm_core.outbox import enqueue
from crm_core.services.users import create_chat_user
from handlers.ports import DeliveryError, Recipient, SendTag
from scheduler.delivery import DeliveryStats, deliver_due
from tests.reliability.chaos import ChaosSlack, Hung, half_down, stored_then_fails

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
    for n in range(PEOPLE):  # Slack knows them (the deliverer opens their DM to look for a lost answer)
        fake_slack.add_user(f"U9{n:05d}", f"Person {n}")
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


# --- Slack stores the message, then the answer is lost -------------------------------------------------

LOST = 48


def _notices(w: Wiring, clock: FrozenClock, fake: ChaosSlack, count: int, *, prefix: str = "U8") -> list[str]:
    """`count` Slack users Slack knows, one notice each (with a ref_key, so it can be updated later)."""
    titles: list[str] = []
    with w.session_factory.begin() as s:
        for n in range(count):
            uid = f"{prefix}{n:05d}"
            fake.add_user(uid, f"Lost {n}")
            user = create_chat_user(s, platform="slack", external_id=uid, name=f"Lost {n}", now=clock.now(),
                                    locale="en")
            title = f"Notice {n + 1}"
            card = Card(title=title, locale="en", kind="info", blocks=(Section(f"for {user.name}"),))
            enqueue(s, dedupe_key=f"lost:{n}", kind="notice", target_type="user", target_id=user.id,
                    payload=card.to_dict(), now=clock.now(), ref_key=f"notice:{n}")
            titles.append(title)
    return titles


def _short_timeout_messenger(w: Wiring, seconds: float):  # noqa: ANN202
    w.settings.slack_timeout = seconds
    return slack_messenger(w)


def test_notices_slack_stored_but_never_confirmed_are_not_posted_again(slack_wiring, fake_slack: ChaosSlack,
                                                                        clock):
    titles = _notices(slack_wiring, clock, fake_slack, LOST)
    # Half the posts are stored and then fail (500, dropped connection, an answer held past the timeout),
    # and the history look-ups themselves fail half the time (500, 503, dropped, 429).
    fake_slack.after = stored_then_fails(random.Random(7), share=0.5, hang=1.5)
    fake_slack.chaos = half_down(random.Random(8), methods=frozenset({"conversations.history"}))
    messengers = {"slack": _short_timeout_messenger(slack_wiring, 0.5)}

    stats, _ = _drain(slack_wiring, clock, messengers)

    posted = Counter(m for msg in fake_slack.messages.values() for m in TITLE.findall(str(msg["text"])))
    assert len(posted) == len(titles) == LOST
    assert set(posted.values()) == {1}, f"stored twice: {[t for t, n in posted.items() if n > 1]}"
    outcomes = Counter(a.outcome for a in fake_slack.attempts_to("chat.postMessage"))
    assert outcomes["stored+500"] and outcomes["stored+drop"] and outcomes["stored+hang"], outcomes
    assert outcomes["ok"] + outcomes["stored+500"] + outcomes["stored+drop"] + outcomes["stored+hang"] == LOST
    history = Counter(a.outcome for a in fake_slack.attempts_to("conversations.history"))
    assert history["ok"] and len(history) > 1, history  # looked, and some look-ups failed and were retried
    # Each delivery record points at the one stored message (so a later card update finds it).
    with slack_wiring.session_factory() as s:
        assert Counter(s.scalars(select(OutboxMessage.status))) == {"sent": LOST}
        sent = s.scalars(select(SentMessage)).all()
        assert len(sent) == LOST
        assert all((m.channel, m.message_ref) in fake_slack.messages for m in sent)
        assert all(m.ref_key and "unsure" not in m.extra for m in sent)
    assert stats.dead == 0
    # Updating the cards edits the stored messages in place; nothing new is posted.
    with slack_wiring.session_factory.begin() as s:
        users = {u.name: u.id for u in s.scalars(select(User))}
        for n in range(LOST):
            card = Card(title=f"Notice {n + 1} (done)", locale="en", kind="info", blocks=(Section("done"),))
            enqueue(s, dedupe_key=f"lost-update:{n}", kind="notice", target_type="user",
                    target_id=users[f"Lost {n}"], payload=card.to_dict(), now=clock.now(), op="update",
                    ref_key=f"notice:{n}")
    fake_slack.after = None
    fake_slack.chaos = None
    before = len(fake_slack.messages)
    _drain(slack_wiring, clock, messengers)
    assert len(fake_slack.messages) == before
    assert sum(1 for m in fake_slack.messages.values() if m.get("edited")) == LOST


def test_a_hung_slack_call_does_not_hold_up_the_other_recipients(slack_wiring, fake_slack: ChaosSlack, clock):
    timeout = 0.3
    _notices(slack_wiring, clock, fake_slack, 6, prefix="U7")
    hung = "U700000"  # the first in line

    def hang_first(method, body):  # noqa: ANN001, ANN202
        if method == "chat.postMessage" and body.get("channel") == hung and not fake_slack.after_hung:
            fake_slack.after_hung = True
            raise Hung(6.0)  # the remote end holds the answer far past the client's timeout
        return None

    fake_slack.after_hung = False
    fake_slack.after = hang_first
    messengers = {"slack": _short_timeout_messenger(slack_wiring, timeout)}

    start = time.monotonic()
    first = deliver_due(slack_wiring.session_factory, messengers, clock, slack_wiring.config)
    took = time.monotonic() - start

    assert first.deliveries == 5 and first.failed == 1, first
    others = [a for a in fake_slack.attempts_to("chat.postMessage") if a.outcome == "ok"]
    assert len(others) == 5
    # Every other recipient's message was in Slack within the client timeout (plus slack for the machine).
    # (Waiting for the hung call would take 6 s; the margin is for a loaded machine.)
    assert all(a.wall - start < timeout + 2.5 for a in others), [a.wall - start for a in others]
    assert took < timeout + 3.0
    # The retry finds the hung call's message in the DM's history and does not post it again.
    clock.advance(minutes=5)
    second = deliver_due(slack_wiring.session_factory, messengers, clock, slack_wiring.config)
    assert second.sent == 1 and second.deliveries == 1
    assert len(fake_slack.dm_messages(hung)) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 6
    assert fake_slack.calls_to("conversations.history")


def test_a_slack_that_hangs_for_everyone_costs_a_pass_three_timeouts_not_one_per_person(
        slack_wiring, fake_slack: ChaosSlack, clock):
    timeout = 0.5
    titles = _notices(slack_wiring, clock, fake_slack, 12, prefix="U6")
    fake_slack.after = stored_then_fails(random.Random(1), share=1.0, hang=2.0, kinds=("hang",))
    messengers = {"slack": _short_timeout_messenger(slack_wiring, timeout)}

    start = time.monotonic()
    stats = deliver_due(slack_wiring.session_factory, messengers, clock, slack_wiring.config)
    took = time.monotonic() - start

    assert len(fake_slack.calls_to("chat.postMessage")) == 3  # then Slack is left alone for a while
    assert stats.failed == 3 and stats.waiting == 9 and stats.deliveries == 0, stats
    assert took < 3 * timeout + 2.0  # one timeout per person would be 6 s
    with slack_wiring.session_factory() as s:
        # The nine that were not tried did not spend an attempt; they come back in 30 s.
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [r.attempts for r in rows] == [1, 1, 1] + [0] * 9
        assert all(r.next_attempt_at == clock.now() + timedelta(seconds=30) for r in rows[3:])

    fake_slack.after = None  # Slack is back: the three hung posts are found, the others posted once
    _drain(slack_wiring, clock, messengers)
    posted = Counter(m for msg in fake_slack.messages.values() for m in TITLE.findall(str(msg["text"])))
    assert sorted(posted) == sorted(t.split()[1] for t in titles) and set(posted.values()) == {1}
    assert len(fake_slack.calls_to("chat.postMessage")) == 3 + 9


def test_a_tagged_slack_send_costs_a_fixed_number_of_statements(slack_wiring, fake_slack: ChaosSlack, clock,
                                                                 assert_query_count):
    """One notice: claim (3), the person and their identities (2), the row's delivery records (1), the
    pacing slot (3), the "unsure" record written before the post and its id read back (2), its
    confirmation (1), the row's status (1), the dead-letter check (1). The same for a batch of any size
    (tests/reliability/test_delivery_batches.py)."""
    _notices(slack_wiring, clock, fake_slack, 1, prefix="U5")
    messengers = {"slack": slack_messenger(slack_wiring)}
    with assert_query_count(14):
        stats = deliver_due(slack_wiring.session_factory, messengers, clock, slack_wiring.config)
    assert stats.deliveries == 1 and stats.sent == 1
    [message] = fake_slack.dm_messages("U500000")
    assert message["metadata"]["event_type"] == "chatcrm_outbox"
    with slack_wiring.session_factory() as s:
        row = s.scalars(select(OutboxMessage)).one()
        assert message["metadata"]["event_payload"] == {"outbox_id": row.id, "key": "lost:0"}


def test_only_failures_after_which_slack_may_have_posted_are_ambiguous(slack_wiring, fake_slack: ChaosSlack):
    messenger = slack_messenger(slack_wiring)
    to = Recipient(user_id=1, platform="slack", external_id="U01LI", locale="en")
    card = Card(title="Hello", locale="en", blocks=(Section("hi"),))
    cases = {"channel_not_found": (200, False, True), "ratelimited": (429, False, False),
             "internal_error": (500, True, False), "fatal_error": (200, True, False)}
    for error, (status, ambiguous, permanent) in cases.items():
        fake_slack.fail("chat.postMessage", error, status=status, retry_after=1 if status == 429 else None)
        with pytest.raises(DeliveryError) as caught:
            messenger.send_now(to, card)
        assert (caught.value.ambiguous, caught.value.permanent) == (ambiguous, permanent), error


def test_the_history_check_pages_back_to_the_first_attempt(slack_wiring, fake_slack: ChaosSlack, clock):
    messenger = slack_messenger(slack_wiring)
    to = Recipient(user_id=1, platform="slack", external_id="U01LI", locale="en")
    first_at = clock.now()
    tag = SendTag(outbox_id=41, key="k-41")
    sent = messenger.send_now(to, Card(title="The one", locale="en"), tag=tag)
    for n in range(120):  # a busy DM since: the check has to page
        clock.advance(seconds=1)
        messenger.send_now(to, Card(title=f"Other {n}", locale="en"), tag=SendTag(outbox_id=1000 + n, key="x"))
    found = messenger.find_sent_now("U01LI", tag, first_at)
    assert found is not None and (found.channel, found.message_ref) == (sent.channel, sent.message_ref)
    assert len(fake_slack.calls_to("conversations.history")) == 3  # 50 a page, newest first
    assert messenger.find_sent_now("U01LI", SendTag(outbox_id=42, key="k-42"), first_at) is None
    # Before the first attempt (minus the margin) nothing is looked at.
    assert all(float(c["oldest"]) < first_at.timestamp() for c in fake_slack.calls_to("conversations.history"))
