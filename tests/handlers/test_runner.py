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
