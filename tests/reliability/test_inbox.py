"""The inbox in-process: a reply that could not be posted is never reported as "not saved", is retried by
recovery with the real outcome, and falls back to a DM through the outbox once the response_url is spent;
recovery passes racing each other take each row once. (The crash itself: test_kill_after_ack.py.)"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from bot.processes import recover_inbox
from bot.wiring import Wiring
from cards.model import Card
from crm_core import inbox
from crm_core.clock import FrozenClock
from crm_core.models import InboxItem, Lead, OutboxMessage
from tests.bot.slack.harness import SlackPlayer, blocks_text

LEAD = 'lead add "Ann Lee" company="Acme Inc." email=ann@acme.example'


def _count(w: Wiring, model: type) -> int:
    with w.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _row(w: Wiring) -> InboxItem:
    with w.session_factory() as s:
        (row,) = s.scalars(select(InboxItem)).all()
        return row


def _posted(slack: SlackPlayer) -> list[str]:
    return [blocks_text(r) for r in slack.responses()]


def test_a_reply_that_could_not_be_posted_is_resent_by_recovery_saying_what_was_saved(
        slack: SlackPlayer, slack_wiring: Wiring, clock: FrozenClock, monkeypatch: Any) -> None:
    monkeypatch.setattr(slack_wiring.settings, "chatcrm_slack_reply_within", 0.0)  # answers via response_url
    slack.fake.fail("response_url", "internal_error", status=500)  # Slack's response_url is down once
    assert slack.command("U01EMMA", LEAD).status_code == 200
    row = _row(slack_wiring)
    assert (row.status, row.saved, row.reply_sent_at) == ("done", True, None)  # saved, reply stored, not sent
    assert "response_url: HTTP 500" in (row.last_error or "")
    assert _count(slack_wiring, Lead) == 1
    assert not any("not saved" in t for t in _posted(slack))  # never the untrue "Your change was not saved"

    assert recover_inbox(slack_wiring) == 0  # the lease of the process that took it has not run out
    clock.advance(seconds=61)
    assert recover_inbox(slack_wiring) == 1
    late = _posted(slack)[-1]
    assert "Saved: L-1" in late and "Ann Lee" in late  # the retry carries the real outcome
    assert _row(slack_wiring).status == "replied"
    clock.advance(minutes=5)
    assert recover_inbox(slack_wiring) == 0  # recorded as sent: never sent again
    assert _count(slack_wiring, Lead) == 1 and len(slack.responses()) == 2  # the failed try, the late reply


def test_a_read_stores_nothing_and_recovery_simply_reads_again(slack: SlackPlayer, slack_wiring: Wiring,
                                                               clock: FrozenClock, monkeypatch: Any) -> None:
    monkeypatch.setattr(slack_wiring.settings, "chatcrm_slack_reply_within", 0.0)  # answers via response_url
    slack.fake.fail("response_url", "internal_error", status=500)  # the read's answer does not get through
    slack.command("U01EMMA", "my")
    first = _posted(slack)[-1]
    assert "My open deals" in first
    row = _row(slack_wiring)
    # A read changed nothing: no reply stored, the row still pending (its claim holds the lease).
    assert (row.status, row.saved, row.reply, row.reply_sent_at) == ("pending", None, None, None)
    assert "response_url: HTTP 500" in (row.last_error or "")

    clock.advance(seconds=61)
    assert recover_inbox(slack_wiring) == 1  # read again, answered late
    late = _posted(slack)[-1]
    assert "My open deals" in late and late != first  # the same answer, headed by what happened
    row = _row(slack_wiring)
    assert (row.status, row.saved, row.reply is not None) == ("replied", True, True)
    clock.advance(minutes=5)
    assert recover_inbox(slack_wiring) == 0 and len(slack.responses()) == 2


def test_once_the_response_url_is_spent_the_reply_comes_as_a_message_through_the_outbox(
        slack: SlackPlayer, slack_wiring: Wiring, clock: FrozenClock, monkeypatch: Any) -> None:
    monkeypatch.setattr(slack_wiring.settings, "chatcrm_slack_reply_within", 0.0)  # answers via response_url
    slack.fake.fail("response_url", "internal_error", status=500, times=10)
    slack.command("U01EMMA", LEAD)
    clock.advance(minutes=31)  # Slack accepts a response_url for 30 minutes
    assert recover_inbox(slack_wiring) == 1
    assert len(slack.responses()) == 1  # the spent response_url was not tried again
    with slack_wiring.session_factory() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply").order_by(OutboxMessage.id)).all()
        cards = [Card.from_dict(r.payload) for r in rows]
    assert [c.kind for c in cards][:1] == ["info"]
    assert "Saved: L-1" in cards[0].text() and cards[1].ref == "L-1"  # "what was saved and which record"
    assert _row(slack_wiring).status == "replied"
    assert recover_inbox(slack_wiring) == 0 and _count(slack_wiring, OutboxMessage) == len(rows)


def test_work_that_fails_is_answered_truthfully_nothing_was_saved(slack: SlackPlayer, slack_wiring: Wiring,
                                                                   monkeypatch: Any) -> None:
    from handlers import runner as runner_module

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(runner_module.Runner, "answer_text", boom)
    slack.command("U01EMMA", LEAD)
    (answer,) = _posted(slack)
    assert "Your change was not saved" in answer and "Reference:" in answer
    row = _row(slack_wiring)
    assert (row.status, row.saved, row.error_ref is not None) == ("replied", False, True)
    assert _count(slack_wiring, Lead) == 0


def test_a_retry_while_the_owner_still_holds_the_lease_changes_nothing(slack: SlackPlayer, slack_wiring: Wiring,
                                                                        clock: FrozenClock) -> None:
    body = slack.command_body("U01EMMA", LEAD)
    with slack_wiring.session_factory.begin() as s:  # as if another process acked it a moment ago
        s.add(inbox.new_row(key="slack:cmd:T0001:U01EMMA:" + body.split("trigger_id=")[1], platform="slack",
                            kind="slack.command", external_user="U01EMMA", team="T0001", payload={},
                            reply_to={}, now=clock.now()))
    assert slack.post(body, "application/x-www-form-urlencoded").status_code == 200
    assert _count(slack_wiring, Lead) == 0 and slack.responses() == []


def _race(n: int, fn: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_recovery_passes_racing_each_other_take_every_row_exactly_once(wiring: Wiring, clock: FrozenClock) -> None:
    with wiring.session_factory.begin() as s:
        for i in range(30):
            s.add(inbox.new_row(key=f"slack:cmd:T1:{i}", platform="slack", kind="slack.command", external_user="U1",
                                team="T1", payload={}, reply_to={}, now=clock.now()))
    clock.advance(seconds=61)
    taken = _race(4, lambda: inbox.claim_due(wiring.session_factory, clock.now(), kinds=("slack.command",),
                                             limit=30))
    keys = [item.key for items in taken for item in items]
    assert sorted(keys) == sorted(f"slack:cmd:T1:{i}" for i in range(30))  # each row once, none lost
    assert inbox.claim_due(wiring.session_factory, clock.now(), kinds=("slack.command",)) == []  # leased now


def test_a_claim_costs_three_statements(wiring: Wiring, clock: FrozenClock, assert_query_count: Any) -> None:
    with wiring.session_factory.begin() as s:
        s.add(inbox.new_row(key="wecom:msg:1", platform="wecom", kind="wecom.callback", external_user="u",
                            team=None, payload={}, reply_to={}, now=clock.now()))
    clock.advance(seconds=61)
    with assert_query_count(3):  # select … for update skip locked, update the lease, read the rows
        assert len(inbox.claim_due(wiring.session_factory, clock.now(), kinds=("wecom.callback",))) == 1
