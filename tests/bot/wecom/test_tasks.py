"""Tasks, reminders, dates and discounts over WeCom, in Chinese: encrypted callbacks (wechatpy's real crypto)
into create_app(), the assignee's template card and the reminder through the outbox and the WeCom
messenger to the fake WeCom API. T0 is Monday 2026-03-02 09:00 in Shanghai."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.console_messenger import ConsoleMessenger
from bot.wecom.runtime import WeComRuntime
from bot.wiring import Wiring
from crm_core.clock import FrozenClock
from crm_core.models import OutboxMessage, Quote, Task
from scheduler.delivery import deliver_due
from scheduler.jobs.reminders import run_reminders
from tests.bot.wecom.conftest import WeComHarness, key_of


@pytest.fixture
def deliver(wecom_wiring: Wiring, wecom_rt: WeComRuntime, clock: FrozenClock):  # type: ignore[no-untyped-def]
    messengers = {"wecom": wecom_rt.messenger, "console": ConsoleMessenger(wecom_wiring.session_factory, clock)}

    def run() -> None:
        for _ in range(3):
            deliver_due(wecom_wiring.session_factory, messengers, clock, wecom_wiring.config)
            clock.advance(seconds=3)
        with wecom_wiring.session_factory() as s:
            stuck = [(r.id, r.kind, r.status) for r in s.scalars(select(OutboxMessage).where(
                OutboxMessage.status.not_in(("sent", "skipped"))))]
        assert stuck == []
    return run


def said(wecom: WeComHarness, userid: str, text: str) -> str:
    """Everything the app sent `userid` in answer (template cards, markdown, files), as text."""
    before = len(wecom.fake.sent_to(userid))
    r = wecom.say(userid, text)
    assert r.status_code == 200 and r.content == b"", r.text
    return str(wecom.fake.sent_to(userid)[before:])


def test_a_task_for_a_colleague_in_chinese_reaches_them_with_buttons(wecom, wecom_wiring, deliver) -> None:  # type: ignore[no-untyped-def]
    said(wecom, "lilei", "商机 新建 杭州某某 amount=1000")
    reply = said(wecom, "lilei", '任务 新建 D-1 "发方案" 截止=下周五 @陈静')
    assert "已为 陈静 新建任务 #2，截止 2026-03-13（周五）" in reply
    deliver()
    card = wecom.last_card("chenjing")
    assert "李雷 给你分派了任务：发方案，截止 2026-03-13（周五）" in str(card)
    assert [b["text"] for b in card["button_list"]] == ["完成", "查看"]
    r = wecom.click("chenjing", card["task_id"], key_of(card, "task.done"))
    assert r.status_code == 200
    assert "任务 #2 已完成" in str(wecom.last_card("chenjing"))
    with wecom_wiring.session_factory() as s:
        assert s.get(Task, 2).done_at is not None


def test_remind_in_chinese_arrives_at_ten_once(wecom, wecom_wiring, deliver, clock) -> None:  # type: ignore[no-untyped-def]
    said(wecom, "lilei", "商机 新建 杭州某某 amount=1000")
    assert "我会在 2026-03-03（周二） 10:00 提醒你：回电话给王总" in said(wecom, "lilei", "提醒 D-1 明天 10点 回电话给王总")
    clock.set(datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc))  # 10:00 Shanghai
    assert run_reminders(uow=wecom_wiring.uow(), clock=clock) == 1
    assert run_reminders(uow=wecom_wiring.uow(), clock=clock) == 0
    deliver()
    sent = [str(c) for c in wecom.fake.cards_to("lilei")] + wecom.fake.texts_to("lilei")
    assert sum("回电话给王总" in x and "⏰ 提醒" in x and "设定时间 10:00 · D-1" in x for x in sent) == 1


def test_dates_discounts_and_product_names_in_chinese(wecom, wecom_wiring) -> None:  # type: ignore[no-untyped-def]
    assert "预计成交日期 2026-03-31（周二）" in said(wecom, "lilei", "商机 新建 杭州某某 amount=1000 close=月底")
    assert "20% 的折扣需要审批" in said(wecom, "lilei", "报价 D-1 专业版 x10 打8折")
    assert "预计成交日期 2027-03-31（周三）" in said(wecom, "lilei", "商机 设置 D-1 close=2027年3月31日")
    with wecom_wiring.session_factory() as s:
        quote = s.scalars(select(Quote)).one()
        assert quote.discount_pct == 20 and [ln.sku for ln in quote.lines] == ["PRO"]
