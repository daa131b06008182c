"""How record names become search keys, and how what a person typed is folded the same way.

Pure functions (standard library, pypinyin and the company normaliser's legal forms). A name gives a handful of keys, each a (field, key) pair
that the search index stores and finds by prefix:

- ``name``: the whole name folded (``"Acme Corp."`` → ``"acmecorp"``, ``"深圳某某"`` → ``"深圳某某"``);
- ``word``: the name from each later word (Latin) or character (Chinese) on, so "contains" is a prefix
  lookup too (``"某某"``, ``"corp"``);
- ``pinyin``: for names with Chinese characters, the pinyin from each syllable on (``"shenzhenmoumou"``,
  ``"moumou"``);
- ``initials``: their first letters from each syllable on (``"szmm"``, ``"mm"``).

`slips` measures how far a typed key is from the start of a stored one, for the lookup's last resort: a
name spelled almost like a record's (`Cyberdine` for Cyberdyne GmbH, `shenzen` for 深圳).

`fold` is also the parser's normaliser for what people type: full-width letters, digits and dashes
become ASCII (NFKC), every dash form becomes "-".
"""
from __future__ import annotations

import re
from functools import lru_cache
import unicodedata

from pypinyin import lazy_pinyin

from crm_core.normalize import strip_legal_forms

KEY_MAX = 120
UNITS_MAX = 24  # suffix keys per name: a long ticket subject indexes its first 24 words/characters
DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u30fc"), "-")
TRAILING = "，。！？；：、,.!?;:…~～ "
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")

FIELDS = ("name", "word", "pinyin", "initials")
# How many slips a typed key may hold and still name a record: (shortest key, slips), longest first. Latin keys
# are counted in letters, Chinese in characters (one carries more).
NEAR_LATIN = ((8, 2), (4, 1))
NEAR_CHINESE = ((6, 2), (3, 1))


def fold(text: str) -> str:
    """Full-width → ASCII, every dash → "-", case folded, spaces collapsed."""
    s = unicodedata.normalize("NFKC", text).translate(DASHES)
    return " ".join(s.casefold().split())


def normalise_typed(text: str) -> str:
    """A word as a command reads it: full-width → ASCII, dashes → "-", sentence punctuation at the end
    dropped; case kept (`Ｄ－52，` → `D-52`)."""
    return strip_trailing(unicodedata.normalize("NFKC", text).translate(DASHES).strip())


def strip_trailing(text: str) -> str:
    """`D-52，` → `D-52`: punctuation a person ends a sentence with."""
    return text.rstrip(TRAILING)


def units(text: str) -> list[str]:
    """Latin/digit words and single Chinese characters, folded; punctuation and spaces dropped."""
    return _UNIT.findall(fold(text))


def search_key(text: str) -> str:
    """What a typed query is looked up by: its units joined (no spaces, no punctuation)."""
    return "".join(units(text))[:KEY_MAX]


def has_chinese(text: str) -> bool:
    return bool(_IS_CJK.search(text))


def _syllables(parts: list[str]) -> list[str]:
    """One pinyin syllable per unit (a Latin word stays itself); runs of characters together, so phrases
    pick the right reading (重庆 → chong qing)."""
    out: list[str] = []
    run: list[str] = []
    for part in parts + [""]:
        if part and _IS_CJK.fullmatch(part):
            run.append(part)
            continue
        if run:
            out += _run_syllables("".join(run))
            run = []
        if part:
            out.append(part)
    return out


@lru_cache(maxsize=16384)  # a run of characters ("深圳", "科技有限公司") recurs across many names
def _run_syllables(run: str) -> tuple[str, ...]:
    syl = lazy_pinyin(run)
    return tuple(syl) if len(syl) == len(run) else tuple(run)


def name_keys(text: str | None) -> frozenset[tuple[str, str]]:
    """The (field, key) pairs a record's name is found by."""
    if not text:
        return frozenset()
    return _name_keys(text)


@lru_cache(maxsize=8192)  # pinyin is the cost of an import: a company named by many rows is worked out once
def _name_keys(text: str) -> frozenset[tuple[str, str]]:
    parts = units(text)[:UNITS_MAX]
    if not parts:
        return frozenset()
    # Parts found "inside" the name start before its legal form: "有限公司", "公司", "corp" alone would
    # match every company (and were a third of an import's keys).
    starts = min(len(units(strip_legal_forms(fold(text)))) or len(parts), len(parts))
    keys = {("name", "".join(parts)[:KEY_MAX])}
    for i in range(1, starts):
        keys.add(("word", "".join(parts[i:])[:KEY_MAX]))
    if any(_IS_CJK.fullmatch(p) for p in parts):
        syl = [s.casefold() for s in _syllables(parts)]
        for i in range(starts):
            keys.add(("pinyin", "".join(syl[i:])[:KEY_MAX]))
            if len(syl) - i > 1:
                keys.add(("initials", "".join(s[0] for s in syl[i:] if s)[:KEY_MAX]))
    return frozenset((f, k) for f, k in keys if k)


def record_keys(*texts: str | None) -> set[tuple[str, str]]:
    """Keys of every text a record is known by (a lead's name and company), the best field kept per key."""
    best: dict[str, str] = {}
    for text in texts:
        for field, key in name_keys(text):
            if key not in best or FIELDS.index(field) < FIELDS.index(best[key]):
                best[key] = field
    return {(f, k) for k, f in best.items()}


def prefix_end(key: str) -> str:
    """The smallest string above every string starting with `key` (for an index range scan)."""
    return key + "\U0010ffff"


def slips_allowed(key: str) -> int:
    """How many slips `key` may hold and still be taken for a name spelled alike: none when it is too short
    to guess from (under four letters, three Chinese characters), one, or two for a long key."""
    steps = NEAR_CHINESE if has_chinese(key) else NEAR_LATIN
    return next((n for shortest, n in steps if len(key) >= shortest), 0)


def slips(typed: str, key: str, most: int) -> int:
    """The fewest one-character slips (a letter added, dropped, changed, or two neighbours swapped) that turn
    `typed` into the start of `key`, counted up to `most + 1`: `cyberdine` is one slip from `cyberdynegmbh`.
    Digits are never slipped: `Branch 2` is not a misspelt `Branch 1`."""
    return _slips(typed, key[:len(typed) + most], most)


@lru_cache(maxsize=4096)  # the keys next to a typed one repeat (many records share a company's name)
def _slips(typed: str, key: str, most: int) -> int:
    never = most + 1
    t_cost = [never if c.isdigit() else 1 for c in typed]  # what adding or dropping each character costs
    k_cost = [never if c.isdigit() else 1 for c in key]
    before: list[int] = []
    prev = [0] * (len(key) + 1)
    for j in range(1, len(key) + 1):
        prev[j] = prev[j - 1] + k_cost[j - 1]
    for i, a in enumerate(typed, 1):
        ta = t_cost[i - 1]
        cur = [prev[0] + ta] + [0] * len(key)
        for j, b in enumerate(key, 1):
            kb = k_cost[j - 1]
            best = prev[j - 1] if a == b else prev[j - 1] + max(ta, kb)
            best = min(best, prev[j] + ta, cur[j - 1] + kb)
            if i > 1 and j > 1 and a == key[j - 2] and typed[i - 2] == b and a != b:
                best = min(best, before[j - 2] + max(ta, kb))
            cur[j] = best
        if min(cur) > most:
            return never
        before, prev = prev, cur
    return min(min(prev), never)
