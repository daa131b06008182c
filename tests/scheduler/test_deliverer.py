"""The outbox deliverer: exactly-once delivery through flaky platforms, backoff and dead letters,
pacing, 429s that hold back one recipient only, cards updated in place, swarm channels."""
from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.console_messenger import ConsoleInbox
from cards.builders.common import notice_card
from crm_core.models import OutboxMessage, SentMessage, Swarm, User
from crm_core.outbox import enqueue
from crm_core.services.users import user_by_key
from handlers.ports import DeliveryError
from scheduler.delivery import DeliveryPolicy, choose_recipient, deliver_due
from tests.scheduler.conftest import FakeMessenger, flaky


def put(wiring: Any, key: str, user_key: str, title: str, *, kind: str = "test.note", **extra: Any) -> int:
    """Queue a card for a user, as a handler's notifier would."""
    with wiring.session_factory.begin() as s:
        user = user_by_key(s, user_key)
        row = enqueue(s, dedupe_key=key, kind=kind, target_type="user", target_id=user.id,
                      payload=notice_card("en", title).to_dict(), now=wiring.clock.now(), **extra)
        assert row is not None
        return row.id


def statuses(wiring: Any) -> Counter[str]:
    with wiring.session_factory() as s:
        return Counter(s.scalars(select(OutboxMessage.status)))


def inbox_titles(wiring: Any, user_id: int) -> list[str]:
    return [card.title for card, _, _ in ConsoleInbox(wiring.session_factory, wiring.clock, user_id).take_unseen()]


class TestRecipientChoice:
    def test_one_platform_per_person(self, wiring, as_user) -> None:  # type: ignore[no-untyped-def]
        cfg = wiring.config
        both = {"console", "slack", "wecom"}
        assert choose_recipient(as_user("emma"), both, cfg).platform == "slack"  # Slack only
        assert choose_recipient(as_user("zhou"), both, cfg).platform == "wecom"  # WeCom only
        assert choose_recipient(as_user("li"), both, cfg).platform == "slack"  # both, no primary: Slack
        assert choose_recipient(as_user("admin"), both, cfg).external_id == "admin"  # nothing: the console
        zhou = choose_recipient(as_user("zhou"), {"console", "slack"}, cfg)
        assert (zhou.platform, zhou.external_id) == ("console", "zhou")  # WeCom not configured here
        with wiring.session_factory.begin() as s:
            user_by_key(s, "li").primary_platform = "wecom"
        li = choose_recipient(as_user("li"), both, cfg)
        assert (li.platform, li.external_id, li.locale) == ("wecom", "lilei", "zh_CN")


class TestExactlyOnce:
    def test_every_message_arrives_once_through_500s_and_429s(self, wiring, drain) -> None:  # type: ignore[no-untyped-def]
        people = ["emma", "tom", "sam", "li", "han", "chen", "wang", "lawyer", "sup"]
        ids = [put(wiring, f"flaky:{i}", people[i % len(people)], f"message {i}") for i in range(30)]
        slack = FakeMessenger("slack", fail=flaky(0.5))
        stats = drain({"slack": slack}, rng=random.Random(3))
        assert stats.failed > 0 and stats.waiting > 0  # it really was flaky, and paced
        assert sorted(d.card.title for d in slack.delivered) == sorted(f"message {i}" for i in range(30))
        assert statuses(wiring) == Counter({"sent": 30})
        with wiring.session_factory() as s:
            per_row = Counter(s.scalars(select(SentMessage.outbox_id)))
        assert per_row == Counter({i: 1 for i in ids})
        assert slack.attempts > 30

    def test_a_worker_that_died_mid_send_leaves_its_rows_to_the_next_one(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        row_id = put(wiring, "orphan", "emma", "hello")
        with wiring.session_factory.begin() as s:  # claimed by a worker that then died
            row = s.get(OutboxMessage, row_id)
            row.status, row.claimed_by, row.next_attempt_at = "sending", "dead-worker:1", clock.now() + timedelta(minutes=5)
        slack = FakeMessenger("slack")
        assert deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config).claimed == 0
        clock.advance(minutes=5)
        assert deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config).sent == 1
        assert slack.titles() == [("U01EMMA", "hello")]


class TestRetries:
    def test_backoff_grows_and_a_row_dies_after_n_attempts_with_one_admin_message(  # type: ignore[no-untyped-def]
            self, wiring, drain, clock, console_messenger, user_id) -> None:
        down = {"U01TOM", "U01HAN", "U01LI"}

        def some_are_down(op: str, target: str) -> DeliveryError | None:
            return DeliveryError("HTTP 500") if target in down else None

        dead = [put(wiring, f"down:{who}", who, f"for {who}") for who in ("tom", "han", "li")]
        put(wiring, "emma:1", "emma", "for emma")
        slack = FakeMessenger("slack", fail=some_are_down)
        policy = DeliveryPolicy(max_attempts=4, base_delay=10, jitter=0)
        start = clock.now()
        drain({"slack": slack, "console": console_messenger}, policy=policy)
        with wiring.session_factory() as s:
            rows = s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(dead))).all()
            assert {(r.status, r.attempts) for r in rows} == {("dead", 4)}
            assert sorted(r.last_error for r in rows) == [f"slack:{u}: HTTP 500" for u in sorted(down)]
        # 10 + 20 + 40 seconds of backoff between the four attempts (no jitter in this policy)
        assert clock.now() - start == timedelta(seconds=70)
        assert slack.titles() == [("U01EMMA", "for emma")]
        admin_inbox = inbox_titles(wiring, user_id("admin"))
        assert admin_inbox == ["3 outbox message(s) could not be delivered"]
        assert statuses(wiring)["dead"] == 3

    def test_a_permanent_error_is_dead_at_once(self, wiring, drain, console_messenger) -> None:  # type: ignore[no-untyped-def]
        put(wiring, "gone", "emma", "to a deleted user")
        slack = FakeMessenger("slack", fail=lambda op, t: DeliveryError("user_not_found", permanent=True))
        drain({"slack": slack, "console": console_messenger})
        with wiring.session_factory() as s:
            row = s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "gone"))
            assert (row.status, row.attempts, row.last_error) == ("dead", 1, "slack:U01EMMA: user_not_found")


class TestPacing:
    def test_a_429_holds_back_that_recipient_only(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        calls: list[str] = []

        def emma_throttled_once(op: str, target: str) -> DeliveryError | None:
            calls.append(target)
            if target == "U01EMMA" and calls.count("U01EMMA") == 1:
                return DeliveryError("ratelimited", retry_after=30)
            return None

        slack = FakeMessenger("slack", fail=emma_throttled_once)
        put(wiring, "e1", "emma", "emma 1")
        put(wiring, "t1", "tom", "tom 1")
        stats = deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config)
        assert (stats.sent, stats.waiting, stats.failed) == (1, 1, 0)
        clock.advance(seconds=5)
        put(wiring, "e2", "emma", "emma 2")
        put(wiring, "t2", "tom", "tom 2")
        deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config)
        assert slack.titles() == [("U01TOM", "tom 1"), ("U01TOM", "tom 2")]  # emma waits, tom flows
        clock.advance(seconds=25)
        deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config)
        clock.advance(seconds=1)
        deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config)
        assert [t for t in slack.titles() if t[0] == "U01EMMA"] == [("U01EMMA", "emma 1"), ("U01EMMA", "emma 2")]
        with wiring.session_factory() as s:  # the 429 did not count as a failed attempt
            assert s.scalar(select(OutboxMessage.attempts).where(OutboxMessage.dedupe_key == "e1")) == 0

    def test_slack_gets_one_message_per_second_per_channel(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        slack = FakeMessenger("slack")
        for i in range(3):
            put(wiring, f"e{i}", "emma", f"emma {i}")
        put(wiring, "t0", "tom", "tom 0")
        deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config)
        assert slack.titles() == [("U01EMMA", "emma 0"), ("U01TOM", "tom 0")]
        clock.advance(seconds=1)
        deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config)
        clock.advance(seconds=1)
        deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config)
        assert [t for _, t in slack.titles()] == ["emma 0", "tom 0", "emma 1", "emma 2"]

    def test_wecom_members_get_at_most_30_a_minute_and_the_rest_waits(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        wecom = FakeMessenger("wecom")
        for i in range(35):
            put(wiring, f"z{i}", "zhou", f"zhou {i}")
        put(wiring, "li", "li", "li 0")
        deliver_due(wiring.session_factory, {"wecom": wecom}, clock, wiring.config)
        assert len(wecom.sent_to("zhougong")) == 30 and len(wecom.sent_to("lilei")) == 1
        assert statuses(wiring) == Counter({"sent": 31, "pending": 5})  # waiting, not dropped
        clock.advance(seconds=59)
        deliver_due(wiring.session_factory, {"wecom": wecom}, clock, wiring.config)
        assert len(wecom.sent_to("zhougong")) == 30
        clock.advance(seconds=1)
        deliver_due(wiring.session_factory, {"wecom": wecom}, clock, wiring.config)
        assert [c.title for c in wecom.sent_to("zhougong")] == [f"zhou {i}" for i in range(35)]

    def test_nudges_to_one_person_in_the_same_minute_go_as_one_message(self, wiring, clock, console_messenger,  # type: ignore[no-untyped-def]
                                                                       user_id) -> None:
        put(wiring, "n1", "wang", "Stale D-1", kind="nudge.deal.stale")
        put(wiring, "n2", "wang", "Stale D-2", kind="nudge.deal.stale")
        put(wiring, "d1", "wang", "Daily digest", kind="digest.daily")
        stats = deliver_due(wiring.session_factory, {"console": console_messenger}, clock, wiring.config)
        assert (stats.sent, stats.merged) == (1, 2)
        assert inbox_titles(wiring, user_id("wang")) == ["3 reminders"]
        assert statuses(wiring) == Counter({"sent": 3})


class TestUpdatesInPlace:
    def test_a_later_state_change_updates_the_card_already_sent(self, wiring, clock) -> None:  # type: ignore[no-untyped-def]
        slack = FakeMessenger("slack")
        put(wiring, "approval:1", "sam", "Approve Q-1?", ref_key="approval:1:approver:sam")
        deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config)
        sent_ref = slack.delivered[0].ref
        with wiring.session_factory.begin() as s:
            enqueue(s, dedupe_key="approval:1:decided", kind="approval.decided", op="update", target_type="user",
                    target_id=user_by_key(s, "sam").id, ref_key="approval:1:approver:sam",
                    payload=notice_card("en", "Q-1 approved").to_dict(), now=clock.now())
        clock.advance(seconds=2)
        deliver_due(wiring.session_factory, {"slack": slack}, clock, wiring.config)
        update = slack.delivered[-1]
        assert (update.op, update.ref, update.card.title) == ("update", sent_ref, "Q-1 approved")
        assert len(slack.titles("send")) == 1

    def test_an_update_waits_for_the_message_it_replaces(self, wiring, drain, clock) -> None:  # type: ignore[no-untyped-def]
        first_call = {"n": 0}

        def first_send_fails(op: str, target: str) -> DeliveryError | None:
            first_call["n"] += 1
            return DeliveryError("HTTP 502") if first_call["n"] == 1 else None

        slack = FakeMessenger("slack", fail=first_send_fails)
        put(wiring, "card", "sam", "v1", ref_key="card:sam")
        with wiring.session_factory.begin() as s:
            enqueue(s, dedupe_key="card:v2", kind="test", op="update", target_type="user",
                    target_id=user_by_key(s, "sam").id, ref_key="card:sam",
                    payload=notice_card("en", "v2").to_dict(), now=clock.now())
        drain({"slack": slack})
        assert [(d.op, d.card.title) for d in slack.delivered] == [("send", "v1"), ("update", "v2")]

    def test_the_console_shows_an_updated_card_again(self, wiring, clock, console_messenger, user_id) -> None:  # type: ignore[no-untyped-def]
        put(wiring, "c1", "admin", "v1", ref_key="thing:1")
        deliver_due(wiring.session_factory, {"console": console_messenger}, clock, wiring.config)
        assert inbox_titles(wiring, user_id("admin")) == ["v1"]
        with wiring.session_factory.begin() as s:
            enqueue(s, dedupe_key="c1:v2", kind="test", op="update", target_type="user",
                    target_id=user_by_key(s, "admin").id, ref_key="thing:1",
                    payload=notice_card("en", "v2").to_dict(), now=clock.now())
        deliver_due(wiring.session_factory, {"console": console_messenger}, clock, wiring.config)
        inbox = ConsoleInbox(wiring.session_factory, clock, user_id("admin")).take_unseen()
        assert [(c.title, updated) for c, _, updated in inbox] == [("v2", True)]


class TestSwarms:
    def _deal(self, console_bot) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        emma.exec('deal new "Acme Inc." amount=250000 name="Acme rollout" close=2026-06-30')

    def _rows(self, wiring: Any, clock: Any) -> None:
        with wiring.session_factory.begin() as s:
            enqueue(s, dedupe_key="swarm-create:deal:1", kind="swarm.create", op="swarm.create", target_type="swarm",
                    target_id=1, record_type="deal", record_id=1, payload={}, now=clock.now())
            enqueue(s, dedupe_key="swarm-post:1", kind="deal.note", target_type="swarm", target_id=1,
                    record_type="deal", record_id=1, payload=notice_card("en", "Legal review booked").to_dict(),
                    now=clock.now())

    def test_a_swarm_channel_is_created_where_the_owner_is_and_gets_the_posts(self, wiring, console_bot, clock,  # type: ignore[no-untyped-def]
                                                                             drain) -> None:
        self._deal(console_bot)
        self._rows(wiring, clock)
        slack = FakeMessenger("slack")
        drain({"slack": slack})
        created = slack.delivered[0]
        assert created.op == "create_swarm"
        spec = created.spec
        assert (spec.title, spec.ref, spec.owner_external_id) == ("Acme rollout", "D-1", "U01EMMA")
        assert spec.topic == "资格确认 · ¥250,000.00 · 2026-06-30"  # the company language, not the owner's
        assert spec.member_external_ids == ("U01SAM", "U01LAW")  # manager, legal; presales zhou has no Slack
        assert spec.card.title == "商机 D-1 · Acme rollout"
        assert slack.titles("post_swarm") == [("C-D-1", "Legal review booked")]
        with wiring.session_factory.begin() as s:
            assert [(w.platform, w.channel) for w in s.scalars(select(Swarm))] == [("slack", "C-D-1")]
            enqueue(s, dedupe_key="swarm-archive:deal:1", kind="swarm.archive", op="swarm.archive",
                    target_type="swarm", target_id=1, record_type="deal", record_id=1, payload={}, now=clock.now())
        drain({"slack": slack})
        assert slack.delivered[-1].op == "archive_swarm"
        with wiring.session_factory() as s:
            assert s.scalar(select(Swarm.archived_at)) == clock.now()

    def test_on_the_console_the_members_inboxes_are_the_channel(self, wiring, console_bot, clock, drain,  # type: ignore[no-untyped-def]
                                                                console_messenger, user_id) -> None:
        self._deal(console_bot)
        self._rows(wiring, clock)
        drain({"console": console_messenger})
        for member in ("emma", "sam", "zhou", "lawyer"):
            assert inbox_titles(wiring, user_id(member)) == ["Legal review booked", "商机 D-1 · Acme rollout"], member
        assert inbox_titles(wiring, user_id("tom")) == []

    def test_a_post_for_a_record_without_a_channel_is_skipped(self, wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
        self._deal(console_bot)
        with wiring.session_factory.begin() as s:
            enqueue(s, dedupe_key="orphan-post", kind="deal.note", target_type="swarm", target_id=1,
                    record_type="deal", record_id=1, payload=notice_card("en", "x").to_dict(), now=clock.now())
        deliver_due(wiring.session_factory, {"slack": FakeMessenger("slack")}, clock, wiring.config)
        assert statuses(wiring) == Counter({"skipped": 1})


def test_an_idle_pass_is_one_query(wiring, clock, assert_query_count) -> None:  # type: ignore[no-untyped-def]
    with assert_query_count(at_most=2):
        deliver_due(wiring.session_factory, {"slack": FakeMessenger("slack")}, clock, wiring.config)


def test_deliver_due_never_raises_even_when_a_messenger_is_broken(wiring, clock) -> None:  # type: ignore[no-untyped-def]
    class Broken(FakeMessenger):
        def send_now(self, recipient, card):  # type: ignore[no-untyped-def]
            raise RuntimeError("bug in the adapter")

    put(wiring, "b1", "emma", "x")
    stats = deliver_due(wiring.session_factory, {"slack": Broken("slack")}, clock, wiring.config)
    assert stats.failed == 1
    with wiring.session_factory() as s:
        row = s.scalar(select(OutboxMessage))
        assert (row.status, row.attempts) == ("failed", 1)
        assert "RuntimeError: bug in the adapter" in row.last_error
        assert s.scalar(select(func.count(User.id))) > 0
