"""Money is Decimal, typed by people as 120000, 120,000, 12万 or 1.2w."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision

from crm_core.errors import InvalidValue

_MULTIPLIERS = {"万": Decimal(10000), "w": Decimal(10000), "k": Decimal(1000), "m": Decimal(1000000),
                "亿": Decimal(100000000)}


def parse_money(raw: str, field: str = "amount") -> Decimal:
    text = raw.strip().replace(",", "").replace("，", "").replace("¥", "").replace("$", "").replace("￥", "")
    mult = Decimal(1)
    if text and text[-1].lower() in _MULTIPLIERS:
        mult = _MULTIPLIERS[text[-1].lower()]
        text = text[:-1]
    try:
        value = Decimal(text) * mult
    except InvalidOperation:
        raise InvalidValue(field, raw, "use a number such as 120000, 120,000 or 12万",
                           "请填写数字，例如 120000、120,000 或 12万") from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e15"):
        raise InvalidValue(field, raw, "use a positive amount below 10^15", "请填写小于 10^15 的正数金额")
    return quantize(value)


def quantize(value: Decimal, places: int = 2) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=64)
def minor_unit(currency: str) -> int:
    """Decimal places of the currency's minor unit (CLDR/ISO 4217 via Babel): JPY 0, CNY 2, KWD 3.

    An unknown code gets 2, Babel's default.
    """
    return get_currency_precision(currency.upper())


def round_money(value: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (a total is rounded once, at the end)."""
    return quantize(Decimal(value), minor_unit(currency))
