"""One money formatter (minor units per currency, half-up) and one stage name, as people read them."""
from __future__ import annotations

from decimal import Decimal

import pytest

from cards.format import money, money_or_dash, pct, stage_name
from crm_core.config import load_config


class TestMoney:
    @pytest.mark.parametrize(("amount", "currency", "shown"), [
        ("120000", "CNY", "¥120,000.00"),
        ("1234.5", "USD", "$1,234.50"),
        ("99.9", "EUR", "€99.90"),
        ("1234.5", "JPY", "¥1,235"),          # yen have no minor unit: no ".50", rounded half-up
        ("1500000", "JPY", "¥1,500,000"),
        ("0.5", "KRW", "KRW 1"),
        ("1.2345", "KWD", "KWD 1.235"),       # dinar: three decimals
        ("12", "CHF", "CHF 12.00"),           # a code without a symbol here is written before the number
        ("7.5", "hkd", "HK$7.50"),
    ])
    def test_each_currency_shows_its_own_minor_unit(self, amount: str, currency: str, shown: str) -> None:
        assert money(Decimal(amount), currency) == shown

    def test_a_negative_amount_puts_the_sign_before_the_symbol(self) -> None:
        assert money(Decimal("-1234.5"), "CNY") == "-¥1,234.50"
        assert money(Decimal("-1234.5"), "JPY") == "-¥1,235"
        assert money(Decimal("-0.001"), "USD") == "$0.00"  # rounds to zero: no "-$0.00"

    def test_large_amounts_keep_every_digit(self) -> None:
        # parse_money accepts up to 10^15; Decimal keeps the cents that a float would lose
        assert money(Decimal("999999999999999.99"), "CNY") == "¥999,999,999,999,999.99"
        assert money(Decimal("12345678901234"), "JPY") == "¥12,345,678,901,234"

    @pytest.mark.parametrize(("amount", "shown"), [
        ("0.125", "$0.13"), ("2.675", "$2.68"), ("0.005", "$0.01"), ("0.004999", "$0.00"), ("-2.675", "-$2.68"),
    ])
    def test_decimals_round_half_up_not_to_even(self, amount: str, shown: str) -> None:
        assert money(Decimal(amount), "USD") == shown

    def test_whole_numbers_and_missing_amounts(self) -> None:
        assert money(5000, "CNY") == "¥5,000.00"
        assert money(None, "CNY") is None
        assert money_or_dash(None, "CNY") == "—"
        assert money_or_dash(Decimal("3"), "JPY") == "¥3"


def test_percentages_drop_trailing_zeros() -> None:
    assert [pct(Decimal(v)) for v in ("15.00", "12.50", "10", "0.0")] == ["15", "12.5", "10", "0"]


def test_a_stage_reads_in_the_readers_language_and_an_unknown_key_as_typed() -> None:
    config = load_config(None)
    first = config.pipeline.stages[0]
    assert stage_name(config, first.key, "en") == first.name.en
    assert stage_name(config, first.key, "zh_CN") == first.name.zh_CN
    assert stage_name(config, "retired_stage", "zh_CN") == "retired_stage"
