"""A day (two weeks) of the pool with the clock moved: a lead nobody works climbs its follow-up ladder —
the rep, then the rep and the manager, then back to the pool — once per step, in working hours only; a
rep claims it, and the one who lost it cannot take it straight back. Deals get the same shape of ladder."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm_core.models import Lead
from scheduler.jobs.ladders import working_days_between
from tests.scheduler.helpers import last_id, lead_state, notes, run_ladder


def test_working_days() -> None:
    from datetime import date
    mon = date(2026, 3, 2)
    assert working_days_between(mon, mon, [1, 2, 3, 4, 5]) == 0
    assert working_days_between(mon, mon + timedelta(days=3), [1, 2, 3, 4, 5]) == 3  # Tue Wed Thu
    assert working_days_between(mon, mon + timedelta(days=7), [1, 2, 3, 4, 5]) == 5  # a week later
    assert working_days_between(mon, mon + timedelta(days=14), [1, 2, 3, 4, 5, 6]) == 12


def test_a_lead_nobody_works_climbs_the_ladder_and_goes_back_to_the_pool(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    # Monday 2026-03-02 09:00 Shanghai: li adds a lead for himself (the default ladder: 3 / 5 / 7 working days)
    console_bot("li").exec("线索 新建 张三 公司=某某科技 地区=east")
    console_bot("li").exec("记录 L-1 call 已联系")  # answered at once: the SLA is out of the way
    start = last_id(wiring)
    clock.advance(days=2)  # Wednesday: 2 working days idle
    assert run_ladder(wiring, clock) == 0
    clock.advance(days=1)  # Thursday 09:00: 3
    assert run_ladder(wiring, clock) == 1
    assert notes(wiring, since_id=start) == [("li", "L-1 已连续 3 个工作日没有跟进记录。请记录电话或备注：记录 L-1 电话 …")]
    assert run_ladder(wiring, clock) == 0  # however often it runs
    mark = last_id(wiring)
    clock.advance(days=2, hours=13)  # Saturday 22:00: neither a working day nor outside quiet hours
    assert run_ladder(wiring, clock) == 0
    clock.advance(days=1, hours=11)  # Monday 09:00: 5 working days (Tue … Mon)
    assert run_ladder(wiring, clock) == 1
    assert notes(wiring, since_id=mark) == [
        ("li", "L-1 已连续 5 个工作日没有跟进记录（负责人 李雷）。"),
        ("wang", "L-1 已连续 5 个工作日没有跟进记录（负责人 李雷）。"),
    ]
    mark = last_id(wiring)
    clock.advance(days=2)  # Wednesday: 7 — back to the pool; li and his manager are told
    assert run_ladder(wiring, clock) == 1
    assert lead_state(wiring) == ("pool", "li")
    assert notes(wiring, since_id=mark, kinds=("nudge.ladder",)) == [
        ("li", "L-1 已连续 7 个工作日没有跟进记录，已从 李雷 处退回公海。"),
        ("wang", "L-1 已连续 7 个工作日没有跟进记录，已从 李雷 处退回公海。"),
    ]
    assert run_ladder(wiring, clock) == 0
    with wiring.session_factory() as s:
        assert s.get(Lead, 1).pool_reason == "连续 7 个工作日未跟进"
    # li cannot take it straight back; han can, and the ladder starts again for her, nothing bounces
    assert "请让其他同事先领取" in console_bot("li").exec("领取 L-1")
    assert "已归你跟进" in console_bot("han").exec("领取 L-1")
    assert lead_state(wiring) == ("open", "han")
    clock.advance(days=1)
    assert run_ladder(wiring, clock) == 0
    console_bot("han").exec("记录 L-1 call 约了下周见面")
    clock.advance(days=5)  # Tuesday, 3 working days after her activity (Fri, Mon, Tue): her ladder, step one
    assert run_ladder(wiring, clock) == 1
    assert lead_state(wiring) == ("open", "han")


def test_a_stalled_deal_tells_the_rep_then_the_manager(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("线索 新建 张三 公司=某某科技 地区=east")
    li.exec("线索 转化 L-1")
    li.exec("记录 L-1 call 已联系")
    clock.advance(days=14)  # 10 working days without activity in the stage
    mark = last_id(wiring)
    run_ladder(wiring, clock)
    deal_notes = notes(wiring, since_id=mark, kinds=("nudge.ladder.deal",))
    assert deal_notes == [("li", "D-1 在当前阶段已连续 10 个工作日没有跟进记录（负责人 李雷）。")]
    clock.advance(days=7)
    mark = last_id(wiring)
    run_ladder(wiring, clock)
    assert [who for who, _ in notes(wiring, since_id=mark, kinds=("nudge.ladder.deal",))] == ["li", "wang"]
    with wiring.session_factory() as s:
        assert s.scalars(select(Lead.status)).all() == ["converted"]
