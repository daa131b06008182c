"""Tasks, reminders, dates and discounts as people type them, through the console runner on a real database.
T0 is Monday 2026-03-02 09:00 in Shanghai (the company's zone)."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cards.model import Card
from crm_core.models import AuditEntry, Deal, Quote, Reminder, Task
from crm_core.services.users import user_by_key


@pytest.fixture(autouse=True)
def _files_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # quote documents go to ./chatcrm-files/


def _count(wiring, model) -> int:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


class TestDatesInCommands:
    @pytest.mark.parametrize("typed, shown", [
        ("2027/3/31", "2027-03-31（周三）"), ("2027年3月31日", "2027-03-31（周三）"), ("3/31", "2026-03-31（周二）"),
        ("月底", "2026-03-31（周二）"), ("下周五", "2026-03-13（周五）"), ("明天", "2026-03-03（周二）"),
    ])
    def test_close_takes_the_forms_people_write_and_echoes_the_day(self, console_bot, wiring, typed, shown) -> None:  # type: ignore[no-untyped-def]
        out = console_bot("li").exec(f"deal new 杭州某某 amount=1000 close={typed}")
        assert f"预计成交日期 {shown}" in out
        with wiring.session_factory() as s:
            assert s.scalar(select(Deal.close_date)).isoformat() == shown[:10]

    def test_deal_set_in_english_echoes_with_the_weekday(self, console_bot) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        emma.exec("deal new Acme amount=1000")
        assert "Close date 2026-03-13 (Fri)" in emma.exec("deal set D-1 close=next friday")
        assert "Close date 2026-03-31 (Tue)" in emma.exec('deal set D-1 close="end of month"')

    def test_a_date_nobody_can_read_says_what_to_type_and_changes_nothing(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        out = console_bot("li").exec("deal new 杭州某某 amount=1000 close=改天")
        assert "成交日期「改天」无效" in out and "下周五" in out
        assert _count(wiring, Deal) == 0


class TestDiscountsAndProducts:
    @pytest.mark.parametrize("typed, pct", [("打8折", "20"), ("八折", "20"), ("85折", "15"), ("8.5折", "15"),
                                            ("15%", "15"), ("discount=15", "15")])
    def test_discount_forms(self, console_bot, wiring, typed, pct) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        li.exec("deal new 杭州某某 amount=1000")
        out = li.exec(f"quote D-1 PRO x10 {typed}")
        assert f"{pct}% 的折扣需要审批" in out
        with wiring.session_factory() as s:
            assert s.scalar(select(Quote.discount_pct)) == int(pct)

    def test_products_by_name_or_alias(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        li.exec("deal new 杭州某某 amount=1000")
        out = li.exec("报价 D-1 专业版 x2 实施x1")
        assert "PRO 专业版 × 2" in out and "SVC 实施服务 × 1" in out and "Professional" not in out

    def test_an_unknown_product_lists_the_names_to_use(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        li.exec("deal new 杭州某某 amount=1000")
        out = li.exec("报价 D-1 旗舰版 x2")
        assert "旗舰版" in out and "可用产品：PRO, STD" in out
        assert _count(wiring, Quote) == 0


class TestEnumLabels:
    def test_ticket_priority_in_chinese_and_english(self, console_bot) -> None:  # type: ignore[no-untyped-def]
        assert "优先级  : 紧急" in console_bot("li").exec("工单 新建 杭州某某 紧急 网络中断")
        assert "Priority   : urgent" in console_bot("emma").exec("ticket new Acme P1 VPN down")  # an alias

    def test_stage_by_either_label_or_its_start(self, console_bot) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        li.exec("deal new 杭州某某 amount=1000")
        li.exec("deal set D-1 contact=张三")
        assert "需求调研" in li.exec("推进 D-1 需求")
        out = li.exec("推进 D-1 不存在")
        assert "可选阶段：资格确认（qualify）" in out

    def test_lead_source_by_label(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        assert "转介绍" in console_bot("li").exec("线索 新建 王五 company=某某 source=推荐")


class TestTasks:
    def test_task_for_a_colleague_is_told_with_done_and_open(self, console_bot, wiring, outbox_rows, user_id) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        li.exec("deal new 杭州某某 amount=1000")
        out = li.exec('task new D-1 "send the proposal" due=下周五 @chen')
        assert "已为 陈静 新建任务 #2，截止 2026-03-13（周五）" in out and "已通知 陈静" in out  # #1: the stage's task
        [row] = outbox_rows("task.assigned")
        assert row.target_id == user_id("chen") and row.record_id == 2
        card = Card.from_dict(row.payload)
        assert "李雷 给你分派了任务：send the proposal，截止 2026-03-13（周五）" in card.text()
        assert [(b.action, b.value) for b in card.buttons] == [("task.done", "2"), ("task.open", "2")]

    def test_chinese_form_and_own_task_tells_nobody(self, console_bot, outbox_rows) -> None:  # type: ignore[no-untyped-def]
        out = console_bot("li").exec("任务 新建 打电话给王总 截止=明天")
        assert "已为 李雷 新建任务 #1，截止 2026-03-03（周二）" in out
        assert outbox_rows("task.assigned") == []

    def test_tasks_lists_mine_overdue_first_and_flags_them(self, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        emma.exec('task new "later one" due=2026-03-20')
        emma.exec('task new "soon one" due=tomorrow')
        clock.advance(days=3)
        out = emma.exec("tasks")
        assert "My tasks (2)" in out and "1 overdue" in out
        assert out.index("⚠ overdue · 2026-03-03 (Tue) · soon one") < out.index("2026-03-20 (Fri) · later one")
        assert "⚠ overdue" in emma.exec("my")

    def test_a_long_list_says_how_many_there_are_and_that_it_shows_the_first(self, console_bot, wiring,
                                                                             clock) -> None:  # type: ignore[no-untyped-def]
        emma = console_bot("emma")
        with wiring.session_factory.begin() as s:
            owner = user_by_key(s, "emma")
            today = clock.now().date()
            s.add_all(Task(title=f"call back {i:02d}", owner_id=owner.id, created_at=clock.now(),
                           due_date=today + timedelta(days=i - 40)) for i in range(45))  # 40 overdue, 5 not
        out = emma.exec("tasks")
        assert "My tasks (45)" in out and "40 overdue" in out  # the whole list's figures, not the page's
        assert "Showing 1–30 of 45, the oldest due first." in out
        assert "call back 29" in out and "call back 30" not in out
        out = emma.press(1 + [b.action for b in emma.buttons].index("task.list_more"))  # More: the next page
        assert "Showing 31–45 of 45" in out and "call back 30" in out and "call back 29" not in out
        assert "My tasks (45)" in out and "40 overdue" in out
        assert "task.list_more" not in [b.action for b in emma.buttons]  # the last page
        assert "显示第" not in console_bot("li").exec("任务")
        my = emma.exec("my")  # `my` shows ten of each list, and says where the rest are
        assert "The first 10; tasks shows more." in my and "call back 10" not in my
        assert "deal list shows them all" not in my  # she has fewer deals than that
        with wiring.session_factory.begin() as s:
            li = user_by_key(s, "li")
            s.add_all(Task(title=f"回电 {i:02d}", owner_id=li.id, created_at=clock.now(), due_date=today)
                      for i in range(12))
        assert "仅显示前 10 项；输入 任务 查看更多。" in console_bot("li").exec("我的")

    def test_done_and_reopen_by_command_and_button(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        li, chen = console_bot("li"), console_bot("chen")
        li.exec('task new "prepare the demo" @chen')
        assert "任务 #1 已完成" in chen.exec("任务 完成 1")
        assert "已经完成" in chen.exec("task done 1")
        assert "任务 #1 已重新打开" in li.exec("任务 重开 1")  # whoever gave it may reopen it
        assert "#1 · 2026-03-03（周二） · prepare the demo" in chen.exec("任务")
        with wiring.session_factory() as s:
            assert s.get(Task, 1).done_at is None
            assert [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.record_type == "task")
                                                .order_by(AuditEntry.id))] == ["task.create", "task.done", "task.reopen"]

    def test_someone_else_cannot_close_my_task(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        console_bot("li").exec('task new "private"')
        assert "没有权限完成任务 #1" in console_bot("han").exec("任务 完成 1")
        with wiring.session_factory() as s:
            assert s.get(Task, 1).done_at is None

    def test_bad_due_or_person_changes_nothing(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        assert "截止日期「someday」无效" in li.exec('task new "x" due=someday')
        assert "没有这位在职用户" in li.exec('task new "x" @nobody')
        assert "请写任务内容" in li.exec("task new @chen")
        assert _count(wiring, Task) == 0



class TestReminders:
    def test_remind_sets_a_time_in_my_zone_and_says_when(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        li.exec("deal new 杭州某某 amount=1000")
        out = li.exec("remind D-1 friday 10:00 call back")
        assert "我会在 2026-03-06（周五） 10:00 提醒你：call back" in out and "D-1" in out
        with wiring.session_factory() as s:
            r = s.scalars(select(Reminder)).one()
            assert (r.record_type, r.record_id, r.zone) == ("deal", 1, "Asia/Shanghai")
            assert r.due_at.isoformat() == "2026-03-06T02:00:00+00:00" and r.sent_at is None

    def test_chinese_forms_and_defaults(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        assert "2026-03-03（周二） 15:00" in li.exec("提醒 我 明天 下午3点 回电话给王总")
        assert "2026-03-04（周三） 09:00" in li.exec("提醒 后天 发合同")   # a day alone: nine in the morning
        assert "2026-03-03（周二） 08:00" in li.exec("提醒 8:00 开会")      # 08:00 has passed today: tomorrow

    def test_a_reminder_without_time_or_text_or_in_the_past_is_refused(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        li = console_bot("li")
        assert "请先写时间" in li.exec("提醒 回电话")
        assert "请写提醒内容" in li.exec("提醒 明天 10:00")
        assert "该时间已过" in li.exec("提醒 今天 8:00 开会")
        assert _count(wiring, Reminder) == 0

    def test_a_reminder_on_a_record_i_cannot_see_is_refused(self, console_bot, wiring) -> None:  # type: ignore[no-untyped-def]
        console_bot("li").exec("deal new 杭州某某 amount=1000")
        out = console_bot("emma").exec("remind D-1 tomorrow call")
        assert "You are not allowed" in out
        assert _count(wiring, Reminder) == 0
