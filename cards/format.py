"""Pure formatting of what people read: money, company time, stage names (no database, no clock).

One home for it, shared by handlers, scheduler jobs and card builders:

- `money(amount, currency)`: the currency's symbol, thousands separators and exactly as many decimals
  as the currency's minor unit (JPY 0, CNY/USD/EUR 2, KWD 3), rounded half-up; a negative amount
  reads `-¥1,234.50`. An unknown code is written before the number (`CHF 12.00`).
- `local_time(config, at, locale)`: an aware UTC instant in the company's time zone, one format per
  locale (crm_core.company_time owns the conversion; crm_core needs it for its own messages).
- `stage_name(config, key, locale)`: a pipeline stage in the reader's language.
"""
from __future__ import annotations

from decimal import Decimal

from crm_core.company_time import local_date, local_hhmm, local_now, local_time, reader_hhmm, reader_time  # noqa: F401  (one helper, re-exported)
from crm_core.config import Config
from cards.i18n import base_locale, is_chinese, normalise_locale
from crm_core.services.money import minor_unit, round_money

SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}
NO_AMOUNT = "—"


def money(amount: Decimal | int | None, currency: str) -> str | None:
    """`¥120,000.00`, `$1,234.50`, `¥1,235` (JPY), `-€3.10`; None stays None."""
    if amount is None:
        return None
    places = minor_unit(currency)
    value = round_money(Decimal(amount), currency)
    sign = "-" if value < 0 else ""
    return f"{sign}{SYMBOLS.get(currency.upper(), currency.upper() + ' ')}{abs(value):,.{places}f}"


def money_or_dash(amount: Decimal | int | None, currency: str) -> str:
    """Like `money`, with `—` where there is no amount (table cells, one-line summaries)."""
    return money(amount, currency) or NO_AMOUNT


def pct(value: Decimal) -> str:
    """A percentage without trailing zeros: 15, 12.5."""
    return format(Decimal(value).normalize(), "f")


def stage_name(config: Config, key: str, locale: str) -> str:
    """The stage's name in the reader's language; an unknown key (a stage since removed) as typed."""
    stage = config.pipeline.get(key)
    if stage is None:
        return key
    return str(getattr(stage.name, base_locale(locale)))  # zh-TW and zh_TW read the Chinese label too


def compact_money(amount: Decimal | float, currency: str, locale: str) -> str:
    """¥1.2M / ¥120万: short enough for a bar label."""
    symbol = SYMBOLS.get(currency.upper(), currency.upper() + " ")
    x = float(amount)
    if is_chinese(locale):
        for div, unit in ((1e8, "亿"), (1e4, "万")):
            if abs(x) >= div:
                return f"{symbol}{_short_number(x / div)}{unit}"
        return f"{symbol}{x:,.0f}"
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= div:
            return f"{symbol}{_short_number(x / div)}{unit}"
    return f"{symbol}{x:,.0f}"


def _short_number(x: float) -> str:
    return f"{x:,.1f}".removesuffix(".0")
