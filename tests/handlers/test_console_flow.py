"""The foundation's acceptance flow through the console adapter, in English and in Chinese."""
from __future__ import annotations

from sqlalchemy import select

from crm_core.models import Activity, Deal, Lead


def test_a_rep_runs_a_lead_to_a_won_deal_in_english(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    out = emma.exec('lead add "Ann Lee" company="Acme Inc." email=ann@acme.com')
    assert "Lead L-1 · Ann Lee" in out and "New lead, assigned to Emma Jones" in out
    out = emma.exec("lead add Bob company='ACME, Inc'")
    # Bob is another person at the same company: a lead of his own, with a hint and a merge button
    assert "Lead L-2 · Bob" in out and "Same company as L-1 (owner Emma Jones)" in out
    assert "[3] Merge into L-1" in out
    out = emma.exec('lead add "ann  LEE" email=ANN@Acme.com')  # Ann again: her lead is updated
    assert "Already known (same email): updated L-1" in out and "lead split L-1" in out
    out = emma.exec("1")  # the Convert button of the card above
    assert "Deal D-1" in out and "L-1 converted" in out
    out = emma.exec("advance D-1 proposal")
    assert "Cannot do that" in out and "Missing: amount, close_date, budget" in out
    out = emma.exec("deal set D-1 amount=250000 close=2027-03-31 budget=yes")
    assert "Updated: amount, close_date, budget" in out and "$" not in out
    out = emma.exec("advance D-1")
    assert "Moved from Qualify to Discovery" in out
    out = emma.exec("advance D-1")
    assert "Moved from Discovery to Proposal" in out and "Send the proposal" in out
    out = emma.exec('log D-1 call Talked budget with the "CFO" 👍')
    assert "Logged a call on D-1" in out
    out = emma.exec("won D-1")
    assert "Closed won" in out
    # The closed card says so under its title as a heading would, and a later look shows the same.
    assert "== Deal D-1 · Acme Inc. ==\nWon\n" in out and "== Deal D-1 · Acme Inc. ==\nWon\n" in emma.exec("deal D-1")
    with wiring.session_factory() as s:
        deal = s.get(Deal, 1)
        assert (deal.status, deal.stage, str(deal.amount)) == ("won", "won", "250000.00")
        assert s.scalar(select(Activity.text)) == 'Talked budget with the "CFO" 👍'
        assert s.get(Lead, 1).status == "converted"


def test_a_rep_runs_the_same_flow_in_chinese(console_bot, wiring):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    assert "已新建线索" in li.exec("线索 新建 张三 公司=深圳某某科技有限公司 电话=13800138000")
    out = li.exec("线索 新建 张三丰 公司=某某科技（深圳）有限公司")
    assert "线索 L-2 · 张三丰" in out and "与 L-1 同一公司（负责人 李雷）" in out and "合并到 L-1" in out
    assert "该线索已存在（电话相同）：已更新 L-1" in li.exec("线索 新建 张三 电话=\"+86 138-0013-8000\"")
    assert "商机 D-1" in li.exec("线索 转化 L-1 amount=12万")
    out = li.exec("推进 D-1 方案报价")
    assert "还不能进入「方案报价」" in out and "缺少：预计成交日期、预算" in out  # labels, not raw keys
    assert "已更新" in li.exec("商机 设置 D-1 close=2027-03-31 budget=yes")
    assert "已从「资格确认」推进到「方案报价」" in li.exec("推进 D-1 方案报价")
    assert "已在 D-1 记录一条电话" in li.exec("记录 D-1 call 客户说下周签")
    assert "已赢单" in li.exec("赢单 D-1")
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).status == "won"


def test_mistakes_get_usage_in_the_users_language_and_change_nothing(console_bot, wiring):  # type: ignore[no-untyped-def]
    li, emma = console_bot("li"), console_bot("emma")
    assert "你是不是想输入" in li.exec("推近 D-1") or "无法识别" in li.exec("推近 D-1")
    out = emma.exec("advnce D-1")
    assert "Did you mean: advance" in out
    out = emma.exec("deal new Acme amount=lots")
    assert "amount" in out and "120,000" in out
    out = emma.exec("deal D-99")
    assert "D-99 was not found" in out
    with wiring.session_factory() as s:
        assert s.scalar(select(Deal.id)) is None


def test_a_rep_cannot_touch_another_reps_deal_but_their_manager_can(console_bot):  # type: ignore[no-untyped-def]
    assert "Deal D-1" in console_bot("emma").exec("deal new Globex amount=1000")
    assert "not allowed" in console_bot("tom").exec("won D-1")
    assert "没有权限" in console_bot("li").exec("赢单 D-1")
    assert "Closed won" in console_bot("sam").exec("won D-1")


def test_buttons_are_numbered_and_pressing_one_reloads_the_record(console_bot):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    out = emma.exec("deal new Globex amount=1000")
    assert "[2] Advance stage" in out
    assert "Missing: contact" in emma.exec("2")  # the click re-checks the blueprint on the server
    assert "[2] Advance stage" in emma.exec("deal set D-1 contact=Ann")
    assert "Moved from Qualify to Discovery" in emma.exec("2")
    assert "No button 9" in emma.exec("9")


def test_my_lists_open_leads_deals_and_tasks(console_bot):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("lead add Zoe company=Initech")
    emma.exec("deal new Globex amount=1000")
    out = emma.exec("my")
    assert "L-1 · Zoe · Initech" in out and "D-1 · Globex" in out and "Confirm budget and timeline" in out


def test_a_double_click_on_advance_moves_the_deal_once(console_bot, runner, user_id, wiring):  # type: ignore[no-untyped-def]
    from handlers.invocation import Invocation
    emma = console_bot("emma")
    out = emma.exec("deal new Globex amount=1000 ")
    emma.exec("deal set D-1 contact=Ann")
    advance = next(b for b in emma.buttons if b.action == "deal.advance")
    assert advance.value == "D-1:qualify"
    click = Invocation(actor_id=user_id("emma"), kind="action", name="deal.advance", args={"value": advance.value})
    first, second = runner.run(click), runner.run(click)
    assert "Moved from Qualify to Discovery" in first.text()
    assert "already moved on" in second.text() and "Discovery" in second.text()
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).stage == "discovery"
    assert "Deal D-1" in out


def test_a_task_from_my_list_can_be_marked_done_once(console_bot, wiring):  # type: ignore[no-untyped-def]
    from crm_core.models import Task
    emma = console_bot("emma")
    emma.exec("deal new Globex amount=1000")
    out = emma.exec("my")
    assert "#1 · " in out and "Confirm budget and timeline" in out
    assert "not allowed" in console_bot("tom").exec("task done 1")  # tom is not emma's manager
    assert "Task #1 done" in emma.exec("task done #1")
    assert "already done" in emma.exec("task done 1")
    assert "was not found" in emma.exec("task done 99")
    assert "已完成任务 #" not in console_bot("li").exec("任务 完成 1")  # li may not either
    with wiring.session_factory() as s:
        assert s.get(Task, 1).done_at is not None
    assert "Confirm budget and timeline" not in emma.exec("my")
