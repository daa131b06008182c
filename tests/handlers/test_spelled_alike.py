"""A name spelled almost like a record's (`Cyberdine` for Cyberdyne GmbH) used to find nothing: `deal Cyberdine`
said "no such deal", and `deal new Cyberdine …` made a second customer. When nothing is called what was typed,
the records spelled alike are offered, and never acted on without the person pressing one."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm_core.models import Account, Deal
from crm_core.queries.lookup import resolve
from crm_core.search_text import slips, slips_allowed


@pytest.mark.parametrize("typed, key, n", [
    ("cyberdine", "cyberdynegmbh", 1),   # a letter changed
    ("cybredyne", "cyberdynegmbh", 1),   # two neighbours swapped
    ("cyberdne", "cyberdynegmbh", 1),    # a letter dropped
    ("cyberrdyne", "cyberdynegmbh", 1),  # a letter doubled
    ("cyberdyne", "cyberdynegmbh", 0),   # the start of the name: no slip
    ("shenzen", "shenzhenmoumou", 1),    # pinyin
    ("华心科技", "华星科技有限公司", 1),     # a character changed
    ("cbyredine", "cyberdynegmbh", 3),   # three slips: more than anyone is offered
    ("branch2", "branch1", 3),           # a digit is never a slip
    ("acme12", "acme21", 3),
])
def test_slips_count_one_character_mistakes_against_the_start_of_a_name(typed: str, key: str, n: int) -> None:
    assert slips(typed, key, 2) == n


def test_short_names_are_not_guessed_from() -> None:
    assert [slips_allowed(k) for k in ("acm", "acme", "cyberdyn", "华星", "华星科", "深圳华星科技")] == [0, 1, 2, 0, 1, 2]


def _count(wiring, model) -> int:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_misspelt_name_is_offered_and_not_acted_on(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    assert "D-1" in emma.exec('deal new "Cyberdyne GmbH" amount=1000')
    out = emma.exec("won Cyberdine")  # one deal spelled alike: still asked, never won on a guess
    assert "Which deal do you mean by “Cyberdine”?" in out, out
    assert "Nothing is called “Cyberdine”; these are spelled almost like it." in out
    assert "Deal D-1 · Cyberdyne GmbH" in out and "[1] D-1" in out
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).status == "open"
    assert "won" in emma.exec("1").lower()  # pressing it runs `won D-1`
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).status == "won"
    out = emma.exec("search cybredyne")
    assert "spelled almost like it" in out and "Account · Cyberdyne GmbH" in out
    assert "No such deal" in emma.exec("deal Cbyredine")  # three slips: nothing offered


def test_a_misspelt_customer_asks_before_a_second_account_is_made(console_bot, wiring):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("商机 新建 深圳华星科技有限公司 金额=100")
    out = li.exec("商机 新建 深圳华心科技 金额=200")
    assert "没有叫「深圳华心科技」的客户" in out and "深圳华星科技有限公司" in out, out
    assert _count(wiring, Account) == 1 and _count(wiring, Deal) == 1
    assert "D-2" in li.exec("1")
    with wiring.session_factory() as s:
        assert s.get(Deal, 2).account.name == "深圳华星科技有限公司"
    emma = console_bot("emma")
    emma.exec('deal new "Cyberdyne GmbH" amount=1')
    out = emma.exec("deal new Cyberdine GmbH amount=5")
    assert "No account is called “Cyberdine GmbH”" in out and "1. Account · Cyberdyne GmbH" in out, out
    assert _count(wiring, Account) == 2


def test_names_that_differ_in_a_number_or_belong_to_another_team_are_not_offered(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma, li = console_bot("emma"), console_bot("li")
    emma.exec('deal new "Branch 12 Holdings" amount=1')
    assert "Deal D-2 · Branch 21 Holdings" in emma.exec('deal new "Branch 21 Holdings" amount=1')
    li.exec('deal new "Globex Corporation" amount=1')
    out = emma.exec("deal Globx")  # li's deal, another team: not offered, its name not told
    assert "No such deal" in out and "Globex" not in out, out
    assert "Globex" not in emma.exec("search globx")


def test_a_name_spelled_alike_is_a_bounded_look_up(console_bot, wiring, as_user, assert_query_count):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    for i in range(30):
        li.exec(f"deal new Shenzhen Customer {i} amount=1")
    actor = as_user("li")
    with wiring.session_factory() as s:
        with assert_query_count(at_most=3):  # the tiers (nothing), the ranges next to "shenzen", the deals
            res = resolve(s, actor, "shenzen", ("deal",))
        assert len(res.hits) == 10 and res.one is None and all(h.near for h in res.hits)


def test_a_slip_in_the_first_letter_is_offered_too(console_bot, wiring, as_user, assert_query_count):  # type: ignore[no-untyped-def]
    """`Kyberdyne` (C heard as K), `yberdyne` (the C dropped), `Xcyberdyne` (a letter pressed first) found
    nothing: the keys next to a typed one all start with its first letter. They are offered now."""
    emma = console_bot("emma")
    emma.exec('deal new "Cyberdyne GmbH" amount=1000')
    emma.exec('deal new "Initech" amount=1000')
    for typed in ("Kyberdyne", "yberdyne", "Xcyberdyne", "Ycberdyne"):
        out = emma.exec(f"deal {typed}")
        assert "spelled almost like it" in out and "Cyberdyne GmbH" in out, (typed, out)
        assert "Initech" not in out
    assert "Initech" in emma.exec("search Unitech")
    out = emma.exec("deal new Kyberdyne GmbH amount=5000")  # asked before a second customer is made
    assert "No account is called “Kyberdyne GmbH”" in out, out
    # the buttons' short labels end at a word, not in a space (they read "Cyberdyne " and "“Kyberdyne ”")
    assert "[1] Cyberdyne   [2] New account “Kyberdyne”" in out, out
    actor = as_user("emma")
    with wiring.session_factory() as s:
        with assert_query_count(at_most=4):  # the tiers, the ranges next to "kyberdyne", those of the first letter, the deals
            res = resolve(s, actor, "kyberdyne", ("deal",))
        assert [h.name for h in res.hits] == ["Cyberdyne GmbH"] and res.one is None


def test_a_wrong_first_chinese_character_is_offered_too(console_bot, wiring, as_user, assert_query_count):  # type: ignore[no-untyped-def]
    """`森圳华星科技` (森 for 深: the input method's first offer for "sen"/"shen") made a second customer: the
    keys next to a Chinese key all start with its first character. The names that go on the same way after it
    are offered now; a name that only contains the rest further in is not."""
    li = console_bot("li")
    li.exec("商机 新建 深圳华星科技有限公司 金额=100")
    li.exec("商机 新建 广州华星科技 金额=100 new_account=yes")  # ends like it, two characters differ: not offered
    out = li.exec("商机 新建 森圳华星科技 金额=200")
    assert "没有叫「森圳华星科技」的客户" in out and "深圳华星科技有限公司" in out, out
    assert "广州华星科技" not in out
    assert _count(wiring, Account) == 2 and _count(wiring, Deal) == 2
    assert "D-3" in li.exec("1")
    with wiring.session_factory() as s:
        assert s.get(Deal, 3).account.name == "深圳华星科技有限公司"
    assert "深圳华星科技有限公司" in li.exec("商机 申圳华星")  # a homophone first
    actor = as_user("li")
    with wiring.session_factory() as s:
        with assert_query_count(at_most=4):  # the tiers, the ranges next to it, the names going on alike, the deals
            res = resolve(s, actor, "森圳华星科技", ("deal",))
        assert [h.name for h in res.hits] == ["深圳华星科技有限公司"] * 2 and res.one is None  # D-1 and D-3


def test_a_customer_of_another_city_is_asked_about_not_taken(console_bot, wiring):  # type: ignore[no-untyped-def]
    """广州华星科技 shares its company key with 深圳华星科技有限公司 (places and legal forms aside), and a deal for it
    went to the Shenzhen account without a word. A company is registered in its city: two places, two
    customers. The name without a place (华星科技) still means the one there is."""
    li = console_bot("li")
    li.exec("商机 新建 深圳华星科技有限公司 金额=100")
    out = li.exec("商机 新建 广州华星科技 金额=200")
    assert "没有叫「广州华星科技」的客户" in out and "深圳华星科技有限公司" in out, out
    assert _count(wiring, Deal) == 1
    out = li.exec("2")  # the second button: a new account, as typed
    assert "广州华星科技" in out, out
    with wiring.session_factory() as s:
        assert sorted(a.name for a in s.scalars(select(Account))) == ["广州华星科技", "深圳华星科技有限公司"]
        assert s.get(Deal, 2).account.name == "广州华星科技"
    out = li.exec("商机 新建 华星科技 金额=300")  # no place: asked, both offered
    assert "深圳华星科技有限公司" in out and "广州华星科技" in out, out
    li.exec("商机 新建 深圳市华星科技 金额=400")  # the same place: the same customer
    with wiring.session_factory() as s:
        assert s.get(Deal, 3).account.name == "深圳华星科技有限公司"


def test_fuzzy_pinyin_initials_find_the_name_among_many(console_bot, wiring, as_user, assert_query_count):  # type: ignore[no-untyped-def]
    """`senzhen` for 深圳 (s for sh, as many speakers say it) found 深圳 only while few keys sorted between the two:
    with forty Shanghai customers between `senzhen` and `shenzhen`, the keys next to it were all theirs. The
    start with the other initial (s/sh, z/zh, c/ch, l/n) is read too."""
    li = console_bot("li")
    li.exec("商机 新建 深圳华星科技有限公司 金额=1")
    li.exec("商机 新建 南京云图科技有限公司 金额=1")
    for i in range(40):
        li.exec(f"商机 新建 上海{'一二三四五六七八九十'[i % 10]}{'甲乙丙丁'[i // 10]}贸易有限公司 金额=1 新客户=是")
    out = li.exec("商机 senzhenhuaxin")
    assert "以下名称与它相近" in out, out
    assert "深圳华星科技有限公司" in out and "上海" not in out, out
    assert "南京云图科技有限公司" in li.exec("商机 lanjingyuntu")
    actor = as_user("li")
    with wiring.session_factory() as s:
        with assert_query_count(at_most=3):  # the tiers, the ranges (fuzzy starts among them), the deals
            res = resolve(s, actor, "senzhenhuaxin", ("deal",))
        assert [h.name for h in res.hits] == ["深圳华星科技有限公司"] and res.one is None
