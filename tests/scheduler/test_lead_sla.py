"""A lead's first-response SLA, with the clock moved through its life: the exact messages, once each."""
from __future__ import annotations

from sqlalchemy import select

from crm_core.models import Lead, SlaBreach
from handlers.notify import unit_of_work_factory
from scheduler.jobs.leads import run_lead_sla
from tests.scheduler.helpers import last_id, notes


def run(wiring, clock, config=None) -> int:  # type: ignore[no-untyped-def]
    factory = unit_of_work_factory(wiring.session_factory, config or wiring.config, clock)
    return run_lead_sla(uow=factory(), clock=clock)


def test_warn_then_reassign_then_the_new_owner_answers(wiring, console_bot, clock, user_id) -> None:  # type: ignore[no-untyped-def]
    # Monday 09:00 Shanghai: a manager's lead goes round-robin to the east pool (李雷 first).
    assert "负责人：李雷" in console_bot("wang").exec("lead add 张三 company=某某科技 region=east")
    start = last_id(wiring)
    clock.advance(minutes=9)
    assert run(wiring, clock) == 0  # nothing before 09:10
    clock.advance(minutes=1)
    assert run(wiring, clock) == 1
    assert notes(wiring, since_id=start) == [("li", "请在 5 分钟内（09:15 前）首次跟进。记录跟进：记录 L-1 电话 …")]
    assert run(wiring, clock) == 0  # however often it runs
    clock.advance(minutes=4, seconds=59)
    assert run(wiring, clock) == 0
    mark = last_id(wiring)
    clock.advance(seconds=1)  # 09:15: breached
    assert run(wiring, clock) == 2
    assert notes(wiring, since_id=mark) == [
        ("li", "L-1 已改派给 韩梅梅：15 分钟内没有首次跟进。"),
        ("wang", "李雷 未在 15 分钟内跟进 L-1，已改派给 韩梅梅。"),
        ("han", "线索 L-1 · 张三 因超时未跟进，已改派给你。"),
    ]
    assert run(wiring, clock) == 0
    mark = last_id(wiring)
    clock.advance(minutes=10)  # 09:25: the new owner's clock (due 09:30) warns
    assert run(wiring, clock) == 1
    assert notes(wiring, since_id=mark) == [("han", "请在 5 分钟内（09:30 前）首次跟进。记录跟进：记录 L-1 电话 …")]
    clock.advance(minutes=1)
    assert "已在 L-1 记录一条电话" in console_bot("han").exec("log L-1 call 已联系客户")
    mark = last_id(wiring)
    clock.advance(minutes=10)  # past 09:30: answered, so the chain stopped
    assert run(wiring, clock) == 0
    assert notes(wiring, since_id=mark) == []
    with wiring.session_factory() as s:
        lead = s.get(Lead, 1)
        assert (lead.owner.key, lead.reassign_count) == ("han", 1)
        assert [(b.kind, b.owner_id) for b in s.scalars(select(SlaBreach))] == [("lead.first_response", user_id("li"))]


def test_escalate_tells_the_owner_and_the_manager_once(wiring, console_bot, clock, config) -> None:  # type: ignore[no-untyped-def]
    escalate = config.model_copy(update={"sla": config.sla.model_copy(update={
        "lead": config.sla.lead.model_copy(update={"on_breach": "escalate"})})})
    console_bot("sam").exec('lead add "Ann Lee" company=Acme region=intl')  # → Emma (intl pool)
    clock.advance(minutes=15)
    mark = last_id(wiring)
    assert run(wiring, clock, escalate) == 2
    assert notes(wiring, since_id=mark) == [
        ("emma", "First response on L-1 is overdue (due 09:15). Your manager Sam Taylor has been told."),
        ("sam", "Emma Jones missed the first response on L-1 (due 09:15)."),
    ]
    clock.advance(minutes=1)
    assert run(wiring, clock, escalate) == 0
    clock.advance(days=1)
    assert run(wiring, clock, escalate) == 0


def test_a_lead_converted_before_the_deadline_is_left_alone(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    console_bot("wang").exec("lead add 张三 company=某某科技 region=east")
    console_bot("li").exec("lead convert L-1")
    clock.advance(minutes=20)
    mark = last_id(wiring)
    assert run(wiring, clock) == 0
    assert notes(wiring, since_id=mark) == []
