"""Discounts as people write them: `15%`, `discount=15`, and the Chinese 折 (the share of the price paid):
`打8折` / `八折` → 20 % off, `85折` / `八五折` / `8.5折` → 15 % off. Pure; the quote service checks the range."""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

_ZH_NUM = {"一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8",
           "九": "9", "〇": "0", "零": "0", "点": "."}
_ZHE = re.compile(r"^打?(\d(?:\.\d)?|\d\d)折$")
_PCT = re.compile(r"^(?:折扣)?(\d{1,3}(?:\.\d{1,4})?)%$")
# A word in a quote command that is a discount rather than a product line (the grammar asks this).
DISCOUNT_WORD = re.compile(r"^(?:打?[0-9０-９.．一二两三四五六七八九〇零点]{1,4}折|[0-9０-９.．]{1,8}[%％])$")


def _fold(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
    return "".join(_ZH_NUM.get(c, c) for c in text)


def is_discount_word(raw: str) -> bool:
    return DISCOUNT_WORD.match(raw.strip()) is not None


def discount_pct(raw: str) -> Decimal | None:
    """The percent off that `raw` says, or None when it is not a discount form we read."""
    text = _fold(raw)
    if m := _ZHE.match(text):
        digits = m[1]
        try:
            # 8 / 8.5 → 80 / 85 % paid; 85 → 85 %; 10折 is the full price
            paid = Decimal(100) if digits == "10" else Decimal(digits) * 10 if len(digits) != 2 else Decimal(digits)
        except InvalidOperation:
            return None
        if not Decimal(0) < paid <= Decimal(100):
            return None
        off = Decimal(100) - paid
        return off.quantize(Decimal(1)) if off == off.to_integral_value() else off
    if m := _PCT.match(text):
        return Decimal(m[1])
    try:
        value = Decimal(text) if len(text) <= 12 else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() else None
