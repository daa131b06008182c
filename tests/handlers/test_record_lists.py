"""`deal list` / `lead list` for managers and admins (issue 13): team and all scopes per role, filters by stage
(key or either label), owner and overdue, paging that keeps the filters, and refusals that suggest a fix."""
from __future__ import annotations

import pytest


@pytest.fixture
def teams(console_bot, clock):  # type: ignore[no-untyped-def]
    """Sam's team: Emma (D-1 Proposal, D-2 Qualify) and Tom (D-3 Qualify, closing in the past). Wang's team: Li (D-4)."""
    emma, tom, li = console_bot("emma"), console_bot("tom"), console_bot("li")
    emma.exec('deal new Acme amount=250000 name="Acme ERP" close=2027-03-31')
    emma.exec('deal set D-1 budget=yes contact="Ann Lee"')
    emma.exec("advance D-1")
    emma.exec("advance D-1")  # Proposal; its task "Send the proposal" is due in a few days
    emma.exec("deal new Initech amount=1000")
    tom.exec("deal new Globex amount=5000 close=2026-03-03")
    clock.advance(days=2)  # D-3's close date has passed; D-1's stage tasks are due today, not yet late
    li.exec("商机 新建 云图 amount=3000")
    emma.exec('lead add "Ann Lee" company=Acme')
    tom.exec('lead add "Bob Stone" company=Globex')
    li.exec("线索 新建 张伟 公司=云图")
    return {"emma": emma, "tom": tom, "li": li}


def refs(out: str) -> list[str]:
    return sorted(line.split(" · ")[0] for line in out.splitlines() if line[:2] in ("D-", "L-"))


def test_a_manager_lists_the_team_and_filters_it(teams, console_bot, clock):  # type: ignore[no-untyped-def]
    sam = console_bot("sam")
    out = sam.exec("deal list team")
    assert "== Team deals ==" in out and refs(out) == ["D-1", "D-2", "D-3"]  # not Li's D-4: another team
    assert "D-1 · Acme ERP · Proposal · ¥250,000.00 · Emma Jones" in out
    assert "D-3 · Globex · Qualify · ¥5,000.00 · Tom Baker ⚠ overdue" in out
    assert refs(sam.exec("deal list")) == []  # a manager's own list is still theirs
    assert refs(sam.exec("deal list team stage=proposal")) == ["D-1"]
    assert refs(sam.exec("deal list team stage=Qualify")) == ["D-2", "D-3"]
    assert refs(sam.exec("deal list team 阶段=方案报价")) == ["D-1"]
    assert refs(sam.exec("deal list team proposal")) == ["D-1"]  # a bare stage name works too
    out = sam.exec("deal list team overdue")
    assert refs(out) == ["D-3"] and "overdue only" in out
    assert refs(sam.exec("deal list @tom")) == ["D-3"]
    assert refs(sam.exec("deal list owner=emma stage=qualify")) == ["D-2"]
    clock.advance(days=10)  # D-1's stage tasks are now past due
    out = sam.exec("deal list team stage=proposal overdue")
    assert refs(out) == ["D-1"] and "Stage: Proposal · overdue only" in out
    assert refs(sam.exec("deal list all")) == ["D-1", "D-2", "D-3"]  # all a manager may see: the team


def test_chinese_manager_lists_in_chinese(teams, console_bot):  # type: ignore[no-untyped-def]
    wang = console_bot("wang")
    out = wang.exec("商机 列表 团队")
    assert "== 团队商机 ==" in out and refs(out) == ["D-4"] and "D-4 · 云图 · 资格确认 · ¥3,000.00 · 李雷" in out
    out = wang.exec("线索 列表 团队")
    assert "== 团队线索 ==" in out and refs(out) == ["L-3"] and "李雷" in out
    assert refs(wang.exec("商机 列表 全部 @李雷")) == ["D-4"]
    assert "== 我的线索 ==" in wang.exec("线索 列表")


def test_an_admin_lists_everything_and_a_rep_only_their_own(teams, console_bot):  # type: ignore[no-untyped-def]
    admin = console_bot("admin")
    assert refs(admin.exec("deal list all")) == ["D-1", "D-2", "D-3", "D-4"]
    assert refs(admin.exec("lead list all")) == ["L-1", "L-2", "L-3"]
    assert refs(admin.exec("deal list all @li")) == ["D-4"]
    emma = teams["emma"]
    assert refs(emma.exec("deal list")) == ["D-1", "D-2"]
    for text in ("deal list team", "deal list all", "lead list team"):
        out = emma.exec(text)
        assert "team and all lists are for managers and admins" in out and "D-3" not in out, text
    assert "Tom Baker's records are not yours to list" in emma.exec("deal list @tom")
    out = console_bot("sam").exec("deal list @li")  # Li is not in Sam's team
    assert "李雷's records are not yours to list" in out and "D-4" not in out
    out = teams["li"].exec("商机 列表 团队")
    assert "范围「团队」无效：团队和全部列表仅供经理和管理员使用" in out  # as typed, not the key (team)


def test_an_unknown_filter_is_refused_with_a_suggestion(teams, console_bot):  # type: ignore[no-untyped-def]
    sam = console_bot("sam")
    out = sam.exec("deal list tema")
    assert "filter “tema” is not valid: did you mean team?" in out and "Nothing was listed" in out
    assert "filter “everybody” is not valid" in sam.exec("deal list everybody")
    out = sam.exec("deal list team stag=proposal")
    assert "Unknown option “stag”. Did you mean: stage?" in out
    out = sam.exec("deal list team stage=proposel")
    assert "stage “proposel” is not valid: did you mean proposal (Proposal)?" in out
    out = console_bot("wang").exec("商机 列表 团队 逾其")
    assert "筛选条件「逾其」无效" in out and "列表可用：我的、团队、全部、逾期" in out
    assert "stage" not in console_bot("sam").exec("lead list overdu").split("A list takes:")[1]


def test_more_pages_keep_the_scope_and_the_filters(teams, console_bot):  # type: ignore[no-untyped-def]
    tom = teams["tom"]
    for i in range(11):
        tom.exec(f"deal new Shop{i} amount={100 + i}")
    sam = console_bot("sam")
    out = sam.exec("deal list team @tom stage=qualify")
    assert len(refs(out)) == 10 and "Showing 1–10" in out and "Owner: Tom Baker" in out
    more = [b for b in sam.buttons if b.action == "deal.list_more"]
    assert more and more[0].value == "team:10:stage=qualify @tom"
    out = sam.exec(str(sam.buttons.index(more[0]) + 1))
    assert refs(out) == ["D-3", "D-5"] and "Owner: Tom Baker" in out  # the two oldest of Tom's twelve
    out = sam.exec("deal list team")  # 14 deals: More keeps "team" without filters
    assert [b.value for b in sam.buttons if b.action == "deal.list_more"] == ["team:10"]


def test_an_unknown_stage_lists_the_stages_by_the_names_the_reader_types(console_bot):  # type: ignore[no-untyped-def]
    """A Chinese reader got the stage keys (qualify, discovery, …) with English commas."""
    out = console_bot("li").exec("商机 列表 阶段=方按报价")
    assert "你是不是想输入：方案报价（proposal）？" in out and "可选阶段：资格确认（qualify）、需求调研（discovery）" in out, out
    assert "阶段：方案报价" in console_bot("li").exec("商机 列表 阶段=方案")  # the start of one stage's name, as advance reads it
    out = console_bot("emma").exec("deal list stage=propsal")
    assert "did you mean proposal (Proposal)? Stages: qualify (Qualify), discovery (Discovery)" in out, out


def test_advance_suggests_the_nearest_stage_as_the_list_filter_does(console_bot):  # type: ignore[no-untyped-def]
    """`advance D-1 propsal` listed the stages without the suggestion `deal list stage=propsal` made: two readers
    of stage names. One now serves both."""
    emma = console_bot("emma")
    emma.exec("deal new Acme amount=5")
    out = emma.exec("advance D-1 propsal")
    assert "did you mean proposal (Proposal)? Stages: qualify (Qualify)" in out and "won (Won)" not in out, out
    assert "Stage: Negotiation" in emma.exec("deal list stage=neg")
