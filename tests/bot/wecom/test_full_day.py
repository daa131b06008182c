"""A full day in Chinese over WeCom, end to end: encrypted callbacks into create_app(), the outbox deliverer
(scheduler/delivery/) delivering through the WeCom messenger to the fake WeCom API.

李雷 (lilei) enters a lead, converts it, advances the deal into the swarm stage (the group chat is created
with a first message), quotes at 25 % off; 王芳 (manager) and then 陈静 (director) approve from their
template cards (each card updated in place, 李雷 told, the group told); the deal is won (summary, closing note).
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.console_messenger import ConsoleMessenger
from bot.wecom.messenger import swarm_chat_id
from bot.wecom.runtime import WeComRuntime
from bot.wiring import Wiring
from crm_core.clock import FrozenClock
from crm_core.models import Approval, Deal, OutboxMessage, Swarm
from scheduler.delivery import deliver_due
from tests.bot.wecom.conftest import AGENT_ID, WeComHarness, key_of


@pytest.fixture
def deliver(wecom_wiring: Wiring, wecom_rt: WeComRuntime, clock: FrozenClock):  # type: ignore[no-untyped-def]
    messengers = {"wecom": wecom_rt.messenger, "console": ConsoleMessenger(wecom_wiring.session_factory, clock)}

    def run() -> None:
        for _ in range(5):  # rows waiting on other rows (a swarm being created) come back a moment later
            deliver_due(wecom_wiring.session_factory, messengers, clock, wecom_wiring.config)
            clock.advance(seconds=3)
        with wecom_wiring.session_factory() as s:
            stuck = [(r.id, r.kind, r.status, r.last_error) for r in s.scalars(select(OutboxMessage).where(
                OutboxMessage.status.not_in(("sent", "skipped"))))]
        assert stuck == [], stuck
    return run


def said(wecom: WeComHarness, userid: str, text: str) -> None:
    r = wecom.say(userid, text)
    assert r.status_code == 200 and r.content == b"", r.text


def test_a_full_day_in_chinese(wecom: WeComHarness, wecom_wiring: Wiring, deliver, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    fake = wecom.fake
    # --- a lead comes in and is converted ------------------------------------------------------------------
    said(wecom, "lilei", "线索 新建 张伟 company=杭州云图科技有限公司 phone=13912345678 region=east")
    lead = wecom.last_card("lilei")
    assert lead["main_title"]["title"] == "线索 L-1 · 张伟"
    r = wecom.click("lilei", lead["task_id"], key_of(lead, "lead.convert"))
    assert r.status_code == 200
    deal_card = wecom.last_card("lilei")
    assert deal_card["main_title"]["title"].startswith("商机 D-1")
    said(wecom, "lilei", "商机 设置 D-1 amount=300000 close=2026-03-31 budget=yes name=云图ERP项目")

    # --- advance into the swarm stage: the group chat is created with a first message ------------------------
    said(wecom, "lilei", "推进 D-1")  # 需求调研
    said(wecom, "lilei", "推进 D-1")  # 方案报价: swarm = true, amount ≥ 100000
    assert "方案报价" in str(wecom.last_card("lilei"))
    deliver()
    chatid = swarm_chat_id(AGENT_ID, "deal", 1)
    chat = fake.chats[chatid]
    assert chat["name"] == "云图ERP项目" and chat["owner"] == "lilei"
    assert set(chat["userlist"]) == {"lilei", "wangfang", "zhougong", "liulegal"}
    first = fake.posted_to(chatid)
    assert first and "商机 D-1" in first[0]
    with wecom_wiring.session_factory() as s:
        assert s.scalar(select(Swarm.channel).where(Swarm.record_id == 1, Swarm.platform == "wecom")) == chatid

    # --- quote at 25 % off: manager then director must approve -------------------------------------------------
    said(wecom, "lilei", "报价 D-1 PRO x100 SVC x1 discount=25")
    deliver()
    assert any("Q-1" in m for m in fake.posted_to(chatid))  # the group hears about the quote
    manager_card = wecom.last_card("wangfang")
    assert [b["key"] for b in manager_card["button_list"]] == ["approval.approve|A-1", "approval.reject|A-1"]
    assert "25" in str(manager_card)

    # A click by someone who is not the approver changes nothing.
    wecom.click("hanmeimei", manager_card["task_id"], key_of(manager_card, "approval.approve"))
    with wecom_wiring.session_factory() as s:
        assert s.scalar(select(Approval.status)) == "pending"

    # 王芳 approves from her card: the card is replaced with the click's response code.
    code = fake.click(manager_card["task_id"])
    r = wecom.click("wangfang", manager_card["task_id"], key_of(manager_card, "approval.approve"), code)
    assert r.status_code == 200 and r.content == b""
    [upd] = [u for u in fake.updates() if u["response_code"] == code]
    assert upd["userids"] == ["wangfang"] and upd["template_card"]["task_id"] == manager_card["task_id"]
    assert upd["template_card"]["replace_text"] == "你已批准 A-1 的第 1 级。"
    deliver()
    # The outbox's own update of her card (who decided, when) used the other, still unused code.
    assert len([u for u in fake.updates() if u["template_card"]["task_id"] == manager_card["task_id"]]) == 2
    assert any("王芳" in t for t in fake.texts_to("lilei") + [str(c) for c in fake.cards_to("lilei")])
    assert any("王芳" in m for m in fake.posted_to(chatid))

    # 陈静 (director) is asked next and approves too.
    director_card = wecom.last_card("chenjing")
    assert key_of(director_card, "approval.approve") == "approval.approve|A-1"
    wecom.click("chenjing", director_card["task_id"], key_of(director_card, "approval.approve"))
    deliver()
    with wecom_wiring.session_factory() as s:
        assert s.scalar(select(Approval.status)) == "approved"
    assert [u["template_card"]["task_id"] for u in fake.updates()].count(director_card["task_id"]) == 2
    told = fake.texts_to("lilei") + [str(c) for c in fake.cards_to("lilei")]
    assert any("陈静" in t for t in told)
    assert any("陈静" in m for m in fake.posted_to(chatid))

    # A replayed click (WeCom's retry) changes nothing and sends nothing.
    before = len(fake.calls)
    wecom.click("chenjing", director_card["task_id"], key_of(director_card, "approval.approve"),
                code=_last_click_code(fake, director_card["task_id"]))
    assert len(fake.calls) == before

    # --- won: a summary in the group, then the closing note (WeCom cannot archive) ------------------------------
    said(wecom, "lilei", "赢单 D-1")
    deliver()
    with wecom_wiring.session_factory() as s:
        assert s.scalar(select(Deal.stage)) == "won"
        assert s.scalar(select(Swarm.archived_at)) is not None
    posts = fake.posted_to(chatid)
    assert "赢单" in posts[-2] and "本记录已关闭" in posts[-1]
    # Nothing was ever sent to a group as a template card, and every task id followed WeCom's rules.
    assert all(c.body["msgtype"] == "markdown" for c in fake.called("appchat/send") if c.body)
    assert all(re.fullmatch(r"[0-9A-Za-z_\-@]{1,128}", t) for t in fake.tasks)


def _last_click_code(fake: Any, task_id: str) -> str:
    return [code for code, c in fake.codes.items() if c["task_id"] == task_id and code.startswith("RCclick")][-1]


def test_rejecting_from_the_card_asks_for_the_reason_then_the_text_rejects(
        wecom: WeComHarness, wecom_wiring: Wiring, deliver) -> None:  # type: ignore[no-untyped-def]
    said(wecom, "lilei", "商机 新建 宁波某某制造 amount=50000")
    said(wecom, "lilei", "报价 D-1 STD x10 discount=15")
    deliver()
    card = wecom.last_card("wangfang")
    wecom.click("wangfang", card["task_id"], key_of(card, "approval.reject"))
    assert "驳回 A-1 <原因>" in wecom.last_text("wangfang")
    with wecom_wiring.session_factory() as s:
        assert s.scalar(select(Approval.status)) == "pending"
    said(wecom, "wangfang", "驳回 A-1 折扣过高，请控制在 10% 以内")
    deliver()
    with wecom_wiring.session_factory() as s:
        assert s.scalar(select(Approval.status)) == "rejected"
    # Her card was updated in place (with the code of her reject click), and 李雷 hears the reason.
    assert [u["template_card"]["task_id"] for u in wecom.fake.updates()] == [card["task_id"]]
    told = wecom.fake.texts_to("lilei") + [str(c) for c in wecom.fake.cards_to("lilei")]
    assert any("折扣过高" in t for t in told)
