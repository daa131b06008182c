"""`ticket list` / 工单 列表: the open tickets one owns or opened, the one whose clock runs out first first; `team`
and `all` for managers, admins and support (support works every ticket); overdue ones flagged and filtered."""
from __future__ import annotations


def refs(out: str) -> list[str]:
    return [line.split(" · ")[0].strip() for line in out.splitlines() if line.lstrip().startswith("T-")]


def test_support_lists_its_open_tickets_soonest_clock_first_and_the_late_ones(console_bot, clock):  # type: ignore[no-untyped-def]
    emma, li, sup = console_bot("emma"), console_bot("li"), console_bot("sup")
    emma.exec("ticket new Acme low printer is slow")
    li.exec("工单 新建 云图 紧急 系统无法登录")
    emma.exec("ticket new Globex normal export fails")
    sup.exec("ticket close T-3")
    out = sup.exec("ticket list")
    assert "== 我的工单 ==" in out and refs(out) == ["T-2", "T-1"]  # urgent's response is due first; T-3 closed
    assert "T-2 · 紧急 · 云图 · 系统无法登录 · 2026-03-02 10:00" in out  # 孙客服 reads Chinese
    clock.advance(hours=3)  # the urgent ticket's response is late; the low one's is not
    late = sup.exec("工单 列表 逾期")
    assert refs(late) == ["T-2"] and "仅逾期" in late
    assert refs(sup.exec("ticket list overdue")) == ["T-2"]


def test_support_and_managers_list_others_tickets_and_a_rep_is_told_why_not(console_bot):  # type: ignore[no-untyped-def]
    emma, sup = console_bot("emma"), console_bot("sup")
    emma.exec("ticket new Acme urgent VPN down")
    assert refs(sup.exec("ticket list all")) == ["T-1"]  # support: every open ticket
    mine = emma.exec("ticket list")  # she opened it; support owns it: hers to follow, with who has it
    assert refs(mine) == ["T-1"] and mine.splitlines()[1].endswith(" · 孙客服")
    assert refs(console_bot("tom").exec("ticket list")) == []  # nor owned nor opened by Tom
    refused = emma.exec("ticket list all")
    assert refs(refused) == [] and "T-1" not in refused
    assert "managers, admins and support" in refused  # who may: support too, for tickets
    assert "经理、管理员和客服" in console_bot("li").exec("工单 列表 团队")
    wang = console_bot("wang")  # the support agent's manager
    team = wang.exec("ticket list team")
    assert "== 团队工单 ==" in team and refs(team) == ["T-1"] and team.splitlines()[1].endswith(" · 孙客服")
    typo = emma.exec("ticket list overdeu")
    assert "overdue" in typo and refs(typo) == []  # an unknown word: refused with the word it may have meant


def test_a_page_of_tickets_pages_on_with_its_filters(console_bot):  # type: ignore[no-untyped-def]
    emma, sup = console_bot("emma"), console_bot("sup")
    for n in range(12):
        emma.exec(f"ticket new Acme normal issue {n}")
    first = sup.exec("ticket list all")
    assert len(refs(first)) == 10 and "[1] 更多" in first
    rest = sup.press(1)
    assert len(refs(rest)) == 2 and not set(refs(rest)) & set(refs(first))


TICKET_LIST_STATEMENTS = 2  # the person, then the page of tickets with their accounts and owners joined


def test_a_page_of_tickets_costs_the_same_statements_for_2_or_12(console_bot, assert_query_count):  # type: ignore[no-untyped-def]
    emma, sup = console_bot("emma"), console_bot("sup")
    counts = []
    for more in (2, 10):
        for _ in range(more):
            emma.exec("ticket new Acme normal issue")
        with assert_query_count() as counted:
            out = sup.exec("ticket list all")
        assert len(refs(out)) == min(2 + 10 * (more == 10), 10)
        counts.append(len(counted.statements))
    assert counts[0] == counts[1] <= TICKET_LIST_STATEMENTS, counts
