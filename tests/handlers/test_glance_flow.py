"""The customer at a glance (issue 13): `account <name>`, `contact <name>` and the deal card's quote / task /
swarm lines, in English and in Chinese, from the console; what each person may see; statement counts that do
not grow with the number of deals, contacts and tickets behind a card."""
from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.console_messenger import ConsoleMessenger
from scheduler.delivery import deliver_due


@pytest.fixture(autouse=True)
def _files_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the console writes quote documents into ./chatcrm-files/


def acme(console_bot):  # type: ignore[no-untyped-def]
    """Emma's customer Acme: a contact, D-1 in Proposal with a quote waiting for approval, a ticket, a call;
    D-2 quoted at list price, ordered (invoice due in 30 days) and won (contract C-1)."""
    emma = console_bot("emma")
    emma.exec('lead add "Ann Lee" company="Acme Inc." email=ann@acme.com phone=13800138000')
    emma.exec("lead convert L-1")
    emma.exec('deal set D-1 amount=250000 close=2027-03-31 budget=yes name="Acme ERP"')
    emma.exec("advance D-1")
    emma.exec("advance D-1")
    assert "Q-1" in emma.exec("quote D-1 PRO x10 discount=25")
    assert "T-1" in emma.exec("ticket new Acme urgent VPN is down")
    emma.exec("log D-1 call Talked budget with the CFO")
    assert "D-2" in emma.exec('deal new "Acme Inc." amount=12000 name="Acme support"')
    assert "Q-2" in emma.exec("quote D-2 STD x1")
    assert "INV" in emma.exec("order Q-2")
    assert "Closed won" in emma.exec("won D-2")
    return emma


def test_account_shows_the_customer_whole_and_opens_its_records(console_bot, clock):  # type: ignore[no-untyped-def]
    emma = acme(console_bot)
    clock.advance(days=45)  # the invoice (30 days) and the stage task are now overdue; the ticket breached
    out = emma.exec("account acme")
    assert "== Account · Acme Inc. ==" in out
    assert "Ann Lee · ann@acme.com · +8613800138000" in out  # contacts
    assert "D-1 · Acme ERP · Proposal · ¥250,000.00 · close 2027-03-31 · Emma Jones ⚠ overdue" in out
    assert "Q-1 v1 · ¥10,170.00 · waiting for approval A-1 (level 1 of 2)" in out
    assert "D-2" not in out.split("*Open deals*")[1].split("*")[0]  # won: not an open deal
    assert "*Overdue invoices*" in out and "outstanding · due 2026-04-01" in out
    assert "Orders        : 1 · unpaid" in out
    assert "T-1 · urgent · VPN is down" in out and "BREACHED 44 d 23 h ago" in out
    assert "Contract      : C-1 · ¥12,000.00 · ends" in out and "Health        :" in out
    assert "Talked budget with the CFO — Emma Jones (D-1)" in out  # last activities
    assert "[1] Open D-1   [2] Open T-1   [3] Open C-1   [4] Open contact" in out
    assert "== Deal D-1 · Acme ERP ==" in emma.exec("1")
    emma.exec("account acme")
    assert "== Contract C-1" in emma.exec("3")
    emma.exec("account acme")
    assert "== Contact · Ann Lee ==" in emma.exec("4")


def test_the_deal_card_shows_the_latest_quote_its_approval_the_next_task_and_the_swarm(  # type: ignore[no-untyped-def]
        console_bot, wiring, clock):
    emma = acme(console_bot)
    out = emma.exec("deal D-1")
    assert "Latest quote           : Q-1 v1 · ¥10,170.00 · waiting for approval A-1 (level 1 of 2)" in out
    assert "Next task              : Confirm budget and timeline · due 2026-03-04" in out
    console_bot("sam").exec("approve A-1")
    assert "waiting for approval A-1 (level 2 of 2)" in emma.exec("deal D-1")
    console_bot("chen").exec("approve A-1")
    assert "Q-1 v1 · ¥10,170.00 · approved (A-1)" in emma.exec("deal D-1")
    emma.exec("quote D-1 PRO x20")
    assert "Latest quote           : Q-3 v2 · ¥27,120.00 · approved" in emma.exec("deal D-1")
    clock.advance(days=3)
    assert "Confirm budget and timeline · ⚠ overdue since 2026-03-04" in emma.exec("deal D-1")
    # the swarm channel, once the deliverer has opened it (Proposal opens one for deals of 100 000 and more)
    deliver_due(wiring.session_factory, {"console": ConsoleMessenger(wiring.session_factory, clock)}, clock,
                wiring.config)
    assert "Swarm channel          : Acme ERP (console)" in emma.exec("deal D-1")
    assert "Swarm channel : D-1 · Acme ERP (console)" in emma.exec("account Acme")


def test_account_and_contact_in_chinese(console_bot):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("线索 新建 张伟 公司=杭州云图科技有限公司 邮箱=zw@yuntu.cn 行业=软件 地区=华东")
    li.exec("线索 转化 L-1")
    li.exec("记录 D-1 meeting 客户说下周签")
    out = li.exec("客户 云图")
    assert "行业 · 地区 : 软件 · 华东" in out, out  # picklisted values as the reader reads them (was software · east)
    assert "== 客户 · 杭州云图科技有限公司 ==" in out and "*联系人*" in out and "张伟 · zw@yuntu.cn" in out
    assert "*进行中的商机*" in out and "资格确认" in out and "*未关闭的工单*" in out and "无" in out
    assert "会议 · 客户说下周签 — 李雷 (D-1)" in out and re.search(r"协作群 +: 暂无", out)
    assert "[1] 打开 D-1   [2] 打开联系人" in out
    out = li.exec("联系人 张伟")
    assert "== 联系人 · 张伟 ==" in out and "客户负责人 : 李雷" in out and "L-1 · 张伟 · 已转化" in out
    assert "[1] 打开客户   [2] 打开 D-1   [3] 打开 L-1" in out
    assert "线索 L-1 · 张伟" in li.exec("3")
    li.exec("联系人 张伟")
    assert "== 客户 · 杭州云图科技有限公司 ==" in li.exec("1")
    assert "== 联系人 · 张伟 ==" in li.exec("联系人 zw@yuntu.cn")
    assert "== 客户 · 杭州云图科技有限公司 ==" in li.exec("客户 D-1")  # a deal's account


def test_only_accounts_a_person_may_see_are_found(console_bot):  # type: ignore[no-untyped-def]
    acme(console_bot)
    out = console_bot("li").exec("客户 acme")  # 李雷 is in 王芳's team; Acme is Emma's (Sam's team)
    assert "无法执行" in out and "客户「acme」无效：没有你可查看的客户" in out and "搜索 acme" in out
    assert "客户「D-1」无效" in console_bot("li").exec("客户 D-1")
    assert "联系人「ann」无效" in console_bot("li").exec("联系人 ann")
    assert "== Account · Acme Inc. ==" in console_bot("sam").exec("account acme")  # Emma's manager
    assert "== 客户 · Acme Inc. ==" in console_bot("chen").exec("客户 ACME")  # the director above both teams
    assert "== 客户 · Acme Inc. ==" in console_bot("sup").exec("客户 acme")  # support sees every customer
    out = console_bot("emma").exec("account Globex")
    assert "account “Globex” is not valid: no account you may see has that name" in out and "search Globex" in out


def test_a_name_that_matches_several_accounts_answers_a_pick_list(console_bot):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("deal new Globex Shanghai amount=1000")
    emma.exec("deal new Globex Shenzhen amount=2000")
    out = emma.exec("account globex")
    assert "Accounts matching “globex”" in out and "1. Globex Shanghai" in out and "2. Globex Shenzhen" in out
    assert "== Account · Globex Shenzhen ==" in emma.exec("2")
    assert "== Account · Globex Shanghai ==" in emma.exec("account globex shanghai")  # exact name: no list


def test_a_tampered_open_button_shows_nothing_the_clicker_may_not_see(wiring, user_id):  # type: ignore[no-untyped-def]
    from handlers.invocation import Invocation
    emma, li = user_id("emma"), user_id("li")
    wiring.runner.run_text(emma, "deal new Acme amount=1000", platform="console")
    for name, value in (("account.open", "1"), ("contact.open", "1"), ("record.open", "D-1"), ("record.open", "x")):
        reply = wiring.runner.run(Invocation(actor_id=li, kind="action", name=name, args={"value": value}))
        assert reply.cards[0].kind == "error", (name, value, reply.text())


def _grow(console_bot, n: int) -> None:  # type: ignore[no-untyped-def]
    """Acme with n open deals (each with a quote and a task), n contacts' worth of leads converted, n tickets."""
    emma = console_bot("emma")
    for i in range(n):
        emma.exec(f'lead add "Person {i}" company="Acme Inc." email=p{i}@acme.com')
        emma.exec(f"lead convert L-{i + 1}")
        emma.exec(f"quote D-{i + 1} PRO x1")
        emma.exec(f"ticket new Acme normal Problem {i}")
        emma.exec(f"log D-{i + 1} note note {i}")


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The session's identity map is weak and users reference each other (manager, identities): when the cycle
    collector runs mid-request, a user read before is read again. Counting with it paused counts the code."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize("n", [1, 7])
def test_account_and_deal_cards_cost_the_same_statements_whatever_the_data(  # type: ignore[no-untyped-def]
        console_bot, assert_query_count, n):
    _grow(console_bot, n)
    emma = console_bot("emma")
    with no_cycle_collection(), assert_query_count() as counter:
        out = emma.exec("account acme")
    assert f"Person {min(n, 5) - 1}" in out
    account_statements = len(counter.statements)
    with no_cycle_collection(), assert_query_count() as counter:
        assert "Latest quote" in emma.exec("deal D-1")
    deal_statements = len(counter.statements)
    assert (account_statements, deal_statements) == (ACCOUNT_STATEMENTS, DEAL_STATEMENTS)


ACCOUNT_STATEMENTS = 10  # 18 while every user a card named loaded its chat identities too
DEAL_STATEMENTS = 7  # 12 before the same change
