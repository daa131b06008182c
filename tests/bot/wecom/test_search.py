"""Names and search through WeCom: encrypted text messages in (wechatpy's crypto), template cards out whose
buttons (at most six, WeCom's limit) re-run the command with the chosen reference."""
from __future__ import annotations

from sqlalchemy import select

from bot.wiring import Wiring
from crm_core.models import Contact, Deal, Ticket
from tests.bot.wecom.conftest import WeComHarness, key_of


def test_full_width_references_and_a_pick_list_by_pinyin(wecom: WeComHarness, wecom_wiring: Wiring) -> None:
    wecom.say("lilei", "商机 新建 深圳某某科技 amount=100000")
    wecom.say("lilei", "商机 新建 深圳某某科技 amount=5000 name=二期")
    wecom.say("lilei", "商机 Ｄ－２")
    assert "二期" in str(wecom.last_card("lilei"))
    wecom.say("lilei", "赢单 szmm，")
    card = wecom.last_card("lilei")
    assert "「szmm」指的是哪个商机？" in str(card)
    assert [b["key"] for b in card["button_list"]] == ["record.pick|赢单 D-1", "record.pick|赢单 D-2"]
    with wecom_wiring.session_factory() as s:
        assert {d.status for d in s.scalars(select(Deal))} == {"open"}
    wecom.click("lilei", card["task_id"], key_of(card, "record.pick").replace("D-1", "D-2"))
    with wecom_wiring.session_factory() as s:
        assert [(d.id, d.status) for d in s.scalars(select(Deal).order_by(Deal.id))] == [(1, "open"), (2, "won")]


def test_search_in_chinese_with_open_buttons(wecom: WeComHarness) -> None:
    wecom.say("lilei", "商机 新建 杭州某某网络 amount=1000")
    wecom.say("lilei", "搜索 hangzhou")
    card = wecom.last_card("lilei")
    assert "搜索：hangzhou" in str(card) and "商机 D-1 · 杭州某某网络" in str(card)
    assert "search.open|D-1" in [b["key"] for b in card["button_list"]]
    wecom.click("lilei", card["task_id"], "search.open|D-1")
    assert "商机 D-1" in str(wecom.last_card("lilei"))


def test_a_typo_in_a_new_tickets_customer_asks_with_buttons_that_fit_a_wecom_card(wecom: WeComHarness,
                                                                                wecom_wiring: Wiring) -> None:
    wecom.say("lilei", "商机 新建 深圳华星科技有限公司 金额=100")
    wecom.say("lilei", "工单 新建 华星科 紧急 打印机坏了")
    card = wecom.last_card("lilei")
    assert "没有叫「华星科」的客户" in str(card), card
    keys = [b["key"] for b in card["button_list"]]
    assert keys == ["record.pick|工单 新建 \"深圳华星科技有限公司\" 紧急 打印机坏了",
                    "record.pick|工单 新建 华星科 紧急 打印机坏了 new_account=yes"], keys
    with wecom_wiring.session_factory() as s:
        assert s.scalars(select(Ticket)).all() == []
    wecom.click("lilei", card["task_id"], keys[0])
    with wecom_wiring.session_factory() as s:
        assert [(t.subject, t.account.name) for t in s.scalars(select(Ticket))] == [("打印机坏了", "深圳华星科技有限公司")]


def test_a_misspelt_name_and_a_contacts_typo_ask_in_a_wecom_card(wecom: WeComHarness, wecom_wiring: Wiring) -> None:
    """A character off (华心 for 华星) offers the deal spelled alike; a contact typed in pinyin offers 张伟."""
    wecom.say("lilei", "商机 新建 深圳华星科技有限公司 金额=100")
    wecom.say("lilei", "赢单 深圳华心科技")
    card = wecom.last_card("lilei")
    assert "以下名称与它相近" in str(card) and "深圳华星科技有限公司" in str(card), card
    assert [b["key"] for b in card["button_list"]] == ["record.pick|赢单 D-1"]
    with wecom_wiring.session_factory() as s:
        assert s.get(Deal, 1).status == "open"
    wecom.say("lilei", "商机 设置 D-1 联系人=张伟")
    wecom.say("lilei", "商机 设置 D-1 联系人=zhangwei")
    card = wecom.last_card("lilei")
    assert "深圳华星科技有限公司没有叫「zhangwei」的联系人" in str(card), card
    keys = [b["key"] for b in card["button_list"]]
    assert keys == ['record.pick|商机 设置 D-1 联系人="张伟"',
                    "record.pick|商机 设置 D-1 联系人=zhangwei new_contact=yes"], keys
    wecom.click("lilei", card["task_id"], keys[0])
    with wecom_wiring.session_factory() as s:
        assert [c.name for c in s.scalars(select(Contact))] == ["张伟"]
        assert s.get(Deal, 1).contact.name == "张伟"
