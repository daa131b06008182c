"""Issue 3 part A, done when: from the console a rep quotes 25 % off, the manager and then the director
approve, the quote is approved, an order and a payment follow. Plus every refusal on the way."""
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import create_app
from crm_core.models import Approval, Order, Quote, QuoteLine, Swarm


@pytest.fixture(autouse=True)
def _files_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the console writes quote documents into ./chatcrm-files/


def rows(outbox_rows, kind: str, **match) -> list:  # type: ignore[no-untyped-def]
    return [r for r in outbox_rows(kind) if all(getattr(r, k) == v for k, v in match.items())]


def test_rep_quotes_25_off_manager_then_director_approve_then_order_and_payment(  # type: ignore[no-untyped-def]
        console_bot, wiring, user_id, outbox_rows, clock, tmp_path):
    li, wang, chen = console_bot("li"), console_bot("wang"), console_bot("chen")
    assert "商机 D-1" in li.exec("deal new Acme amount=200000")

    out = li.exec("quote D-1 PRO x10 discount=25")
    assert "报价 Q-1" in out and "A-1 正在等待 王芳（经理）审批" in out and "¥10,170.00" in out
    doc = tmp_path / "chatcrm-files" / "quote-Q-1-D-1-v1.html"
    assert f"[文件] {Path('chatcrm-files') / doc.name}" in out and "¥10,170.00" in doc.read_text(encoding="utf-8")
    [ask] = rows(outbox_rows, "approval.request", target_id=user_id("wang"))
    assert (ask.op, ask.ref_key, ask.target_type) == ("send", "approval:1:step:1", "user")
    assert [(b["action"], b["value"]) for b in ask.payload["buttons"]] == [("approval.approve", "A-1"),
                                                                           ("approval.reject", "A-1")]

    # refusals before anyone decides
    assert "不能自己审批" in li.exec("approve A-1")
    assert "正在等待 王芳" in console_bot("han").exec("approve A-1")
    assert "正在等待 王芳" in chen.exec("approve A-1")

    clock.advance(minutes=7)
    out = wang.exec("approve A-1 fine for ten seats")
    assert "你已批准 A-1 的第 1 级" in out and "现在等待 陈静（总监）审批" in out
    [update] = rows(outbox_rows, "approval.request", op="update")
    assert update.ref_key == "approval:1:step:1" and update.target_id == user_id("wang")
    assert "王芳 于 2026-03-02 09:07 批准" in str(update.payload) and update.payload["buttons"] == []
    [ask2] = rows(outbox_rows, "approval.request", target_id=user_id("chen"))
    assert ask2.ref_key == "approval:1:step:2" and ask2.op == "send"
    [told] = rows(outbox_rows, "approval.decided")
    assert told.target_id == user_id("li") and "现在等待 陈静" in str(told.payload)

    assert "本次未做修改" in wang.exec("approve A-1")  # twice: nothing changes

    out = chen.exec("批准 A-1")
    assert "A-1 已全部批准：Q-1 已批准" in out
    final = rows(outbox_rows, "approval.decided")[-1]
    assert final.target_id == user_id("li") and "订单 Q-1" in str(final.payload)
    # the approved total differs from the deal's amount (200000): the card also proposes it as the deal amount
    assert [b["action"] for b in final.payload["buttons"]] == ["quote.order", "deal.amount_from_quote"]
    assert "已于 2026-03-02 09:07 由 陈静 批准" in chen.exec("approve A-1")

    out = li.exec("order Q-1")
    assert "订单 INV-2026-000001" in out and "未付款" in out and "2026-04-01" in out
    assert "已下单：INV-2026-000001" in li.exec("order Q-1")
    [finance] = rows(outbox_rows, "order.created")
    assert finance.target_id == user_id("lawyer")

    with TestClient(create_app(wiring=wiring)) as client:
        body = {"external_id": "bank-77", "invoice_no": "INV-2026-000001", "amount": "10170.00"}
        r = client.post("/api/payments", json=body, headers={"X-API-Key": "test-key"})
    assert r.status_code == 201, r.text
    assert r.json()["order_status"] == "paid"
    with wiring.session_factory() as s:
        order = s.scalar(select(Order))
        assert (order.status, str(order.paid)) == ("paid", "10170.00")
        assert s.get(Quote, 1).status == "approved" and s.get(Approval, 1).status == "approved"
    assert {r.target_id for r in rows(outbox_rows, "payment.received")} == {user_id("li"), user_id("lawyer")}
    assert "INV-2026-000001" in li.exec("quote Q-1")


def test_a_new_version_makes_the_old_approval_stale_and_retires_its_card(console_bot, outbox_rows, user_id):  # type: ignore[no-untyped-def]
    li, wang = console_bot("li"), console_bot("wang")
    li.exec("deal new Acme amount=200000")
    li.exec("quote D-1 PRO x10 discount=25")
    out = li.exec("quote D-1 PRO x12 discount=25")
    assert "Q-2" in out and "第 2 版" in out and "已取代上一版 Q-1" in out and "A-2" in out
    out = wang.exec("approve A-1")
    assert "已被新版本取代（新版本 Q-2，v2）" in out and "未做修改" in out
    [retired] = rows(outbox_rows, "approval.request", op="update")
    assert retired.ref_key == "approval:1:step:1" and "Q-1 已被 Q-2 取代" in str(retired.payload)
    assert "你已批准 A-2 的第 1 级" in wang.exec("approve A-2")
    out = li.exec("order Q-1")
    assert "已被新版本取代" in out and "订单 Q-2" in out
    assert "等待审批" in li.exec("order Q-2")
    assert "已被 Q-2 取代" in li.exec("quote Q-1")  # older versions stay readable


def test_rejecting_needs_a_reason_and_the_button_says_what_to_type(console_bot, outbox_rows, user_id):  # type: ignore[no-untyped-def]
    li, wang = console_bot("li"), console_bot("wang")
    li.exec("deal new Acme amount=200000")
    li.exec("quote D-1 PRO x10 discount=15")
    assert "缺少原因" in wang.exec("reject A-1")  # the grammar asks for the reason; nothing changed
    out = wang.exec("my")
    assert "待我审批" in out and "A-1 · Q-1 · D-1 Acme · 15%" in out
    out = wang.exec("驳回 A-1 这个数量给不了 15%")
    assert "你已驳回 A-1：这个数量给不了 15%" in out
    [told] = rows(outbox_rows, "approval.decided")
    assert told.target_id == user_id("li") and "这个数量给不了 15%" in str(told.payload)
    assert "已被驳回" in li.exec("order Q-1")
    assert "待我审批" in wang.exec("my") and "A-1" not in wang.exec("my")


def _index_of(session, action: str) -> int:  # type: ignore[no-untyped-def]
    return [b.action for b in session.buttons].index(action)


def test_the_reject_button_answers_with_the_command_to_type(console_bot, wiring, user_id):  # type: ignore[no-untyped-def]
    from handlers.invocation import Invocation
    console_bot("emma").exec("deal new Globex amount=5000")
    console_bot("emma").exec("quote D-1 ENT x2 discount=12")
    reply = wiring.runner.run(Invocation(actor_id=user_id("sam"), kind="action", name="approval.reject",
                                         args={"value": "A-1"}))
    assert "Type: reject A-1 <reason>" in reply.text() and reply.form == {"type": "reject", "ref": "A-1"}
    reply = wiring.runner.run(Invocation(actor_id=user_id("tom"), kind="action", name="approval.reject",
                                         args={"value": "A-1"}))
    assert "only they or an admin" in reply.text()  # a foreign click is refused before anyone types a reason
    reply = wiring.runner.run(Invocation(actor_id=user_id("sam"), kind="action", name="approval.reject",
                                         args={"value": "A-1", "reason": "too deep for two seats"}))
    assert "You rejected A-1: too deep for two seats" in reply.text()


def test_my_counts_the_approvals_waiting_beyond_the_ten_it_lists(console_bot):  # type: ignore[no-untyped-def]
    emma, sam = console_bot("emma"), console_bot("sam")
    for i in range(12):
        emma.exec(f"deal new Globex{i:02d} amount=5000")
        emma.exec(f"quote D-{i + 1} ENT x2 discount=12")
    out = sam.exec("my")
    assert "A-10 ·" in out and "A-11 ·" not in out  # the ten oldest
    assert "… and 2 more waiting on you, after these (the oldest first)." in out


def test_my_lists_approvals_waiting_on_me_with_a_button(console_bot):  # type: ignore[no-untyped-def]
    emma, sam = console_bot("emma"), console_bot("sam")
    emma.exec("deal new Globex amount=5000")
    emma.exec("quote D-1 ENT x2 discount=12")
    out = sam.exec("my")
    assert "Approvals waiting on me" in out and "A-1 · Q-1 · D-1 Globex · 12% · ¥5,966.40 · Emma Jones · 1/1" in out
    number = 1 + _index_of(sam, "approval.approve")
    out = sam.press(number)
    assert "You approved level 1 of A-1. A-1 is fully approved: Q-1 is approved." in out
    assert "Approvals waiting on me" in sam.exec("my") and "A-1 ·" not in sam.exec("my")
    assert "待我审批" not in console_bot("li").exec("my")  # reps without approvals are not shown an empty list
    out = emma.exec("order Q-1")
    assert "Order INV-2026-000001" in out and "unpaid" in out


def test_small_discounts_are_approved_at_once_and_the_button_orders(console_bot, outbox_rows):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("deal new Globex amount=5000")
    out = emma.exec("quote D-1 PRO x3 STD x1 discount=10")
    assert "approved at once" in out and "[1] Create order" in out
    assert rows(outbox_rows, "approval.request") == []
    assert "Order INV-2026-000001" in emma.exec("1")
    assert "already ordered" in emma.exec("order Q-1")


def test_the_deal_cards_quote_button_shows_the_command_and_products(console_bot):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("deal new Globex amount=5000")
    out = emma.press(1 + _index_of(emma, "deal.quote"))
    assert "Type: quote D-1 PRO x10 STD x5 discount=<percent>" in out
    assert "ENT · Enterprise · ¥3,000.00" in out and "企业版" not in out  # the product's English name
    assert "not allowed" in console_bot("tom").exec("quote D-1 PRO x1")


@pytest.mark.parametrize("text,problem", [
    ("quote D-1 GOLD x2", "known products: PRO, STD, ENT, SVC. Type e.g. quote D-1 PRO x10 STD x5"),
    ("quote D-1 PRO x0", "must be positive"),
    ("quote D-1 PRO x2 discount=101", "from 0 to 100"),
    ("quote D-1 PRO x2 discount=lots", "from 0 to 100"),
    ("quote D-1", "product line"),
    ("quote Q-9", "Q-9 was not found"),
])
def test_quote_mistakes_say_what_to_type_and_change_nothing(console_bot, wiring, text, problem):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("deal new Globex amount=5000")
    assert problem in emma.exec(text)
    with wiring.session_factory() as s:
        assert s.scalar(select(Quote.id)) is None


def test_the_quote_document_is_in_the_deal_owners_language_and_escapes_names(console_bot, tmp_path):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec('deal new "<b>Evil</b> & Co" amount=5000')
    out = console_bot("sam").exec("quote D-1 SVC x1")  # sam quotes on emma's deal: the document is in her English
    assert "[file]" in out
    html = next((tmp_path / "chatcrm-files").glob("quote-Q-1-*.html")).read_text(encoding="utf-8")
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html and "<b>Evil" not in html
    assert "Line total" in html and "¥22,600.00" in html


def test_the_deals_swarm_hears_each_step(console_bot, wiring, clock, outbox_rows):  # type: ignore[no-untyped-def]
    li, wang = console_bot("li"), console_bot("wang")
    li.exec("deal new Acme amount=200000")
    with wiring.session_factory.begin() as s:
        s.add(Swarm(record_type="deal", record_id=1, platform="slack", channel="C1", name="deal-1",
                    created_at=clock.now()))
    li.exec("quote D-1 PRO x10 discount=15")
    wang.exec("approve A-1")
    swarm = [r for r in outbox_rows() if r.target_type == "swarm"]
    assert [r.kind for r in swarm] == ["approval.request", "quote.created", "approval.decided"]
    assert all((r.record_type, r.record_id) == ("deal", 1) for r in swarm)
    assert "Q-1 已批准" in swarm[-1].payload["title"]


def test_my_approvals_cost_the_same_queries_for_one_or_many(console_bot, wiring, as_user, clock,  # type: ignore[no-untyped-def]
                                                            assert_query_count):
    from handlers.approvals import approvals_waiting_on_me
    li = console_bot("li")

    def count_for_wang() -> int:
        with wiring.runner.uow() as uow, assert_query_count() as counter:
            card = approvals_waiting_on_me(uow, as_user("wang"), "en", clock)
            assert card is not None
        return len(counter.statements)

    li.exec("deal new Acme amount=200000")
    li.exec("quote D-1 PRO x10 discount=15")
    one = count_for_wang()
    for i in range(2, 6):
        li.exec(f"deal new Acme{i} amount=200000")
        li.exec(f"quote D-{i} PRO x10 discount=15")
    assert count_for_wang() == one


def test_a_chinese_quote_card_writes_its_percentages_the_chinese_way(console_bot):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("商机 新建 某某科技 金额=5000")
    out = li.exec("报价 D-1 PRO x10 折扣=30")
    assert "30%（−¥3,600.00）" in out and "13%（¥1,092.00）" in out, out  # full-width brackets, as every other line


def test_a_product_named_in_each_language_is_read_in_the_readers(console_bot, wiring):  # type: ignore[no-untyped-def]
    """The sample's products were named "专业版 Professional": an English quote card, its HTML and PDF carried the
    Chinese name, a Chinese one the English. A name per language is shown in the reader's; the quote keeps the
    company's (Chinese here) for a product the configuration no longer has."""
    emma, li = console_bot("emma"), console_bot("li")
    emma.exec("deal new Globex amount=5000")
    out = emma.exec("quote D-1 PRO x2")
    assert "PRO Professional × 2" in out and "专业版" not in out.split("[file]")[0], out
    li.exec("商机 新建 杭州某某 金额=1000")
    assert "PRO 专业版 × 1" in li.exec("报价 D-2 专业版 x1")
    with wiring.session_factory() as s:
        assert set(s.scalars(select(QuoteLine.name))) == {"专业版"}
