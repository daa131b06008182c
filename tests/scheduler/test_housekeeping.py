"""Housekeeping: orders past due become overdue and the owner and finance hear it once; old replies go."""
from __future__ import annotations


from sqlalchemy import func, select

from crm_core.models import Order, OutboxMessage, ProcessedInvocation, User
from scheduler.jobs.housekeeping import run_housekeeping


def overdue_notes(wiring) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "order.overdue")
                         .order_by(OutboxMessage.id)).all()
        return sorted((s.get(User, r.target_id).key, r.payload["title"]) for r in rows)


def test_an_unpaid_order_past_due_turns_overdue_and_is_told_once(wiring, console_bot, clock):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("deal new 某某科技 amount=12000")
    assert "Q-1" in li.exec("quote D-1 PRO x10")  # no discount: approved at once
    assert "INV-" in li.exec("order Q-1")
    with wiring.session_factory() as s:
        order = s.scalar(select(Order))
        invoice, due = order.invoice_no, order.due_date
    assert run_housekeeping(uow=wiring.runner.uow(), clock=clock) == 0
    assert overdue_notes(wiring) == []
    clock.advance(days=(due - clock.now().date()).days + 1, hours=1)
    assert run_housekeeping(uow=wiring.runner.uow(), clock=clock) == 1
    assert run_housekeeping(uow=wiring.runner.uow(), clock=clock) == 0  # however often it runs
    # the finance-tagged user has no locale of their own: the company language (zh_CN)
    assert overdue_notes(wiring) == [("lawyer", f"发票 {invoice} 已逾期"), ("li", f"发票 {invoice} 已逾期")]
    with wiring.session_factory() as s:
        assert s.scalar(select(Order.status)) == "overdue"


def test_replies_kept_for_retries_are_forgotten_after_a_week(wiring, runner, user_id, clock):  # type: ignore[no-untyped-def]
    runner.run_text(user_id("emma"), "my", idempotency_key="slack:cmd:T1:old")
    clock.advance(days=8)
    runner.run_text(user_id("emma"), "my", idempotency_key="slack:cmd:T1:new")
    run_housekeeping(uow=wiring.runner.uow(), clock=clock)
    with wiring.session_factory() as s:
        assert list(s.scalars(select(ProcessedInvocation.key))) == ["slack:cmd:T1:new"]
        assert s.scalar(select(func.count(ProcessedInvocation.key))) == 1
