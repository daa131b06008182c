"""Names where references go, and `search`, through the console (buttons are numbered choices)."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from crm_core.models import Deal, Lead, SearchTerm, Ticket
from crm_core.queries.lookup import find, resolve, search
from crm_core.refs import RecordName, Ref
from crm_core.search_index import backfill
from crm_core.search_text import record_keys, search_key
from handlers.grammar import Parsed, UsageError, parse
from tests.conftest import T0


def _deals(bot) -> None:  # type: ignore[no-untyped-def]
    assert "D-1" in bot.exec("商机 新建 深圳某某科技有限公司 amount=100000")
    assert "D-2" in bot.exec("商机 新建 深圳某某科技有限公司 amount=5000 name=二期扩容")
    assert "D-3" in bot.exec("deal new Globex amount=10")


def _what_was_there(wiring, out: str) -> str:  # type: ignore[no-untyped-def]
    """The answer with the index and the deals behind it: a failure here says which of the two was off."""
    with wiring.session_factory() as s:
        terms = s.execute(select(SearchTerm.kind, SearchTerm.record_id, SearchTerm.field, SearchTerm.key,
                                 SearchTerm.owner_id).where(SearchTerm.field.in_(("name", "pinyin")))).all()
        deals = s.execute(select(Deal.id, Deal.name, Deal.owner_id, Deal.account_id, Deal.status)).all()
    return f"{out}\nterms: {terms}\ndeals: {deals}"


def _stage(wiring, deal_id: int) -> str:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.get(Deal, deal_id).stage


# --- the grammar leaves a name where a reference was expected ----------------------------------------------

def test_the_grammar_reads_full_width_references_and_trailing_punctuation():
    assert parse("商机 Ｄ－52") == Parsed("deal", {"deal": Ref("deal", 52)})
    assert parse("推进 D-52，").args["deal"] == Ref("deal", 52)  # type: ignore[union-attr]
    assert parse("ｗｏｎ ｄ—７。").args["deal"] == Ref("deal", 7)  # type: ignore[union-attr]
    assert parse("deal set D-7 amount＝１２０００，").options == {"amount": "12000"}  # type: ignore[union-attr]


def test_free_text_and_quoted_names_stay_as_typed():
    parsed = parse("log D-7 note 客户说 Ｄ－５２ 要改，")
    assert isinstance(parsed, Parsed) and parsed.args["text"] == "客户说 Ｄ－５２ 要改，"
    parsed = parse('advance "Acme Corp" proposal')
    assert isinstance(parsed, Parsed)
    assert parsed.args["deal"] == RecordName("Acme Corp", ("deal",), 'advance "Acme Corp" proposal', 8, 19)
    assert parsed.args["stage"] == "proposal"


def test_a_name_where_a_reference_goes_is_kept_for_the_resolver():
    parsed = parse("deal Acme Corp")
    assert isinstance(parsed, Parsed)
    assert parsed.args["deal"] == RecordName("Acme Corp", ("deal",), "deal Acme Corp", 5, 14)
    assert parse("log 深圳 call 聊了预算").args["record"].kinds == ("deal", "lead", "ticket")  # type: ignore[union-attr]
    # a reference of another kind, or a bare number, is still a mistake with the usage
    assert isinstance(parse("deal L-3"), UsageError)
    assert isinstance(parse("advance 7"), UsageError)


def test_search_keys_cover_names_parts_pinyin_and_initials():
    keys = record_keys("深圳某某科技有限公司")
    assert ("name", "深圳某某科技有限公司") in keys and ("word", "某某科技有限公司") in keys
    assert ("pinyin", "shenzhenmoumoukejiyouxiangongsi") in keys and ("initials", "szmmkjyxgs") in keys
    assert ("pinyin", "chongqingyinhang") in record_keys("重庆银行")  # phrases pick the reading
    assert record_keys("Acme Corp.") == {("name", "acmecorp")}  # "corp" alone would find every corporation
    assert record_keys("Acme Holdings Ltd") == {("name", "acmeholdingsltd"), ("word", "holdingsltd")}
    # a legal form is no part to find a company by ("有限公司" matches them all), the name's own parts are
    assert not {("word", "有限公司"), ("word", "公司"), ("pinyin", "gongsi"), ("initials", "gs")} & keys
    assert ("word", "科技有限公司") in keys and ("initials", "kjyxgs") in keys
    assert ("word", "公司") in record_keys("有限公司")  # a name that is nothing but a legal form keeps its parts
    assert search_key("ＡＣＭＥ  corp") == "acmecorp"


# --- names in commands --------------------------------------------------------------------------------------

def test_one_match_acts_on_it(console_bot, wiring):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    _deals(li)
    out = li.exec("deal globex")
    assert "D-3 · Globex" in out
    assert "D-2 · 二期扩容" in li.exec("商机 二期")  # a part of the deal's own name
    li.exec("deal set 二期 contact=王总 budget=yes close=2027-03-31")
    assert "已从「资格确认」推进到「需求调研」" in li.exec("推进 二期扩容，")
    assert (_stage(wiring, 2), _stage(wiring, 1)) == ("discovery", "qualify")


def test_several_matches_answer_a_pick_list_that_reruns_the_command(console_bot, wiring):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    _deals(li)
    for typed in ("shenzhen", "szmm", "深圳", "某某科技"):  # pinyin, initials, prefix, contains: both deals
        out = li.exec(f"deal set {typed} contact=王总 budget=yes close=2027-03-31")
        assert "指的是哪个商机" in out and "[1] D-1" in out and "[2] D-2" in out, _what_was_there(wiring, out)
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).fields == {} and s.get(Deal, 2).fields == {}  # nothing changed yet
    out = li.exec("2")  # the D-2 button: the same command with D-2 in place of the name
    assert "商机 D-2" in out and "已更新" in out
    with wiring.session_factory() as s:
        assert s.get(Deal, 2).fields.get("budget") == "yes" and s.get(Deal, 1).fields == {}


def test_no_match_says_so_offers_search_and_changes_nothing(console_bot, wiring):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("deal new Initech amount=5")
    out = emma.exec("won Nowhere Ltd")
    assert "No such deal" in out and "No deal you can see is called “Nowhere Ltd”" in out
    assert "search Nowhere Ltd" in out and "[1] Search" in out
    assert "Search: Nowhere Ltd" in emma.exec("1")
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).status == "open"


def test_only_records_the_person_may_see_are_matched(console_bot, wiring):  # type: ignore[no-untyped-def]
    li, emma, wang = console_bot("li"), console_bot("emma"), console_bot("wang")
    _deals(li)  # li's deals; emma is in another team, wang is li's manager
    assert "No such deal" in emma.exec("deal Globex")
    assert "D-3" not in emma.exec("search globex")
    assert "D-3 · Globex" in wang.exec("deal Globex")
    assert "D-3" in wang.exec("search gl")


def test_leads_tickets_contracts_and_quotes_by_name(console_bot, wiring):  # type: ignore[no-untyped-def]
    li, sup = console_bot("li"), console_bot("sup")
    li.exec('lead add 王五 company="杭州某某网络有限公司"')
    assert "L-1 · 王五" in li.exec("线索 王五")
    assert "L-1 · 王五" in li.exec("lead hzmm")  # the lead's company, by initials
    sup.exec("ticket new Globex high VPN is down")
    assert "T-1" in sup.exec("ticket ack VPN is down")
    with wiring.session_factory() as s:
        assert s.get(Ticket, 1).responded_at is not None
    li.exec("deal new Globex amount=1000")
    li.exec("quote Globex PRO x2")
    assert "Q-1" in li.exec("quote globex")  # the latest quote of the deal named


def test_a_ticket_someone_opened_or_whose_account_is_theirs_is_found_by_its_subject(console_bot):  # type: ignore[no-untyped-def]
    """Support owns a ticket a rep opened on her own account: she may work on it, and search found nothing
    (the index was filtered by the ticket's owner only). Someone of another team still finds nothing."""
    emma, li = console_bot("emma"), console_bot("li")
    emma.exec("deal new Globex amount=10")  # Globex is Emma's account
    assert "T-1" in emma.exec("ticket new Globex urgent printer on fire")
    assert "T-1 · printer on fire" in emma.exec("search printer")
    assert "Ticket T-1" in emma.exec("ticket printer")
    li.exec("商机 新建 某某科技 金额=10")
    assert "T-1" not in li.exec("search printer")


def test_search_ranks_reference_name_prefix_contains_pinyin(console_bot):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    emma.exec("deal new Acme amount=1 name=Acme")
    emma.exec("deal new Acmeville amount=1")
    emma.exec("deal new Best Acme amount=1")
    emma.exec("deal new 阿克米 amount=1")  # a.ke.mi: pinyin "akemi"
    out = emma.exec("search acme")
    lines = [line for line in out.splitlines() if line[:2] in ("1.", "2.", "3.", "4.", "5.", "6.")]
    # exact name (the deal and its account), then prefix (Acmeville), then contains (Best Acme)
    assert [line.split(" · ")[0] for line in lines][:2] == ["1. Deal D-1", "2. Account"] or \
        [line.split(" · ")[0] for line in lines][:2] == ["1. Account", "2. Deal D-1"], out
    order = [next((i for i, line in enumerate(lines) if marker in line), 99)
             for marker in ("D-1 ·", "D-2 ·", "D-3 ·")]
    assert order == sorted(order) and 99 not in order, out
    assert "D-4" in emma.exec("search akemi") and "D-4" in emma.exec("search akm")
    assert emma.exec("search D-3").count("Deal D-3") == 1


def test_several_words_match_records_having_them_all(console_bot):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    _deals(li)
    li.exec("商机 新建 深圳别家贸易 amount=1")
    out = li.exec("搜索 深圳 科技")
    assert "D-1" in out and "D-2" in out and "D-4" not in out and "深圳别家贸易" not in out


def test_open_buttons_show_the_record_or_the_accounts_records(console_bot):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    _deals(li)
    out = li.exec("搜索 深圳某某科技有限公司")
    assert "打开 D-1" in out and "打开 深圳某某科技有限公" in out
    number = next(part.split("]")[0].strip("[ ") for part in out.split("  ") if "打开 深圳" in part)
    out = li.exec(number)
    assert "客户：深圳某某科技有限公司" in out and "D-1" in out and "D-2" in out


def test_renames_transfers_and_imports_keep_the_index(console_bot, wiring, as_user):  # type: ignore[no-untyped-def]
    li, wang = console_bot("li"), console_bot("wang")
    li.exec('deal new Globex amount=10 name="Old name"')
    assert "D-1" in li.exec("deal Old name")
    li.exec('deal set D-1 name="上海新项目"')
    assert "D-1" in li.exec("search shxxm") and "没有找到商机" in li.exec("deal Old name")
    wang.exec("transfer li han")
    with wiring.session_factory() as s:
        assert set(s.scalars(select(SearchTerm.owner_id).where(SearchTerm.kind == "deal"))) == {as_user("han").id}
        assert [h.id for h in find(s, as_user("han"), "shanghai", ("deal",))] == [1]
        assert find(s, as_user("li"), "shanghai", ("deal",)) == []


def test_the_backfill_indexes_records_written_without_the_orm(wiring, as_user):  # type: ignore[no-untyped-def]
    li = as_user("li")
    with wiring.session_factory.begin() as s:
        s.execute(insert(Lead), [{"name": "赵六", "company": "成都某某", "source": "web", "tags": [], "fields": {},
                                  "score": 0, "status": "open", "owner_id": li.id, "assigned_at": T0,
                                  "reassign_count": 0, "duplicate_hits": 0, "created_at": T0, "updated_at": T0}])
    with wiring.session_factory() as s:
        assert find(s, li, "chengdu", ("lead",)) == []
    with wiring.engine.begin() as conn:
        conn.execute(SearchTerm.__table__.delete())
        assert backfill(conn) > 0
    with wiring.session_factory() as s:
        assert [h.name for h in find(s, li, "chengdu", ("lead",))] == ["赵六"]


def test_resolving_a_name_is_a_bounded_number_of_queries(console_bot, wiring, as_user,  # type: ignore[no-untyped-def]
                                                         assert_query_count):
    li = console_bot("li")
    for i in range(30):
        li.exec(f"deal new 深圳客户{i} amount=1")
    actor = as_user("li")
    with wiring.session_factory() as s:
        with assert_query_count(at_most=8):
            res = resolve(s, actor, "shenzhen", ("deal",))
        assert len(res.hits) == 10 and res.one is None
        with assert_query_count(at_most=12):
            assert len(search(s, actor, "sz", limit=20)) == 20


@pytest.mark.parametrize("typed", ["Ｄ－１", "d-1，", "D-1。"])
def test_references_typed_full_width_open_the_record(console_bot, typed):  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("deal new Globex amount=10")
    assert "D-1 · Globex" in li.exec(f"商机 {typed}")


def test_a_long_pick_list_shows_six_and_says_how_to_narrow_it(console_bot):  # type: ignore[no-untyped-def]
    emma = console_bot("emma")
    for i in range(8):
        emma.exec(f"deal new Globex amount={i + 1} name=\"Globex {i}\"")
    out = emma.exec("won glob")
    assert "[6] D-" in out and "[7]" not in out
    assert "More records match “glob”: type more of the name, or search glob." in out


def test_a_tampered_pick_button_is_checked_like_a_typed_command(runner, console_bot, user_id, wiring):  # type: ignore[no-untyped-def]
    from handlers.invocation import Invocation

    console_bot("li").exec("deal new Globex amount=10")
    reply = runner.run(Invocation(actor_id=user_id("emma"), kind="action", name="record.pick", args={"value": "won D-1"}))
    assert "not allowed" in reply.cards[0].text().lower() or "cannot" in reply.cards[0].text().lower(), reply.cards[0].text()
    with wiring.session_factory() as s:
        assert s.get(Deal, 1).status == "open"
