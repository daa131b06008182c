"""Dates, times and discounts as people write them (crm_core/dates.py, crm_core/discounts.py): pure, with
`today` passed in. 2026-11-30 is a Monday."""
from __future__ import annotations

from cards.errors import error_text

from datetime import date, time
from decimal import Decimal

import pytest

from crm_core.config import load_config, parse_config
from crm_core.dates import parse_date, parse_time, split_when
from crm_core.discounts import discount_pct, is_discount_word
from crm_core.errors import ConfigError, InvalidValue
from crm_core.fields import check_date
from crm_core.services.quotes import parse_discount

MON = date(2026, 11, 30)


@pytest.mark.parametrize("text, expected", [
    ("2027-03-31", date(2027, 3, 31)), ("2027-3-31", date(2027, 3, 31)), ("2027/3/31", date(2027, 3, 31)),
    ("2027.3.31", date(2027, 3, 31)), ("20270331", date(2027, 3, 31)), ("２０２７－０３－３１", date(2027, 3, 31)),
    ("3/31", date(2027, 3, 31)), ("12/15", date(2026, 12, 15)), ("2027年3月31日", date(2027, 3, 31)),
    ("3月31日", date(2027, 3, 31)), ("12月1号", date(2026, 12, 1)),
    ("今天", MON), ("明天", date(2026, 12, 1)), ("后天", date(2026, 12, 2)), ("大后天", date(2026, 12, 3)),
    ("today", MON), ("tomorrow", date(2026, 12, 1)), ("Tomorrow", date(2026, 12, 1)),
    ("昨天", date(2026, 11, 29)), ("前天", date(2026, 11, 28)), ("yesterday", date(2026, 11, 29)),
    ("下周五", date(2026, 12, 11)), ("下星期五", date(2026, 12, 11)), ("本周五", date(2026, 12, 4)),
    ("这周五", date(2026, 12, 4)), ("周五", date(2026, 12, 4)), ("星期一", MON), ("周日", date(2026, 12, 6)),
    ("next friday", date(2026, 12, 11)), ("this friday", date(2026, 12, 4)), ("friday", date(2026, 12, 4)),
    ("Fri", date(2026, 12, 4)),
    ("月底", date(2026, 11, 30)), ("end of month", date(2026, 11, 30)), ("下月底", date(2026, 12, 31)),
    ("end of next month", date(2026, 12, 31)), ("年底", date(2026, 12, 31)),
    ("下个月", date(2026, 12, 30)), ("下月", date(2026, 12, 30)), ("next month", date(2026, 12, 30)),
    ("下周", date(2026, 12, 7)), ("next week", date(2026, 12, 7)),
    ("3天后", date(2026, 12, 3)), ("in 3 days", date(2026, 12, 3)), ("+2w", date(2026, 12, 14)),
])
def test_every_form_people_write_reads_as_one_day(text: str, expected: date) -> None:
    assert parse_date(text, MON) == expected


def test_month_and_day_without_a_year_mean_the_next_such_day() -> None:
    assert parse_date("1/5", MON) == date(2027, 1, 5)        # January has passed this year
    assert parse_date("11月30日", MON) == MON                  # today still counts
    assert parse_date("2月29日", date(2027, 3, 1)) == date(2028, 2, 29)  # the next year that has it


def test_next_month_keeps_the_day_or_takes_the_months_last() -> None:
    assert parse_date("下个月", date(2027, 1, 31)) == date(2027, 2, 28)


@pytest.mark.parametrize("text", ["", "foo", "2027-02-30", "13/40", "周八", "next blursday", "2027年13月1日",
                                  "x" * 60])
def test_what_is_not_a_date_is_none(text: str) -> None:
    assert parse_date(text, MON) is None


def test_check_date_names_the_field_and_the_forms_it_reads() -> None:
    with pytest.raises(InvalidValue) as exc:
        check_date("due", "someday", MON)
    assert "someday" in error_text(exc.value, "en") and "next friday" in error_text(exc.value, "en")
    assert "截止日期「someday」无效" in error_text(exc.value, "zh_CN")


@pytest.mark.parametrize("text, expected", [
    ("10:00", time(10)), ("9:30", time(9, 30)), ("15:45", time(15, 45)), ("10点", time(10)), ("10点半", time(10, 30)),
    ("下午3点", time(15)), ("上午10点", time(10)), ("晚上8点", time(20)), ("3pm", time(15)), ("10am", time(10)),
    ("12am", time(0)), ("12pm", time(12)), ("１０：００", time(10)),
])
def test_times_of_day(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "10", "13pm", "call", "10:61"])
def test_what_is_not_a_time_is_none(text: str) -> None:
    assert parse_time(text) is None


@pytest.mark.parametrize("text, day, at, rest", [
    ("friday 10:00 call back", date(2026, 12, 4), time(10), "call back"),
    ("明天 下午3点 回电话", date(2026, 12, 1), time(15), "回电话"),
    ("下周五10点 发合同", date(2026, 12, 11), time(10), "发合同"),
    ("end of month send the contract", MON, None, "send the contract"),
    ("next friday 9am  two  spaces", date(2026, 12, 11), time(9), "two  spaces"),
    ("10:00 call", None, time(10), "call"),
    ("call back tomorrow", None, None, "call back tomorrow"),
])
def test_split_when_takes_the_date_and_time_off_the_front(text: str, day, at, rest) -> None:  # type: ignore[no-untyped-def]
    when = split_when(text, MON)
    assert (when.day, when.at, when.rest) == (day, at, rest)


@pytest.mark.parametrize("text, off", [
    ("打8折", 20), ("八折", 20), ("8折", 20), ("85折", 15), ("八五折", 15), ("8.5折", 15), ("打九五折", 5),
    ("１５％", 15), ("15%", 15), ("15", 15), ("12.5", Decimal("12.5")), ("10折", 0),
])
def test_discounts_as_people_write_them(text: str, off: int | Decimal) -> None:
    assert discount_pct(text) == Decimal(off)
    assert parse_discount(text) == Decimal(off)


@pytest.mark.parametrize("text", ["0折", "打折", "150", "-5", "1e400", "abc", "100折"])
def test_a_discount_that_is_not_one_says_what_to_type(text: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        parse_discount(text)
    assert "打85折" in error_text(exc.value, "zh_CN")


def test_only_discount_shaped_words_are_taken_out_of_a_quote_line() -> None:
    assert all(is_discount_word(w) for w in ("打8折", "八五折", "15%", "８折"))
    assert not any(is_discount_word(w) for w in ("PRO", "x10", "15", "专业版", "折扣"))


def test_products_are_found_by_sku_name_or_alias() -> None:
    config = load_config(None)
    assert [config.product(x).sku for x in ("PRO", "pro", "专业版", "professional", "Professional",  # type: ignore[union-attr]
                                            "ＰＲＯ", "实施")] == ["PRO"] * 6 + ["SVC"]
    assert config.product("旗舰版") is None


def _config_with_products(products: list[dict]) -> dict:  # type: ignore[type-arg]
    import tomllib

    from crm_core.config import SAMPLE_CONFIG_PATH
    data = tomllib.loads(SAMPLE_CONFIG_PATH.read_text(encoding="utf-8"))
    data["products"] = products
    return data


def test_check_config_refuses_an_alias_that_names_two_products() -> None:
    data = _config_with_products([{"sku": "PRO", "name": "专业版", "price": 1, "aliases": ["pro版"]},
                                  {"sku": "STD", "name": "标准版", "price": 1, "aliases": ["专业版", "with space"]}])
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    paths = [p for p, _ in exc.value.problems]
    assert "products.1" in paths and "products.1.aliases.1" in paths
    assert any("'专业版' is also products.0" in m for _, m in exc.value.problems)


def test_a_user_time_zone_must_be_a_real_one() -> None:
    data = _config_with_products([])
    data["users"][0]["timezone"] = "Mars/Olympus"
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    assert any(p == "users.0.timezone" and "Mars/Olympus" in m for p, m in exc.value.problems)
