"""The lead pool (公海) through the console: release, list, claim — two reps racing, the limit, no bounce —
and the masked owner check (查重)."""
from __future__ import annotations

import threading

from sqlalchemy import select

from crm_core.models import Lead, User
from crm_core.services.pool import do_claim
from cards.errors import error_text
from crm_core.errors import Conflict


def owner_of(wiring, lead_id: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        lead = s.get(Lead, lead_id)
        return lead.status, s.get(User, lead.owner_id).key


def test_release_list_claim_in_chinese_and_english(console_bot, wiring):  # type: ignore[no-untyped-def]
    li, wang, emma = console_bot("li"), console_bot("wang"), console_bot("emma")
    li.exec("线索 新建 张伟 公司=杭州云图科技有限公司 地区=east")
    out = li.exec("退回 L-1")
    assert "缺少原因" in out and "退回 <L-编号> <原因>" in out and owner_of(wiring, 1)[0] == "open"
    out = li.exec("退回 L-1 今年没有预算")
    assert "L-1 已退回公海" in out and owner_of(wiring, 1)[0] == "pool"
    out = emma.exec("pool")
    assert "Lead pool" in out and "L-1 · 张伟 · 杭州云图科技有限公司" in out and "Claim L-1" in out
    assert "L-1" in emma.exec("pool region=east") and "The pool is empty" in emma.exec("pool region=north")
    out = li.exec("领取 L-1")  # who released it waits before taking it back
    assert "请让其他同事先领取" in out and owner_of(wiring, 1)[0] == "pool"
    emma.exec("pool")
    out = emma.press(1)  # the Claim L-1 button
    assert "L-1 is yours now" in out and owner_of(wiring, 1) == ("open", "emma")
    out = wang.exec("领取 L-1")
    assert "L-1 已被 Emma Jones 领取" in out and owner_of(wiring, 1) == ("open", "emma")


def test_two_reps_claiming_at_once_one_gets_it(wiring, console_bot):  # type: ignore[no-untyped-def]
    console_bot("li").exec("lead add Ann company=Acme")
    console_bot("li").exec("release L-1 not my region")
    barrier, results = threading.Barrier(2), {}

    def race(key: str) -> None:
        uow = wiring.uow()
        barrier.wait()  # both start together (SQLite then queues the second writer; PostgreSQL runs both)
        with uow:
            actor = uow.session.scalar(select(User).where(User.key == key))
            try:
                do_claim(uow, actor, 1, now=wiring.clock.now())
                results[key] = "won"
            except Conflict as exc:
                results[key] = error_text(exc, "en")

    threads = [threading.Thread(target=race, args=(k,)) for k in ("emma", "wang")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(v == "won" for v in results.values()) == [False, True], results
    winner = next(k for k, v in results.items() if v == "won")
    assert owner_of(wiring, 1) == ("open", winner)
    loser = next(v for v in results.values() if v != "won")
    assert "was just claimed by" in loser


def test_the_open_lead_limit(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    limit = wiring.config.pool.max_open_leads
    with wiring.session_factory() as s:
        emma_id = s.scalar(select(User.id).where(User.key == "emma"))
    console_bot("li").exec("lead add Ann company=Acme")
    console_bot("li").exec("release L-1 not mine")
    with wiring.session_factory.begin() as s:  # emma already works `limit` leads
        lead = s.get(Lead, 1)
        for i in range(limit):
            s.add(Lead(name=f"x{i}", owner_id=emma_id, status="open", source="chat", assigned_at=lead.assigned_at,
                       created_at=lead.created_at, updated_at=lead.updated_at, tags=[], fields={}))
    out = emma.exec("claim L-1")
    assert f"the limit is {limit}" in out and owner_of(wiring, 1)[0] == "pool"


def test_check_names_the_owner_and_nothing_else(console_bot):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("线索 新建 王五 公司=深圳华为技术有限公司 电话=13800138000 邮箱=wangwu@huawei.com")
    out = console_bot("wang").exec("查重 华为技术")
    assert "已有线索，负责人" in out and "王五" not in out and "13800138000" not in out
    out = console_bot("wang").exec("查重 138 0013 8000")
    assert "已有线索，负责人" in out and "wangwu" not in out
    assert "暂无负责人" in console_bot("wang").exec("查重 字节跳动")


def test_check_of_a_short_or_misspelt_company_name_names_the_owner_of_the_one_like_it(console_bot):  # type: ignore[no-untyped-def]
    """`check 深圳华星` said "nobody owns this customer yet, you may go ahead" while 李雷 owned 深圳华星科技有限公司:
    the company keys differ. A name like it is told as such, with its owner and not its name."""
    li, emma = console_bot("li"), console_bot("emma")
    li.exec("商机 新建 深圳华星科技有限公司 金额=100")
    li.exec("deal new Cyberdyne GmbH amount=5")
    out = emma.exec("check 深圳华星")
    assert "named like it" in out and "A customer (account) owned by 李雷." in out, out
    assert "华星科技" not in out.replace("Check: 深圳华星", "")
    assert "owned by 李雷" in emma.exec("check Cyberdine")  # a slip
    assert "名称相近" in console_bot("han").exec("查重 huaxing")  # pinyin
    assert "Nobody owns this customer yet" in emma.exec("check Initech")


def test_check_of_a_company_of_another_city_says_it_is_only_named_like_it(console_bot):  # type: ignore[no-untyped-def]
    """`查重 广州华星科技` answered as if 广州华星科技 were 李雷's customer: the company key leaves the city out. It is
    another company (docs/leads.md "Cities"), told as one named like it; the same city is the same company."""
    li, wang = console_bot("li"), console_bot("wang")
    li.exec("商机 新建 深圳华星科技有限公司 金额=100")
    out = wang.exec("查重 广州华星科技")
    assert "没有完全同名的公司，但有名称相近的记录" in out and "李雷" in out, out
    out = wang.exec("查重 深圳市华星科技")
    assert "名称相近" not in out and "李雷" in out, out
