"""The runner: one transaction per action, errors as cards, retries answered once."""
from __future__ import annotations

import logging

from sqlalchemy import func, select

from cards.model import Reply
from crm_core.models import Deal, ProcessedInvocation
from handlers import registry
from handlers.invocation import Invocation


def count_deals(wiring) -> int:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.scalar(select(func.count(Deal.id))) or 0


def test_a_retried_request_with_the_same_key_has_one_effect_and_the_same_reply(runner, user_id, wiring):  # type: ignore[no-untyped-def]
    first = runner.run_text(user_id("emma"), "deal new Globex amount=100", idempotency_key="slack:retry:abc")
    again = runner.run_text(user_id("emma"), "deal new Globex amount=100", idempotency_key="slack:retry:abc")
    assert count_deals(wiring) == 1
    assert again.to_dict() == first.to_dict()
    with wiring.session_factory() as s:
        assert s.get(ProcessedInvocation, "slack:retry:abc") is not None


def test_an_internal_error_rolls_back_and_shows_a_reference(runner, user_id, wiring, caplog, monkeypatch):  # type: ignore[no-untyped-def]
    def explode(inv, uow, clock, actor):  # type: ignore[no-untyped-def]
        from crm_core.services.deals import do_create_deal
        do_create_deal(uow, actor, account_name="Half", amount=None, name=None, close_date=None, now=clock.now())
        raise RuntimeError("boom")

    monkeypatch.setitem(registry.ACTIONS, "test.explode", registry.Registered(explode, frozenset(
        {"inv", "uow", "clock", "actor"}), True))
    with caplog.at_level(logging.ERROR, logger="chatcrm.runner"):
        reply = runner.run(Invocation(actor_id=user_id("emma"), kind="action", name="test.explode"))
    assert isinstance(reply, Reply)
    ref = reply.cards[0].text().split("Reference: ")[1].split(".")[0]
    assert len(ref) == 8 and ref in caplog.text and "boom" in caplog.text
    assert count_deals(wiring) == 0


def test_a_refusal_rolls_back_everything_the_action_did(runner, user_id, wiring, outbox_rows):  # type: ignore[no-untyped-def]
    runner.run_text(user_id("emma"), "deal new Globex amount=100")
    before = len(outbox_rows())
    reply = runner.run_text(user_id("emma"), "deal set D-1 name=New amount=-5")
    assert "amount" in reply.text()
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).name == "Globex"
    assert len(outbox_rows()) == before


def test_unknown_button_values_are_not_found_not_crashes(runner, user_id):  # type: ignore[no-untyped-def]
    for value in ["", "D-999999", "'; DROP TABLE deals; --", "x" * 5000, "L-1"]:
        reply = runner.run(Invocation(actor_id=user_id("li"), kind="action", name="deal.advance", args={"value": value}))
        assert reply.cards[0].kind == "error", value
        assert "went wrong" not in reply.text()


def _claimed(wiring, key: str, clock):  # type: ignore[no-untyped-def]
    from crm_core import inbox
    row = inbox.new_row(key=key, platform="slack", kind="slack.command", external_user="U1", team="T1",
                        payload={}, reply_to={}, now=clock.now())
    assert inbox.record(wiring.session_factory, row)
    return inbox.claim_key(wiring.session_factory, key, clock.now(), first=True)


def test_an_inboxed_change_is_recorded_on_its_inbox_row_once(runner, user_id, wiring, clock):  # type: ignore[no-untyped-def]
    from crm_core import inbox
    item = _claimed(wiring, "slack:cmd:T1:U1:one", clock)
    outcome = runner.answer_text(user_id("emma"), "deal new Globex amount=100", idempotency_key=item.key,
                                 inboxed=True)
    assert (outcome.saved, outcome.recorded) == (True, True) and count_deals(wiring) == 1
    row = inbox.get(wiring.session_factory, item.key)
    assert row is not None and (row.status, row.saved) == ("done", True) and row.reply == outcome.reply.to_dict()
    with wiring.session_factory() as s:
        assert s.get(ProcessedInvocation, item.key) is None  # the inbox row is the record
    # Another process (its lease ran out) works on the same row after it was finished: it rolls back and
    # answers with the reply that was stored.
    again = runner.answer_text(user_id("emma"), "deal new Globex amount=100", idempotency_key=item.key,
                               inboxed=True)
    assert count_deals(wiring) == 1
    assert again.reply.to_dict() == outcome.reply.to_dict() and again.row is not None
    assert runner.settle(item, again) == again.row


def test_an_inboxed_read_stores_nothing_on_its_first_attempt(runner, user_id, wiring, clock):  # type: ignore[no-untyped-def]
    from crm_core import inbox
    runner.run_text(user_id("emma"), "deal new Globex amount=100")
    item = _claimed(wiring, "slack:cmd:T1:U1:read", clock)
    outcome = runner.answer_text(user_id("emma"), "deal D-1", idempotency_key=item.key, inboxed=True)
    assert "Globex" in outcome.reply.text() and (outcome.saved, outcome.recorded) == (True, False)
    settled = runner.settle(item, outcome)
    assert (settled.status, settled.saved, settled.reply) == ("done", True, outcome.reply.to_dict())
    row = inbox.get(wiring.session_factory, item.key)
    assert row is not None and (row.status, row.reply) == ("pending", None)  # nothing written
    # Read again after a failed delivery (attempt 2): now stored, so that a third pass only delivers.
    redo = inbox.claim_key(wiring.session_factory, item.key, clock.now() + inbox.LEASE)
    assert redo is not None and redo.attempts == 2
    stored = runner.settle(redo, runner.answer_text(user_id("emma"), "deal D-1", idempotency_key=item.key,
                                                    inboxed=True))
    assert (stored.status, stored.saved, stored.reply is not None) == ("done", True, True)


def test_an_inboxed_refusal_finishes_its_row_in_its_own_transaction(runner, user_id, wiring, clock, monkeypatch):  # type: ignore[no-untyped-def]
    """Refused before it wrote anything: the row is finished with the refusal in the use case's transaction, so
    the request needs no second one (`settle` then writes nothing)."""
    from sqlalchemy.orm import Session

    from crm_core import inbox
    runner.run_text(user_id("emma"), "deal new Globex amount=100")
    item = _claimed(wiring, "slack:cmd:T1:U1:refused", clock)
    li = user_id("li")  # not Emma's deal, nor in her team
    sessions = []
    init = Session.__init__
    monkeypatch.setattr(Session, "__init__", lambda self, *a, **k: (sessions.append(1), init(self, *a, **k))[1])
    outcome = runner.answer_text(li, "advance D-1", idempotency_key=item.key, inboxed=True)
    settled = runner.settle(item, outcome)
    assert outcome.reply.cards[0].kind == "error" and "D-1" in outcome.reply.text()
    assert (outcome.saved, outcome.recorded) == (False, True)
    assert len(sessions) == 1  # before: the use case's, rolled back, then one to finish the row
    row = inbox.get(wiring.session_factory, item.key)
    assert row is not None and (row.status, row.saved, row.reply) == ("done", False, outcome.reply.to_dict())
    assert (settled.status, settled.saved, settled.reply) == ("done", False, outcome.reply.to_dict())


def test_an_inboxed_refusal_after_a_write_still_rolls_the_write_back(runner, user_id, wiring, clock, monkeypatch,  # type: ignore[no-untyped-def]
                                                                    outbox_rows):
    from crm_core import inbox
    from crm_core.errors import DomainError
    from crm_core.services.deals import do_create_deal

    def half_then_refuse(inv, uow, clock, actor):  # type: ignore[no-untyped-def]
        do_create_deal(uow, actor, account_name="Half", amount=None, name=None, close_date=None, now=clock.now())
        uow.session.flush()
        raise DomainError("forbidden.work_on", ref="D-1")

    monkeypatch.setitem(registry.ACTIONS, "test.refuse", registry.Registered(half_then_refuse, frozenset(
        {"inv", "uow", "clock", "actor"}), True))
    item = _claimed(wiring, "slack:act:T1:U1:half", clock)
    outcome = runner.answer(Invocation(actor_id=user_id("emma"), kind="action", name="test.refuse",
                                       idempotency_key=item.key, inboxed=True))
    assert outcome.reply.cards[0].kind == "error" and (outcome.saved, outcome.recorded) == (False, False)
    assert count_deals(wiring) == 0 and outbox_rows() == []
    settled = runner.settle(item, outcome)  # finished on its own, after the rollback
    row = inbox.get(wiring.session_factory, item.key)
    assert row is not None and (row.status, row.saved) == ("done", False) and settled.status == "done"
