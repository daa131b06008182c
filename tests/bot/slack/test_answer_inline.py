"""A command is answered as soon as its work is done: in its own HTTP response when that is within the budget
(one round trip), else acked empty and answered through the response_url — exactly once either way; and a
full work queue tells the person "busy, your command is queued" instead of leaving them in silence.

Real Bolt signature checks, bodies as Slack sends them, the fake Slack for response_url; the work runs on a
real thread pool. Slow work is made slow with an Event the test sets, never with a sleep."""
from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from bot.app import create_app
from bot.slack import inbox as slack_inbox
from bot.slack.answer import InlineSlot, WorkQueue
from bot.slack.app import SEND_THREADS, send_threads, work_threads
from bot.slack.context import SlackContext
from bot.wiring import Wiring
from crm_core.db import read_only
from crm_core.models import InboxItem, Lead
from tests.bot.slack.harness import InlineExecutor, SlackPlayer, blocks_text

LEAD = 'lead add "Ann Lee" company="Acme Inc." email=ann@acme.example'
WAIT = 10.0  # seconds a test waits for something that normally takes milliseconds


class Gate:
    """Makes the work after the record slow (a slow use case, a slow lookup): it waits until the test opens
    the gate — outside any transaction, so SQLite's one write lock stays free for the acks meanwhile."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()

    def wrap(self, fn: Any) -> Any:
        def slow(*a: Any, **kw: Any) -> Any:
            self.entered.set()
            assert self.open.wait(WAIT), "the test never opened the gate"
            return fn(*a, **kw)
        return slow


@pytest.fixture
def pooled(slack_wiring: Wiring, fake_slack: Any) -> Iterator[tuple[SlackPlayer, Wiring]]:
    """The app with its work on a real thread pool (one thread), as in production."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-work")
    slack_wiring.slack.work_executor = pool
    try:
        with TestClient(create_app(wiring=slack_wiring, prepare_database=False), base_url="https://testserver") as tc:
            yield SlackPlayer(tc, fake_slack), slack_wiring
    finally:
        pool.shutdown(wait=True)


def _rows(w: Wiring) -> list[InboxItem]:
    with read_only(w.session_factory)() as s:  # a read: no wait for the slow use case's write lock
        return list(s.scalars(select(InboxItem).order_by(InboxItem.id)))


def _leads(w: Wiring) -> int:
    with read_only(w.session_factory)() as s:
        return len(s.scalars(select(Lead)).all())


def _slow(monkeypatch: Any, gate: Gate) -> None:
    monkeypatch.setattr(slack_inbox, "work", gate.wrap(slack_inbox.work))


def test_a_fast_command_is_answered_in_its_http_response_exactly_once(pooled: tuple[SlackPlayer, Wiring],
                                                                     caplog: Any, monkeypatch: Any) -> None:
    slack, w = pooled
    monkeypatch.setattr(w.settings, "chatcrm_slack_reply_within", 2.5)  # "fast" even on a crowded test machine
    r = slack.command("U01EMMA", LEAD)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    answer = r.json()
    assert answer["response_type"] == "ephemeral" and "Lead L-1 · Ann Lee" in blocks_text(answer)
    (row,) = _rows(w)
    assert row.status == "replied" and row.reply_sent_at is not None and row.saved is True
    slack.command("U01EMMA", "my")  # the next request: by now the first one's work is surely over
    assert slack.fake.response_url_posts() == []  # the answer went inline, and only inline
    assert len(slack.fake.inline_answers()) == 2 and _leads(w) == 1
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


def test_a_slow_command_is_acked_when_the_budget_runs_out_and_answered_at_its_response_url(
        pooled: tuple[SlackPlayer, Wiring], monkeypatch: Any) -> None:
    slack, w = pooled
    monkeypatch.setattr(w.settings, "chatcrm_slack_reply_within", 0.05)
    gate = Gate()
    _slow(monkeypatch, gate)
    r = slack.command("U01EMMA", LEAD)  # returns when the budget ran out: the use case is still at the gate
    assert gate.entered.wait(WAIT) and r.status_code == 200 and r.text == ""
    assert slack.fake.response_url_posts() == [] and _rows(w)[0].status == "pending"
    gate.open.set()
    (late,) = slack.fake.wait_for("response_url", 1, timeout=WAIT)
    assert "Lead L-1 · Ann Lee" in blocks_text(late) and late["response_type"] == "ephemeral"
    monkeypatch.setattr(w.settings, "chatcrm_slack_reply_within", 2.5)
    slack.command("U01EMMA", "my")  # answered inline: the work queue is free again
    assert len(slack.fake.response_url_posts()) == 1 and len(slack.fake.inline_answers()) == 1
    # the read left no row: answered in its HTTP response, it stored nothing
    assert [r.status for r in _rows(w)] == ["replied"] and _leads(w) == 1


@contextmanager
def _writes(w: Wiring) -> Iterator[list[str]]:
    """Every statement that writes, and every write transaction begun, while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        head = statement.lstrip().split(None, 1)[0].upper()
        if head in ("INSERT", "UPDATE", "DELETE") or statement.strip().upper().startswith("BEGIN IMMEDIATE"):
            seen.append(statement.strip()[:80])

    event.listen(w.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(w.engine, "before_cursor_execute", record)


def test_a_read_answered_in_its_http_response_writes_nothing_at_all(pooled: tuple[SlackPlayer, Wiring],
                                                                    monkeypatch: Any) -> None:
    slack, w = pooled
    monkeypatch.setattr(w.settings, "chatcrm_slack_reply_within", 2.5)
    slack.command("U01EMMA", LEAD)  # a write first: the person exists, the lead too
    before = len(_rows(w))
    with _writes(w) as writes:
        mine = slack.command("U01EMMA", "my")
        lead = slack.command("U01EMMA", "lead L-1")
        wrong = slack.command("U01EMMA", "lead")  # a usage error is a read too
    assert "My open deals" in blocks_text(mine.json()) and "Ann Lee" in blocks_text(lead.json())
    assert wrong.status_code == 200 and "lead" in blocks_text(wrong.json()).lower()
    assert writes == [] and len(_rows(w)) == before and slack.fake.response_url_posts() == []


def test_a_slow_read_falls_back_to_the_inbox_and_is_answered_once(pooled: tuple[SlackPlayer, Wiring],
                                                                   monkeypatch: Any) -> None:
    slack, w = pooled
    monkeypatch.setattr(w.settings, "chatcrm_slack_reply_within", 2.5)
    slack.command("U01EMMA", LEAD)
    monkeypatch.setattr(w.settings, "chatcrm_slack_reply_within", 0.05)
    gate = Gate()
    monkeypatch.setattr(slack_inbox, "_read_now", gate.wrap(slack_inbox._read_now))
    r = slack.command("U01EMMA", "lead L-1")  # the quick try waits at the gate; the budget runs out
    assert gate.entered.wait(WAIT) and r.status_code == 200 and r.text == ""
    assert [row.status for row in _rows(w)][-1] in ("pending", "done", "replied")  # saved before the empty ack
    gate.open.set()
    (late,) = slack.fake.wait_for("response_url", 1, timeout=WAIT)
    assert "Lead L-1 · Ann Lee" in blocks_text(late)
    slack.command("U01EMMA", "lead L-1")  # drains the pool thread: the quick try's answer was dropped, not sent
    assert len(slack.fake.response_url_posts()) == 1


def test_a_full_work_queue_says_busy_queued_and_answers_every_request_once(
        slack_wiring: Wiring, fake_slack: Any, monkeypatch: Any) -> None:
    w = slack_wiring
    monkeypatch.setattr(w.settings, "chatcrm_slack_queue", 1)
    monkeypatch.setattr(w.settings, "chatcrm_slack_reply_within", 0.05)
    gate = Gate()
    _slow(monkeypatch, gate)
    pool = ThreadPoolExecutor(max_workers=1)
    w.slack.work_executor = pool
    try:
        with TestClient(create_app(wiring=w, prepare_database=False), base_url="https://testserver") as tc:
            slack = SlackPlayer(tc, fake_slack)
            assert slack.command("U01EMMA", LEAD).text == ""  # takes the one place; waits at the gate
            en = slack.command("U01EMMA", "my")
            zh = slack.command("U01CHEN", "my")
            assert en.status_code == zh.status_code == 200
            assert "Busy: your command is queued" in blocks_text(en.json()) and "/crm my" in blocks_text(en.json())
            assert "系统繁忙：你的命令已排队" in blocks_text(zh.json())
            assert [r.status for r in _rows(w)] == ["pending", "pending", "pending"]  # all three are saved
            gate.open.set()  # the worker finishes the first, then takes the queued two from the inbox
            posts = fake_slack.wait_for("response_url", 5, timeout=WAIT)  # 2 busy notes (inline) + 3 answers
    finally:
        gate.open.set()
        pool.shutdown(wait=True)
    answers = fake_slack.response_url_posts()
    assert len(answers) == 3 and len(posts) == 5
    texts = [blocks_text(a) for a in answers]
    assert "Lead L-1 · Ann Lee" in texts[0]
    assert sum("My open deals" in t for t in texts) == 1 and sum("我的" in t for t in texts) == 1
    assert all(r.status == "replied" for r in _rows(w)) and _leads(w) == 1


def test_a_slow_slack_answering_one_person_holds_up_nobody_elses_command(
        slack_wiring: Wiring, fake_slack: Any, monkeypatch: Any) -> None:
    """One work thread, as on SQLite: Emma's answer waits on a slow response_url (Slack's network), and Chen's
    `my` is still answered inline meanwhile — the post runs on the send pool, not on the work thread."""
    w = slack_wiring
    work, sends = ThreadPoolExecutor(max_workers=1), ThreadPoolExecutor(max_workers=1)
    w.slack.work_executor, w.slack.send_executor = work, sends
    reached, let_go = fake_slack.hold("response_url")
    try:
        with TestClient(create_app(wiring=w, prepare_database=False), base_url="https://testserver") as tc:
            slack = SlackPlayer(tc, fake_slack)
            slack.command("U01CHEN", "help")  # Chen's first request makes his user (inline)
            monkeypatch.setattr(w.settings, "chatcrm_slack_reply_within", 0)  # Emma's: through the response_url
            assert slack.command("U01EMMA", LEAD).text == ""
            assert reached.wait(WAIT)  # her answer is on its way to a Slack that is slow to take it
            monkeypatch.setattr(w.settings, "chatcrm_slack_reply_within", 2.5)
            r = slack.command("U01CHEN", "my")
            assert r.text != "" and "我的" in blocks_text(r.json())  # answered in its own HTTP response
            assert _rows(w)[-1].reply_sent_at is None  # Emma's answer is still not through
            let_go.set()
            fake_slack.wait_for("response_url", len(fake_slack.inline_answers()) + 1, timeout=WAIT)
    finally:
        let_go.set()
        work.shutdown(wait=True)
        sends.shutdown(wait=True)
    (late,) = fake_slack.response_url_posts()
    assert "Lead L-1 · Ann Lee" in blocks_text(late)
    assert _rows(w)[-1].status == "replied" and _leads(w) == 1


def test_a_request_keeps_its_place_in_the_queue_until_its_answer_is_sent() -> None:
    """The queue's bound counts every request not yet answered, so a slow Slack still fills it (and the next
    person hears "busy") rather than piling answers up unseen."""
    sends = ThreadPoolExecutor(max_workers=1)
    queue = WorkQueue(InlineExecutor(), 1, sends=sends)
    let_go = threading.Event()
    assert queue.reserve()
    queue.run(lambda: (lambda: let_go.wait(WAIT)))  # the work is done; its send waits on Slack
    try:
        assert not queue.reserve()  # still answering: no place for another
    finally:
        let_go.set()
        sends.shutdown(wait=True)
    assert queue.reserve()  # sent: the place is free


# --- the hand-over itself: exactly one of "inline" and "response_url" ------------------------------------

def test_a_reply_ready_before_the_budget_runs_out_goes_inline() -> None:
    slot = InlineSlot()
    assert slot.offer()
    slot.answer({"text": "hi"})
    assert slot.wait(5.0) == {"text": "hi"}


def test_a_reply_ready_after_the_request_gave_up_is_not_offered_inline() -> None:
    slot = InlineSlot()
    assert slot.wait(0.0) is None  # the budget ran out: acked empty
    assert not slot.offer()  # so the worker posts to the response_url


def test_a_request_whose_reply_is_being_recorded_waits_for_it_past_the_budget() -> None:
    slot = InlineSlot()
    assert slot.offer()  # the worker holds the reply and is committing "replied"
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(slot.wait(0.0)))
    waiter.start()
    slot.answer({"text": "late but inline"})
    waiter.join(WAIT)
    assert got == [{"text": "late but inline"}]


def test_a_withdrawn_offer_acks_empty() -> None:
    slot = InlineSlot()
    assert slot.offer()
    slot.withdraw()  # recording "replied" failed: the answer goes to the response_url instead
    assert slot.wait(5.0) is None


def test_work_threads_follow_the_database_unless_set(slack_wiring: Wiring, monkeypatch: Any) -> None:
    sqlite = slack_wiring.engine.dialect.name == "sqlite"
    assert work_threads(slack_wiring) == (2 if sqlite else 8)  # docs/operations.md "Work threads"
    assert send_threads(slack_wiring) == (SEND_THREADS if sqlite else 0)
    monkeypatch.setattr(slack_wiring.settings, "chatcrm_slack_work_threads", 3)
    assert work_threads(slack_wiring) == 3
    assert send_threads(slack_wiring) == SEND_THREADS  # fewer work threads than sends: a send pool of its own
    monkeypatch.setattr(slack_wiring.settings, "chatcrm_slack_work_threads", SEND_THREADS)
    assert send_threads(slack_wiring) == 0  # as many work threads: each sends its own answer


def test_work_deferred_on_a_context_without_a_queue_leaves_it_without_one(slack_wiring: Wiring) -> None:
    """Recovery's context has no queue, so the inbox runs its requests inline; a deferred task (an event's work)
    must not give it one: a queue of capacity 1 would turn the next requests away as "busy"."""
    ctx = SlackContext(slack_wiring)
    ran: list[str] = []
    ctx.defer(lambda: ran.append("work") and None)
    ctx.defer(lambda: functools.partial(ran.append, "sent"))
    assert ran == ["work", "sent"]  # run inline, the second one's send after it
    assert ctx.queue is None
