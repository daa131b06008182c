"""Quote pricing (exact Decimal, rounded once), input checks, versions that supersede each other."""
from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from crm_core.config import SAMPLE_CONFIG_PATH, Config, parse_config
from crm_core.errors import Conflict, DomainError, InvalidValue
from crm_core.models import Approval, AuditEntry, Quote
from crm_core.services.deals import do_create_deal
from crm_core.services.money import round_money
from crm_core.services.quotes import check_lines, do_create_quote, parse_discount, price
from crm_core.services.users import user_by_key
from cards.errors import error_text
from tests.said import raises_said


def config_with(products: list[dict[str, Any]], tax_rate: str = "0") -> Config:
    data = tomllib.loads(SAMPLE_CONFIG_PATH.read_text(encoding="utf-8"))
    data["products"] = products
    data["quotes"] = {"tax_rate": tax_rate}
    return parse_config(data)


class TestPricing:
    def test_line_total_is_quantity_times_unit_price_and_tax_applies_after_the_discount(self, config: Config) -> None:
        p = price(config, [("PRO", 10), ("STD", 5)], Decimal(15), "CNY")
        assert [ln.line_total for ln in p.lines] == [Decimal("12000.0"), Decimal("3000.0")]
        assert p.subtotal == Decimal("15000")
        assert p.discount_amount == Decimal("2250")
        assert p.tax_amount == Decimal("12750") * Decimal("0.13")
        assert p.total == Decimal("14407.50")

    def test_thirds_are_summed_exactly_and_rounded_once(self) -> None:
        cfg = config_with([{"sku": "THIRD", "name": "a third", "price": "0.333333333"}])
        p = price(cfg, [("THIRD", 3)], Decimal(0), "CNY")
        assert p.total == Decimal("1.00")  # rounding each line first would give 0.99
        p = price(cfg, [("THIRD", 1), ("THIRD", 1), ("THIRD", 1)], Decimal(0), "CNY")
        assert p.total == Decimal("1.00")

    def test_discount_and_tax_are_not_rounded_on_the_way(self) -> None:
        cfg = config_with([{"sku": "A", "name": "A", "price": "19.99"}], tax_rate="0.13")
        p = price(cfg, [("A", 3)], Decimal("12.5"), "CNY")
        # 59.97 × 0.875 = 52.47375; × 1.13 = 59.2953375 → 59.30 (rounding the net first would give 59.29)
        assert p.total == Decimal("59.30")
        assert p.total.as_tuple().exponent == -2

    def test_half_cents_round_half_up_and_currencies_without_minor_units_round_to_whole(self) -> None:
        cfg = config_with([{"sku": "A", "name": "A", "price": "0.125"}])
        assert price(cfg, [("A", 1)], Decimal(0), "CNY").total == Decimal("0.13")
        assert price(cfg, [("A", 4)], Decimal(0), "JPY").total == Decimal("1")
        assert round_money(Decimal("2.5"), "JPY") == Decimal("3")

    def test_a_full_discount_costs_nothing(self, config: Config) -> None:
        assert price(config, [("ENT", 2)], Decimal(100), "CNY").total == Decimal("0.00")


class TestInputChecks:
    def test_an_unknown_sku_lists_the_known_ones(self, config: Config) -> None:
        with pytest.raises(InvalidValue) as err:
            check_lines(config, [("PRO", 1), ("GOLD", 2)])
        text = error_text(err.value, "en")
        assert "GOLD" in text and "PRO, STD, ENT, SVC" in text and "quote D-7 PRO x10 STD x5" in text
        assert "可用产品：PRO, STD, ENT, SVC" in error_text(err.value, "zh_CN")

    @pytest.mark.parametrize("qty", [0, -3])
    def test_quantities_must_be_positive(self, config: Config, qty: int) -> None:
        with raises_said(InvalidValue, "above 0"):
            check_lines(config, [("PRO", qty)])

    def test_sku_case_does_not_matter(self, config: Config) -> None:
        assert check_lines(config, [("pro", 2)]) == [("PRO", 2)]

    @pytest.mark.parametrize("raw,value", [(None, "0"), ("15", "15"), ("12.5%", "12.5"), ("0", "0"), ("100", "100")])
    def test_discounts_from_0_to_100(self, raw: str | None, value: str) -> None:
        assert parse_discount(raw) == Decimal(value)

    @pytest.mark.parametrize("raw", ["-1", "100.5", "abc", "NaN", "Infinity", "1e3", "10.12345"])
    def test_other_discounts_say_what_to_type(self, raw: str) -> None:
        with pytest.raises(InvalidValue) as err:
            parse_discount(raw)
        assert "discount=15" in error_text(err.value, "en") and "折扣=15" in error_text(err.value, "zh_CN")


@pytest.fixture
def deal_id(uow, clock):  # type: ignore[no-untyped-def]
    with uow:
        li = user_by_key(uow.session, "li")
        deal = do_create_deal(uow, li, account_name="Acme", amount=Decimal(200000), name=None, close_date=None,
                              now=clock.now())
        return deal.id


def _quote(uow, clock, key: str, deal_id: int, lines, discount: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with uow:
        actor = user_by_key(uow.session, key)
        q = do_create_quote(uow, actor, deal_id, lines, Decimal(discount), now=clock.now())
        return q.id, q.version


class TestVersions:
    def test_each_quote_is_the_next_version_and_supersedes_the_previous_one(self, uow, clock, deal_id) -> None:  # type: ignore[no-untyped-def]
        q1, v1 = _quote(uow, clock, "li", deal_id, [("PRO", 10)], "5")
        q2, v2 = _quote(uow, clock, "li", deal_id, [("PRO", 8)], "5")
        assert (v1, v2) == (1, 2)
        with uow:
            old, new = uow.session.get(Quote, q1), uow.session.get(Quote, q2)
            assert old.superseded_at is not None and old.lines[0].quantity == 10  # kept, readable
            assert new.superseded_at is None and new.status == "approved"  # 5 % needs nobody
            actions = list(uow.session.scalars(select(AuditEntry.action).where(AuditEntry.record_type == "quote")))
            assert actions == ["quote.create", "quote.create"]

    def test_a_new_version_cancels_the_pending_approval_of_the_old_one(self, uow, clock, deal_id) -> None:  # type: ignore[no-untyped-def]
        q1, _ = _quote(uow, clock, "li", deal_id, [("PRO", 10)], "25")
        _quote(uow, clock, "li", deal_id, [("PRO", 10)], "8")
        with uow:
            approval = uow.session.scalar(select(Approval).where(Approval.quote_id == q1))
            assert approval.status == "cancelled"
            assert [s.status for s in approval.steps] == ["cancelled", "cancelled"]

    def test_discount_at_the_lowest_threshold_needs_no_approval(self, uow, clock, deal_id) -> None:  # type: ignore[no-untyped-def]
        q, _ = _quote(uow, clock, "li", deal_id, [("PRO", 1)], "10")
        with uow:
            assert uow.session.get(Quote, q).status == "approved"
            assert uow.session.scalar(select(Approval.id)) is None

    def test_another_reps_deal_cannot_be_quoted(self, uow, clock, deal_id) -> None:  # type: ignore[no-untyped-def]
        with raises_said(DomainError, "not allowed"):
            _quote(uow, clock, "emma", deal_id, [("PRO", 1)], "0")

    def test_a_closed_deal_cannot_be_quoted(self, uow, clock, deal_id) -> None:  # type: ignore[no-untyped-def]
        from crm_core.models import Deal
        with uow:
            uow.session.get(Deal, deal_id).status = "lost"
        with raises_said(Conflict, "closed"):
            _quote(uow, clock, "li", deal_id, [("PRO", 1)], "0")
