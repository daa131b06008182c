"""Money is Decimal, typed by people as 120000, 120,000, 1.2w or with a Chinese multiplier (vocabulary.py)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision

from crm_core.errors import InvalidValue
from crm_core.vocabulary import MONEY_MULTIPLIERS

_MULTIPLIERS = MONEY_MULTIPLIERS


def parse_money(raw: str, field: str = "amount") -> Decimal:
    text = raw.strip().replace(",", "").replace("，", "").replace("¥", "").replace("$", "").replace("￥", "")
    mult = Decimal(1)
    if text and text[-1].lower() in _MULTIPLIERS:
        mult = _MULTIPLIERS[text[-1].lower()]
        text = text[:-1]
    try:
        value = Decimal(text) * mult
    except InvalidOperation:
        raise InvalidValue(field, raw, "money.format") from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e15"):
        raise InvalidValue(field, raw, "money.range")
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
