"""From the console, in Chinese and English: owners really move and both are told; `transfer` hands over a
book with one message each side; won needs an amount; past close dates; moving back asks first;
a lost deal withdraws its approval (card updated, approve and order refused); amount=quote."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_core.models import Approval, AuditEntry, Deal, Task, User


@pytest.fixture(autouse=True)
def _files_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the console writes quote documents into ./chatcrm-files/


def owner_of(wiring, deal_id: int) -> str:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.get(User, s.get(Deal, deal_id).owner_id).key


def told(outbox_rows, kind: str) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return {r.target_id: str(r.payload) for r in outbox_rows(kind)}


class TestDealOwner:
    def test_owner_gives_the_deal_away_and_both_are_told(self, console_bot, wiring, outbox_rows, user_id) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        li.exec("deal new Acme amount=50000")
        out = li.exec("deal set D-1 owner=tom")
        assert "D-1 的负责人已改为 Tom Baker" in out and re.search(r"负责人\s*: Tom Baker", out)
        assert owner_of(wiring, 1) == "tom"
        msgs = told(outbox_rows, "owner.changed")
        assert set(msgs) == {user_id("li"), user_id("tom")}
        assert "moved to you by 李雷 (previous owner: 李雷)" in msgs[user_id("tom")]  # tom reads English
        assert "已把 D-1 · Acme 从你名下改派给 Tom Baker" in msgs[user_id("li")]
        with wiring.session_factory() as s:
            assert s.scalar(select(AuditEntry.action).where(AuditEntry.action == "deal.owner")) == "deal.owner"
        # the new owner works on it; the old one no longer can
        assert "Deal D-1" in console_bot("tom").exec("deal D-1")
        assert "没有权限" in li.exec("deal set D-1 budget=yes")

    def test_a_rep_cannot_take_anothers_deal(self, console_bot, wiring, outbox_rows) -> None:  # type: ignore[no-untyped-def]
        console_bot("li").exec("deal new Acme amount=50000")
        out = console_bot("han").exec("deal set D-1 owner=han")
        assert "没有权限" in out
        assert owner_of(wiring, 1) == "li" and outbox_rows("owner.changed") == []

    def test_manager_reassigns_by_display_name_with_other_fields(self, console_bot, wiring, outbox_rows,  # type: ignore[no-untyped-def]
                                                                 user_id) -> None:
        console_bot("li").exec("deal new Acme amount=50000")
        out = console_bot("wang").exec("商机 设置 D-1 负责人=韩梅梅 budget=yes")
        assert "已更新：预算" in out and "D-1 的负责人已改为 韩梅梅" in out
        assert owner_of(wiring, 1) == "han"
        assert set(told(outbox_rows, "owner.changed")) == {user_id("li"), user_id("han")}

    def test_slack_mention_names_the_new_owner(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        emma.exec("deal new Globex amount=50000")
        assert "D-1 now belongs to Tom Baker." in emma.exec("deal set D-1 owner=<@U01TOM>")

    def test_unknown_person_is_refused_with_did_you_mean_and_nothing_changes(self, console_bot, wiring,  # type: ignore[no-untyped-def]
                                                                             outbox_rows) -> None:
        emma = console_bot("emma")
        emma.exec("deal new Globex amount=50000")
        out = emma.exec("deal set D-1 owner=tomm budget=yes")
        assert "did you mean tom (Tom Baker)" in out
        assert owner_of(wiring, 1) == "emma" and outbox_rows("owner.changed") == []
        with wiring.session_factory() as s:
            assert "budget" not in (s.get(Deal, 1).fields or {})


def test_lead_assign_in_english_and_chinese(console_bot, wiring, outbox_rows, user_id) -> None:  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("lead add Ann company=Acme")
    assert "L-1 的负责人已改为 韩梅梅" in li.exec("线索 分配 L-1 韩梅梅")
    assert set(told(outbox_rows, "owner.changed")) == {user_id("li"), user_id("han")}
    assert "not allowed" in console_bot("tom").exec("lead assign L-1 tom")
    assert "L-1 now belongs to Tom Baker." in console_bot("admin").exec("lead assign L-1 Tom Baker")


def test_transfer_moves_the_book_with_one_message_each_side(console_bot, wiring, outbox_rows, user_id) -> None:  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("lead add Ann company=Acme")
    li.exec("deal new Acme amount=50000")
    li.exec("deal new Beta amount=60000")
    assert "没有权限" in console_bot("han").exec("交接 li han")
    out = console_bot("wang").exec("交接 li han")
    assert "已把 李雷 的 1 条线索、2 个商机、0 个工单、0 份合同和 2 项任务交接给 韩梅梅" in out
    assert owner_of(wiring, 1) == owner_of(wiring, 2) == "han"
    rows = outbox_rows("owner.transferred")
    assert sorted(r.target_id for r in rows) == sorted([user_id("li"), user_id("han")])
    assert outbox_rows("owner.changed") == []  # not one message per record
    assert "Moved 0 leads, 0 deals" in console_bot("admin").exec("transfer li han")


def test_transfer_from_someone_who_left_but_never_to_them(console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
    console_bot("li").exec("deal new Acme amount=50000")
    with wiring.runner.uow() as uow:
        uow.session.scalar(select(User).where(User.key == "li")).active = False
    admin = console_bot("admin")
    assert "no active user is called that" in admin.exec("transfer han li")
    assert "Moved 0 leads, 1 deals" in admin.exec("transfer li han")
    assert owner_of(wiring, 1) == "han"


class TestDealRulesInChat:
    def test_won_without_amount_is_refused_in_both_languages(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        li, emma = console_bot("li"), console_bot("emma")
        li.exec("lead add Ann company=Acme")
        li.exec("lead convert L-1")  # a deal without an amount
        assert "请先填写：商机 设置 D-1 金额=…" in li.exec("赢单 D-1")
        emma.exec("lead add Bob company=Beta")
        emma.exec("lead convert L-2")
        assert "Set it first: deal set D-2 amount=…" in emma.exec("won D-2")
        assert "Closed won" in emma.exec("deal set D-2 amount=1000") + emma.exec("won D-2")

    def test_the_fill_in_hint_of_a_stage_is_what_a_chinese_rep_can_type(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        li.exec("lead add Ann company=Acme")
        li.exec("lead convert L-1")
        refused = "\n".join(li.exec("推进 D-1") for _ in range(3))  # up to the stage that needs amount, date, budget
        hint = refused.split("请先填写：")[1].splitlines()[0]
        assert hint == "商机 设置 D-1 金额=… 预计成交日期=… 预算=…"
        typed = hint.replace("金额=…", "金额=12万").replace("预计成交日期=…", "预计成交日期=2026-06-30").replace("预算=…", "预算=有")
        assert "已更新" in li.exec(typed)
        assert "已从" in li.exec("推进 D-1")

    def test_past_close_date_refused(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        assert "today is 2026-03-02" in emma.exec("deal new Globex amount=100 close=2020-01-01")
        emma.exec("deal new Globex amount=100")
        assert "该日期已过" in console_bot("li").exec("deal new Acme amount=100 close=2020-01-01")
        assert "today is 2026-03-02" in emma.exec("deal set D-1 close=2020-01-01")

    def test_backwards_asks_then_confirm_moves_without_duplicating_tasks(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        emma.exec("deal new Globex amount=100")
        emma.exec("deal set D-1 contact=Ann")
        emma.exec("advance D-1")
        out = emma.exec("advance D-1 qualify")
        assert "Move D-1 back to Qualify?" in out and "advance D-1 qualify confirm" in out
        with wiring.session_factory() as s:
            assert s.get(Deal, 1).stage == "discovery"
        confirm = emma.buttons[0]
        assert confirm.action == "deal.advance_confirm"
        out = emma.exec("1")  # the Confirm button
        assert "Moved from Discovery to Qualify" in out and "New tasks" not in out
        emma.buttons = [confirm]
        assert "Nothing was changed" in emma.exec("1")  # the same Confirm again: the deal has moved on
        emma.exec("advance D-1")
        out = console_bot("sam").exec("advance D-1 qualify confirm")  # emma's manager, the text form
        assert "Moved from Discovery to Qualify" in out
        with wiring.session_factory() as s:
            titles = sorted(s.scalars(select(Task.title).where(Task.deal_id == 1)))
        assert titles == ["Confirm budget and timeline", "Schedule a discovery call"]

    def test_backwards_in_chinese(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        li.exec("商机 新建 某某科技 金额=100")
        li.exec("商机 设置 D-1 contact=张三")
        li.exec("推进 D-1")
        assert "确定把 D-1 退回「资格确认」吗？" in li.exec("推进 D-1 qualify")
        assert "已从「需求调研」推进到「资格确认」" in li.exec("推进 D-1 qualify 确认")

    def test_lost_deal_withdraws_approval_card_updated_approve_and_order_refused(self, console_bot, wiring,  # type: ignore[no-untyped-def]
                                                                                outbox_rows, user_id) -> None:
        li, wang = console_bot("li"), console_bot("wang")
        li.exec("deal new Acme amount=200000")
        li.exec("quote D-1 PRO x10 discount=15")
        assert "已输单" in li.exec("输单 D-1 reason=预算取消")
        with wiring.session_factory() as s:
            assert s.get(Approval, 1).status == "withdrawn"
        [update] = [r for r in outbox_rows("approval.request") if r.op == "update"]
        assert update.target_id == user_id("wang") and update.ref_key == "approval:1:step:1"
        assert "已撤回：D-1 已输单，A-1 无需再审批" in str(update.payload) and update.payload["buttons"] == []
        assert "A-1 已撤回，无需再审批" in wang.exec("approve A-1")
        assert "不能下单" in li.exec("order Q-1")
        # the deal's card says what became of its quote, in words (it showed the catalog key quote.withdrawn)
        card = li.exec("商机 D-1")
        assert "Q-1 第 1 版" in card and "已撤回（商机已关闭）" in card and "quote." not in card, card

    def test_amount_from_the_approved_quote(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        emma.exec("deal new Globex amount=5000")
        out = emma.exec("quote D-1 PRO x1 discount=5")
        assert "Use quote total ¥1,288.20 as deal amount" in out
        assert re.search(r"Amount\s*: ¥1,288.20", emma.exec("deal set D-1 amount=quote"))
        li = console_bot("li")
        li.exec("deal new Acme amount=5000")
        assert "还没有已批准的报价" in li.exec("商机 设置 D-2 金额=报价")


def test_eight_simultaneous_reassignments_move_the_deal_once(console_bot, wiring, outbox_rows, user_id) -> None:  # type: ignore[no-untyped-def]
    """Double submits from a manager (SQLite: IMMEDIATE transactions; PostgreSQL: the deal row lock)."""
    import threading

    console_bot("li").exec("deal new Acme amount=50000")
    barrier, lock, texts = threading.Barrier(8), threading.Lock(), []

    def submit() -> None:
        barrier.wait()
        text = wiring.runner.run_text(user_id("wang"), "deal set D-1 owner=han").text()
        with lock:
            texts.append(text)

    workers = [threading.Thread(target=submit) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    moved = [t for t in texts if "D-1 的负责人已改为 韩梅梅" in t]
    assert len(texts) == 8 and len(moved) == 1, texts
    assert all("已经是 韩梅梅" in t for t in texts if t not in moved), texts
    assert owner_of(wiring, 1) == "han"
    assert sorted(r.target_id for r in outbox_rows("owner.changed")) == sorted([user_id("li"), user_id("han")])
    with wiring.session_factory() as s:
        assert len(s.scalars(select(AuditEntry).where(AuditEntry.action == "deal.owner")).all()) == 1


def test_an_edit_waiting_behind_a_reassignment_sees_the_new_owner(console_bot, wiring, user_id) -> None:  # type: ignore[no-untyped-def]
    """wang edits D-1 while li gives it to han: whichever runs second works on the new state, no crash."""
    import threading

    console_bot("li").exec("deal new Acme amount=50000")
    barrier, texts = threading.Barrier(2), {}

    def run(key: str, text: str) -> None:
        barrier.wait()
        texts[key] = wiring.runner.run_text(user_id(key), text).text()

    workers = [threading.Thread(target=run, args=("li", "deal set D-1 owner=han")),
               threading.Thread(target=run, args=("wang", "deal set D-1 budget=yes"))]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert "D-1 的负责人已改为 韩梅梅" in texts["li"]
    assert "已更新：预算" in texts["wang"] and "出错了" not in texts["wang"], texts
    assert owner_of(wiring, 1) == "han"
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).fields == {"budget": "yes"}
