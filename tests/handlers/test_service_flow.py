"""Issue 3 (service part) through the console: a ticket opened, acked, closed; contracts, renewals and the
pipeline on the demo data; the notifications those leave in the outbox."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from bot.demo import load_demo
from crm_core.models import Contract, Deal, OutboxMessage, Ticket
from cards.model import Card
from handlers.invocation import Invocation


def test_a_ticket_is_opened_acked_and_closed(console_bot, wiring, outbox_rows, user_id, clock):  # type: ignore[no-untyped-def]
    li, emma, sup = console_bot("li"), console_bot("emma"), console_bot("sup")
    li.exec("线索 新建 张三 公司=深圳某某科技有限公司")
    li.exec("线索 转化 L-1")  # account 深圳某某科技有限公司 with contact 张三, both li's
    out = emma.exec("ticket new 某某科技（深圳）有限公司 urgent Printer is on fire")
    assert "Ticket T-1 · Printer is on fire" in out and "孙客服 owns it" in out
    assert "Respond by : 2026-03-02 10:00 · 1 h 0 min left" in out
    assert [(r.kind, r.target_id) for r in outbox_rows("ticket.assigned")] == [("ticket.assigned", user_id("sup"))]
    clock.advance(minutes=25)
    out = sup.exec("工单 T-1")
    assert "剩余 35 分钟" in out and "[1] 响应" in out
    out = sup.exec("1")  # the Acknowledge button
    assert "已记录首次响应" in out and "已达成（提前 35 分钟）" in out and "[1] 关闭" in out
    clock.advance(hours=3)
    out = sup.exec("工单 关闭 T-1")
    assert "工单已关闭，满意度回访已发给 李雷" in out and "已关闭" in out and "[" not in out
    with wiring.session_factory() as s:
        ticket = s.get(Ticket, 1)
        assert ticket.status == "closed" and ticket.closed_at == clock.now()
    csat = outbox_rows("ticket.csat")
    assert [(r.target_type, r.target_id, r.record_type, r.record_id) for r in csat] == [
        ("user", user_id("li"), "ticket", 1)]
    assert "满意度回访：T-1 已关闭" in csat[0].payload["title"] and "张三" in str(csat[0].payload)


def test_repeated_and_refused_clicks_say_what_happened(console_bot, wiring, outbox_rows):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    assert re.search(r"Status +: Open\n", emma.exec("ticket new Globex high Export is slow"))  # emma keeps access: she opened it
    assert "First response recorded" in emma.exec("ticket ack T-1")
    assert "Already acknowledged at 2026-03-02 09:00; nothing changed" in emma.exec("ticket ack T-1")
    out = emma.exec("ticket close T-1")
    assert "Ticket closed" in out and re.search(r"Status +: Closed\n", out), out
    assert "T-1 was already closed on 2026-03-02 09:00. Nothing changed" in emma.exec("ticket close T-1")
    assert "nothing to acknowledge" in emma.exec("ticket ack T-1")
    assert len(outbox_rows("ticket.csat")) == 1
    assert "not allowed" in console_bot("tom").exec("ticket T-1")
    assert "T-9 was not found" in emma.exec("ticket T-9")
    assert "must be one of urgent, high, normal, low" in emma.exec("ticket new Globex whenever it breaks")


def test_my_lists_tickets_near_breach(console_bot, clock):  # type: ignore[no-untyped-def]
    sup = console_bot("sup")
    sup.exec("工单 新建 Acme normal 无法登录")
    assert "我即将超时的工单" in sup.exec("我的")
    clock.advance(hours=9)
    out = sup.exec("我的")
    assert "T-1 · 普通 · Acme · 无法登录 · 2026-03-02 17:00 · 已超时 1 小时 0 分钟" in out
    assert "tickets near breach" not in console_bot("emma").exec("my")


def test_my_counts_the_breached_tickets_it_does_not_list(console_bot, clock):  # type: ignore[no-untyped-def]
    sup = console_bot("sup")
    for i in range(13):
        sup.exec(f"工单 新建 Acme normal 无法登录 {i:02d}")
    clock.advance(hours=9)  # all thirteen past their response clock
    out = sup.exec("我的")
    assert "无法登录 09" in out and "无法登录 10" not in out  # the ten whose clocks ran out first
    assert "另有 3 张工单即将超时或已超时" in out
    sup.exec("工单 响应 T-1")  # answered: its next clock is the resolution's, days away
    assert "另有 2 张" in sup.exec("我的")


def test_a_won_deal_becomes_a_contract_whose_card_explains_its_health(console_bot, wiring, outbox_rows):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("deal new Acme amount=120000")
    emma.exec("won D-1")
    out = emma.exec("contract C-1")
    assert "Contract C-1 · Acme" in out and "Term      : 2026-03-02 → 2027-03-02" in out
    assert "Health    : 90/100 (good)" in out and "NPS not set (neutral) → 10/20" in out
    emma.exec("ticket new Acme high Login fails")
    out = emma.exec("contract set C-1 usage=80 nps=30")
    for line in ("usage 80% → 32/40", "NPS 30 → 13/20", "open tickets 1 → 15/20", "overdue payments 0 → 20/20",
                 "Health    : 80/100 (good)"):
        assert line in out
    assert "usage “120” is not valid" in emma.exec("contract set C-1 usage=120")
    assert "Unknown option “colour”" in emma.exec("contract set C-1 colour=red")
    assert "你没有权限操作 C-1" in console_bot("li").exec("合同 C-1")
    assert "[1] Create renewal deal" in emma.exec("contract C-1")
    out = emma.exec("1")
    assert "Renewal deal D-2 created (closes 2027-03-02)" in out and "renewal_of=C-1" in out
    assert "Deal D-2 · Acme renewal C-1" in out, out  # named in the owner's language, not the company's (续约)
    assert outbox_rows("contract.renewal") == []  # the owner did it herself
    li = console_bot("li")
    li.exec("商机 新建 某某科技 金额=1000")
    li.exec("赢单 D-3")
    assert "商机 D-4 · 某某科技 续约 C-2" in li.exec("合同 续约 C-2")


def test_renewing_twice_or_concurrently_makes_one_deal(console_bot, wiring, user_id, outbox_rows):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("deal new Acme amount=5000")
    emma.exec("won D-1")
    press = Invocation(actor_id=user_id("sam"), kind="action", name="contract.renew", args={"value": "C-1"})
    assert "Renewal deal D-2 created" in wiring.runner.run(press).text()
    assert "C-1 already has its renewal deal D-2; nothing changed" in wiring.runner.run(press).text()
    assert "C-1 already has its renewal deal D-2" in emma.exec("contract renew C-1")  # typed, e.g. from WeCom
    rows = outbox_rows("contract.renewal")  # sam (her manager) did it: emma hears about it
    assert [(r.target_id, r.record_id) for r in rows] == [(user_id("emma"), 2)]
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Deal.id))) == 2
    out = emma.exec("renewals 400")
    assert "C-1 · Acme · ends 2027-03-02 (365 d) · ¥5,000.00 · health 90 good · Emma Jones · renewal D-2" in out
    assert "Renew C-1" not in out


@pytest.mark.postgres
def test_concurrent_renew_clicks_create_one_deal(console_bot, wiring, user_id):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("deal new Acme amount=5000")
    emma.exec("won D-1")
    replies: list[str] = []
    barrier = threading.Barrier(8)

    def click(key: str) -> None:
        barrier.wait()
        replies.append(wiring.runner.run(Invocation(actor_id=user_id(key), kind="action", name="contract.renew",
                                                    args={"value": "C-1"})).text())
    threads = [threading.Thread(target=click, args=(k,)) for k in ("emma", "sam", "chen", "admin") * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum("Renewal deal D-2 created" in r or "已创建续约商机 D-2" in r for r in replies) == 1, replies
    assert sum("already has its renewal deal D-2" in r or "已有续约商机 D-2" in r for r in replies) == 7, replies
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Deal.id))) == 2
        assert s.scalar(select(Contract.renewal_deal_id)) == 2


def test_renewals_and_pipeline_show_the_demo_data(wiring, console_bot):  # type: ignore[no-untyped-def]
    stats = load_demo(wiring.runner, leads=40)
    assert stats["contracts"] > 0 and stats["tickets"] > 0
    admin, li = console_bot("admin"), console_bot("li")
    out = admin.exec("renewals")
    assert "Renewals in the next 90 days" in out and " d) · ¥" in out and "health " in out and "[1] Renew C-" in out
    days = [int(line.split("(")[1].split(" d)")[0]) for line in out.splitlines() if line.startswith("C-")]
    assert days and days == sorted(days) and all(0 <= d <= 90 for d in days)
    out = admin.exec("pipeline")
    for text in ("Pipeline · everyone", "Qualify (10%)", "Negotiation (75%)", "Stage conversion, last 90 days",
                 "Win rate (90 d)", "Lead first response (90 d)", "Mar 2026: ¥", "Q1 2026: ¥", "quota ¥1,650,000.00"):
        assert text in out, text
    out = li.exec("漏斗")
    assert "销售漏斗 · 我的" in out and "目标 ¥500,000.00" in out
    assert "销售漏斗 · 我的团队" in console_bot("wang").exec("漏斗")
    with wiring.session_factory() as s:
        open_tickets = s.scalar(select(func.count(Ticket.id)).where(Ticket.closed_at.is_(None)))
        assert open_tickets and s.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.kind == "ticket.csat")) == s.scalar(select(func.count(Ticket.id)).where(
                Ticket.closed_at.is_not(None)))


def test_every_service_card_fits_slack_and_wecom(wiring, console_bot, clock):  # type: ignore[no-untyped-def]
    from cards.render import slack, wecom
    load_demo(wiring.runner, leads=40)
    long_name = "深圳市前海" + "超长名称" * 40 + "科技有限公司"
    cards = []
    with wiring.session_factory() as s:  # the demo's data varies: take a ticket that is still open
        open_id = s.scalar(select(func.min(Ticket.id)).where(Ticket.closed_at.is_(None)))
    for key, lines in (("admin", ["renewals 365", "pipeline", "contract C-1", f"ticket T-{open_id}"]),
                       ("li", ["续费 365", "漏斗", f"工单 新建 {long_name} urgent " + "打印机坏了" * 40]),
                       ("sup", ["我的", f"工单 T-{open_id}", f"工单 关闭 T-{open_id}"])):
        bot = console_bot(key)
        for line in lines:
            bot.exec(line)
            assert bot.last_reply is not None and bot.last_reply.cards[0].kind != "error", (line, bot.last_reply)
            cards.extend(bot.last_reply.cards)
    with wiring.session_factory() as s:
        cards += [Card.from_dict(p) for p in s.scalars(select(OutboxMessage.payload).where(
            OutboxMessage.kind.in_(("ticket.csat", "ticket.assigned"))))]
    for card in cards:
        slack.to_message(card)
        wecom.to_markdown(card)
        if card.buttons:
            wecom.to_template_card(card, "task-1")


def test_a_long_renewals_list_shows_the_soonest_and_says_there_is_more(wiring, console_bot):  # type: ignore[no-untyped-def]
    from datetime import timedelta
    from decimal import Decimal

    from crm_core.services.contracts import do_create_contract
    from crm_core.services.deals import do_create_deal
    from crm_core.services.users import user_by_key
    from tests.conftest import T0
    with wiring.runner.uow() as uow:
        emma = user_by_key(uow.session, "emma")
        for i in range(10):
            account = do_create_deal(uow, emma, account_name=f"Customer {i}", amount=None, name=None,
                                     close_date=None, now=T0).account_id
            do_create_contract(uow, account_id=account, owner_id=emma.id, value=Decimal(100),
                               start=T0.date() - timedelta(days=355 - 5 * i), now=T0)
    out = console_bot("emma").exec("renewals")
    assert [line.split(" · ")[0] for line in out.splitlines() if line.startswith("C-")] == [
        f"C-{i}" for i in range(1, 9)]
    assert "Showing the 8 soonest; more end in this window. Narrow it, e.g. renewals 30" in out
    assert "[5] Renew C-5" in out and "[6]" not in out
