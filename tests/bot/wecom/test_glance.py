"""`客户 <名称>`, `联系人`, the deal card's quote / task / swarm lines and a manager's team list over WeCom:
encrypted callbacks into create_app(), replies through the fake WeCom API (issue 13)."""
from __future__ import annotations

from sqlalchemy import select

from bot.console_messenger import ConsoleMessenger
from bot.wecom.messenger import swarm_chat_id
from bot.wecom.runtime import WeComRuntime
from bot.wiring import Wiring
from crm_core.clock import FrozenClock
from crm_core.models import OutboxMessage
from scheduler.delivery import deliver_due
from tests.bot.wecom.conftest import AGENT_ID, WeComHarness, key_of


def said(wecom: WeComHarness, userid: str, text: str) -> None:
    r = wecom.say(userid, text)
    assert r.status_code == 200 and r.content == b"", r.text


def deliver(wiring: Wiring, rt: WeComRuntime, clock: FrozenClock) -> None:
    messengers = {"wecom": rt.messenger, "console": ConsoleMessenger(wiring.session_factory, clock)}
    for _ in range(3):
        deliver_due(wiring.session_factory, messengers, clock, wiring.config)
        clock.advance(seconds=3)
    with wiring.session_factory() as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.status.not_in(("sent", "skipped")))).all() == []


def test_account_overview_in_chinese_over_wecom(wecom: WeComHarness, wecom_wiring: Wiring, wecom_rt: WeComRuntime,
                                               clock: FrozenClock) -> None:
    said(wecom, "lilei", "线索 新建 张伟 company=杭州云图科技有限公司 email=zw@yuntu.cn")
    said(wecom, "lilei", "线索 转化 L-1")
    said(wecom, "lilei", "商机 设置 D-1 amount=300000 close=2026-03-31 budget=yes name=云图ERP项目")
    said(wecom, "lilei", "推进 D-1")
    said(wecom, "lilei", "推进 D-1")  # 方案报价: a swarm group for a deal this size
    said(wecom, "lilei", "报价 D-1 PRO x100 discount=25")
    said(wecom, "lilei", "工单 新建 杭州云图科技有限公司 紧急 登录失败")
    deliver(wecom_wiring, wecom_rt, clock)
    fake = wecom.fake
    before = len(fake.texts_to("lilei"))
    said(wecom, "lilei", "客户 云图")
    overview = fake.texts_to("lilei")[before]  # the overview goes as markdown, whole (not cut to 160 characters)
    assert "客户 · 杭州云图科技有限公司" in overview and "张伟 · zw@yuntu.cn" in overview
    assert "等待审批 A-1（第 1/2 级）" in overview and "T-1 · 紧急 · 登录失败" in overview
    assert "云图ERP项目" in overview and "协作群" in overview and "D-1 · 云图ERP项目" in overview
    related = wecom.last_card("lilei")  # its buttons come as a template card of their own
    assert related["main_title"]["title"] == "打开相关记录"
    assert [b["key"] for b in related["button_list"]] == ["record.open|D-1", "record.open|T-1", "contact.open|1"]
    wecom.click("lilei", related["task_id"], key_of(related, "record.open"))
    deal = wecom.last_card("lilei")
    assert deal["main_title"]["title"].startswith("商机 D-1")
    body = str(deal)
    assert "等待审批 A-1" in body and "协作群" in body
    assert swarm_chat_id(AGENT_ID, "deal", 1) in fake.chats


def test_a_manager_lists_the_team_over_wecom(wecom: WeComHarness) -> None:
    said(wecom, "lilei", "商机 新建 云图 amount=3000")
    said(wecom, "hanmeimei", "商机 新建 华为 amount=9000")
    said(wecom, "wangfang", "商机 列表 团队 @李雷")
    text = wecom.last_text("wangfang")
    assert "团队商机" in text and "D-1 · 云图 · 资格确认 · ¥3,000.00 · 李雷" in text and "D-2" not in text
    said(wecom, "lilei", "商机 列表 团队")
    assert "团队和全部列表仅供经理和管理员使用" in wecom.last_text("lilei")
