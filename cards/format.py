"""What people read of values, in their language: money, company time, and the labels of stages, fields,
picklist choices and stage tasks (no database, no clock).

One home for it, shared by handlers, scheduler jobs and card builders:

- `money(amount, currency)`: the currency's symbol, thousands separators and exactly as many decimals
  as the currency's minor unit (JPY 0, CNY/USD/EUR 2, KWD 3), rounded half-up; a negative amount
  reads `-¥1,234.50`. An unknown code is written before the number (`CHF 12.00`).
- `local_time(config, at, locale)`: an aware UTC instant in the company's time zone, one format per
  locale (crm_core.company_time owns the conversion; crm_core needs it for its own messages).
- `stage_name(config, key, locale)`: a pipeline stage in the reader's language.
- Labels from the configuration and the catalogs: picklist choices, declared and record fields, stage tasks.
  crm_core stores and returns keys; the label is picked here (base_locale for the two languages the
  configuration declares). A field is named as its reader knows it: an English reader sees the key they type
  (`close_date`), a Chinese reader its label (预计成交日期); which of the two a language shows is the
  catalog's choice (area "labels", key "field"), not the code's.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from crm_core.company_time import local_date, local_hhmm, local_now, local_time, reader_hhmm, reader_time  # noqa: F401  (one helper, re-exported)
from cards.i18n import base_locale, is_chinese, normalise_locale, translator
from crm_core.config import Config, PicklistChoice
from crm_core.fields import decl_choices, find_choice, find_decl, picklist_choices
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


def short(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, its last one an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


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


t = translator("labels")
modal = translator("modals")  # the built-in deal fields' labels, as the forms show them
terms = translator("terms")  # the built-in fields' names in sentences (邮箱, 电话)


def choice_label(choices: Sequence[PicklistChoice], key: str | None, locale: str) -> str | None:
    """The label of the choice stored as `key`; a key no choice has (since removed) as stored."""
    if key is None:
        return None
    choice = find_choice(choices, key)
    return key if choice is None else getattr(choice, base_locale(locale))


def picklist_label(config: Config, name: str, key: str | None, locale: str) -> str | None:
    """A picklisted value in the reader's language; without a configured picklist: as stored."""
    choices = picklist_choices(config, name)
    if choices is None or key is None:
        return key
    return choice_label(choices, key, locale)


def custom_label(config: Config, kind: str, key: str, value: str, locale: str) -> tuple[str, str]:
    """(field label, value label) of a stored custom field in the reader's language."""
    decl = find_decl(config, kind, key)
    if decl is None or decl.key != key:
        return key, value
    label = getattr(decl.name, base_locale(locale))
    if decl.type == "choice":
        return label, choice_label(decl_choices(config, decl), value, locale) or value
    return label, value


def field_label(config: Config, kind: str, key: str, locale: str) -> str:
    """A record field's label in the reader's language: the catalog's for built-in fields, the declared
    field's own ([[fields.deal]] name) for the others, else the key."""
    label = (t.lookup(locale, f"{kind}.{key}") or (modal.lookup(locale, f"f.{key}") if kind == "deal" else None)
             or terms.lookup(locale, f"field.{key}"))
    if label is None:
        decl = find_decl(config, kind, key)
        label = getattr(decl.name, base_locale(locale)) if decl is not None else key
    return label


def field_name(config: Config, kind: str, key: str, locale: str) -> str:
    return t(locale, "field", key=key, label=field_label(config, kind, key, locale))


def field_names(config: Config, kind: str, keys: Iterable[str], locale: str) -> str:
    """`amount, close_date` / `金额、预计成交日期`."""
    return t(locale, "sep").join(field_name(config, kind, k, locale) for k in keys)


def task_title(config: Config, title: str, locale: str) -> str:
    """A stage task's title in the reader's language (`title_zh` in the configuration); any other task as
    it was written."""
    for stage in config.pipeline.stages:
        for tpl in stage.task_templates():
            if tpl.title == title:
                return tpl.title_zh if is_chinese(locale) and tpl.title_zh else tpl.title
    return title
