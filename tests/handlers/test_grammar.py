"""The command grammar: examples in English and Chinese, and a property test that nothing crashes it."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cards.i18n import translator
from crm_core.refs import Ref
from handlers.grammar import SPECS, Parsed, UsageError, parse, tokenize


@pytest.mark.parametrize("text,name,args,options", [
    ("lead add 张三 company=\"深圳某某科技有限公司\" phone=13800138000", "lead add", {"name": "张三"},
     {"company": "深圳某某科技有限公司", "phone": "13800138000"}),
    ("线索 新建 王五 公司=「某某 科技」", "lead add", {"name": "王五"}, {"company": "某某 科技"}),
    ("LEAD l-12", "lead", {"lead": Ref("lead", 12)}, {}),
    ("lead convert L-3 amount=5万", "lead convert", {"lead": Ref("lead", 3)}, {"amount": "5万"}),
    ("商机 设置 D-7 close=2027-03-31 budget=yes", "deal set", {"deal": Ref("deal", 7)},
     {"close": "2027-03-31", "budget": "yes"}),
    ("deal new \"Acme Corp\" amount=50000 close=2027-01-31", "deal new", {"account": "Acme Corp"},
     {"amount": "50000", "close": "2027-01-31"}),
    ("推进 D-7 proposal", "advance", {"deal": Ref("deal", 7), "stage": "proposal"}, {}),
    ("输单 D-7 reason=\"价格 太高\"", "lost", {"deal": Ref("deal", 7), "reason": None}, {"reason": "价格 太高"}),
    ("quote D-7 PRO x10 STDx5 discount=15", "quote", {"deal": Ref("deal", 7), "lines": [("PRO", 10), ("STD", 5)]},
     {"discount": "15"}),
    ("驳回 A-5 折扣太大 请重新报价", "reject", {"approval": Ref("approval", 5), "reason": "折扣太大 请重新报价"}, {}),
    ("ticket new Acme urgent 打印机 着火了", "ticket new",
     {"account": "Acme", "priority": "urgent", "subject": "打印机 着火了"}, {}),
    ("/crm my", "my", {}, {}),
    ("forecast", "pipeline", {}, {}),  # the forecast vs quota is part of the pipeline card
    ("业绩预测", "pipeline", {}, {}),
    ("", "help", {}, {}),
])
def test_examples_parse(text, name, args, options):  # type: ignore[no-untyped-def]
    result = parse(text)
    assert isinstance(result, Parsed), result
    assert result.name == name
    for k, v in args.items():
        assert result.args[k] == v
    assert result.options == options


@pytest.mark.parametrize("text", [
    'log D-7 call 客户说 "下周签" it\'s 50% off, price=100 😀  ok',
    "log D-7 note   two  spaces   kept",
    "log D-7 note DROP TABLE deals; --",
])
def test_log_text_reaches_the_handler_exactly_as_typed(text):  # type: ignore[no-untyped-def]
    result = parse(text)
    assert isinstance(result, Parsed)
    assert result.args["text"] == text.split(" ", 3)[3].strip()


@pytest.mark.parametrize("text,problem", [
    ("quote D-7 PRO x0", "positive"), ("quote D-7 PRO x-3", "positive"), ("quote D-7", "product line"),
    ("deal new Acme", "amount"), ("advance 7", "reference"), ("lead", "Missing"), ("log D-7 call", "Missing"),
    ("won D-7 extra words", "Unexpected"),  # `deal list everybody`: refused by the list (tests/handlers/test_record_lists.py)
])
def test_malformed_commands_give_usage_for_that_command(text, problem):  # type: ignore[no-untyped-def]
    result = parse(text)
    assert isinstance(result, UsageError)
    assert problem in result.problem("en")
    assert result.command is not None and result.usage("en")


def test_unknown_word_suggests_the_nearest_commands():
    result = parse("advnce D-7")
    assert isinstance(result, UsageError) and result.command is None
    assert "advance" in result.suggestions
    assert any(line.startswith("advance") for line in result.usage("en"))


def test_every_command_has_english_and_chinese_usage_in_the_catalogs():
    usage = translator("usage")
    for spec in SPECS:
        assert usage.lookup("en", spec.name) and usage.lookup("zh_CN", spec.name) and spec.aliases, spec.name
        assert spec.usage("zh_CN") != spec.usage("en") and spec.title("zh_CN") != spec.title("en"), spec.name


words = st.sampled_from([w for s in SPECS for w in (*s.words, *(x for a in s.aliases for x in a))]
                        + ["D-7", "L-1", "A-5", "x10", "PRO", "discount=15", "reason=", "=", "\"", "「", "”", "x"])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(st.one_of(words, st.text(max_size=12)), max_size=10).map(" ".join)))
def test_any_text_gives_a_command_or_a_usage_error_never_an_exception(text):  # type: ignore[no-untyped-def]
    result = parse(text)
    assert isinstance(result, (Parsed, UsageError))
    if isinstance(result, UsageError):
        assert result.problem("en") and result.problem("zh_CN")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=100))
def test_tokens_never_lose_their_place_in_the_text(text):  # type: ignore[no-untyped-def]
    for tok in tokenize(text):
        assert 0 <= tok.start < tok.end <= len(text)


def test_an_unknown_option_answers_a_chinese_reader_in_the_names_they_type():  # type: ignore[no-untyped-def]
    """The option quoted as typed (阶段, not stage), the allowed ones as 标签（key）, and a slip in a Chinese
    name suggests the option it is near."""
    err = parse("商机 新建 某某科技 金额=5万 阶段=方案")
    assert isinstance(err, UsageError)
    assert err.problem("zh_CN") == "不支持的选项「阶段」。可用：金额（amount）、成交日期（close）、联系人（contact）、名称（name）、新客户（new_account）、新联系人（new_contact）。未做任何修改。"
    assert err.problem("en") == "Unknown option “阶段”. Allowed: amount, close, contact, name, new_account, new_contact. Nothing was changed."
    slip = parse("商机 新建 某某科技 金顿=5万")
    assert isinstance(slip, UsageError) and "你是不是想输入：金额（amount）？" in slip.problem("zh_CN")


@pytest.mark.parametrize("spec", [s for s in SPECS if s.options - {"*", "+"}], ids=lambda s: s.name)
def test_every_option_name_offered_in_chinese_is_taken_as_typed(spec):  # type: ignore[no-untyped-def]
    """Each 标签（key） an unknown-option answer lists can be typed back: the label reads as that option."""
    err = parse(f"{spec.title('zh_CN')} 没有这个选项=1")
    if not isinstance(err, UsageError) or err.key != "unknown_option":
        pytest.skip(f"{spec.name}: the command needs its arguments before an option")
    listed = err.problem("zh_CN").split("可用：")[1].split("。")[0].split("、")
    for entry in listed:
        label, _, key = entry.rstrip("）").partition("（")
        if not key:
            continue  # an option with no Chinese name is listed by its key
        parsed = parse(f"{spec.title('zh_CN')} {label}=1")
        assert not (isinstance(parsed, UsageError) and parsed.key == "unknown_option"), (spec.name, label, key)


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_every_argument_has_a_name_in_the_readers_language(locale):  # type: ignore[no-untyped-def]
    """'缺少words' / 'Missing words': a missing argument is named from the catalog, never by its code name."""
    names = sorted({a.name for s in SPECS for a in s.args})
    assert [n for n in names if translator("grammar").lookup(locale, f"arg.{n}") is None] == []
    err = parse("搜索")
    assert isinstance(err, UsageError) and err.problem("zh_CN") == "缺少关键词。"


@pytest.mark.parametrize("text, args, options", [
    # a name of several words after an option is the option's, once the command's own words have begun
    ("lead add Zhang San company=Acme Corp phone=13800138000", {"name": "Zhang San"},
     {"company": "Acme Corp", "phone": "13800138000"}),
    ("线索 新建 张三 公司=深圳 某某 电话=13800138000", {"name": "张三"}, {"company": "深圳 某某", "phone": "13800138000"}),
    ("deal new Acme amount=5000 name=Phase 2", {"account": "Acme"}, {"amount": "5000", "name": "Phase 2"}),
    ("deal set D-7 contact=Mallory Brown", {"deal": Ref("deal", 7)}, {"contact": "Mallory Brown"}),
    ("lost D-7 reason=price too high", {"deal": Ref("deal", 7), "reason": None}, {"reason": "price too high"}),
    ("lead add Bob phone=+86 138 0013 8000", {"name": "Bob"}, {"phone": "+86 138 0013 8000"}),
    # options first, then the name: the words are the name's, as before
    ("lead add company=Acme Zhang San", {"name": "Zhang San"}, {"company": "Acme"}),
    # one-word options leave the words after them to the command
    ("lead list owner=tom overdue", {"filters": "overdue"}, {"owner": "tom"}),
    ("deal list stage=proposal overdue", {"filters": "overdue"}, {"stage": "proposal"}),
    ("ticket new Acme urgent new_account=yes printer broken",
     {"account": "Acme", "priority": "urgent", "subject": "printer broken"}, {"new_account": "yes"}),
    ("deal new Acme amount=5000 Corp", {"account": "Acme Corp"}, {"amount": "5000"}),
])
def test_the_words_after_an_option_stay_with_it(text, args, options):  # type: ignore[no-untyped-def]
    """`lead add Zhang San company=Acme Corp` made the lead "Zhang San Corp" at "Acme", and `deal new Acme
    amount=5000 name=Phase 2` a deal on a new account "Acme 2": what was typed went to another field."""
    parsed = parse(text)
    assert isinstance(parsed, Parsed), parsed.problem("en")
    assert (parsed.args, parsed.options) == (args, options)


def test_the_span_of_an_option_of_several_words_covers_them_all():  # type: ignore[no-untyped-def]
    text = "deal set D-7 contact=Malory Brwn amount=5"
    parsed = parse(text)
    assert isinstance(parsed, Parsed)
    ((start, end),) = parsed.spans["contact="]
    assert text[start:end] == "contact=Malory Brwn"
