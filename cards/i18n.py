"""Message catalogs: one gettext `.po` file per locale in cards/locales/, read with Babel.

Each message is addressed by its area (the `msgctxt`: "sales", "quotes", …, the builder module that uses
it) and a key (the `msgid`). `en` and `zh_CN` are complete (a test checks it); any other catalog may be
partial: a key it lacks is taken from the next locale of its chain (another catalog of the same language,
then English). Adding a language is adding `cards/locales/<locale>.po` (and, for the help text,
`cards/templates/<locale>/`): nothing else changes.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from crm_core.config import label_language

LOCALES_DIR = Path(__file__).with_name("locales")
COMPLETE = ("zh_CN", "en")
LOCALES = COMPLETE  # the locales every message exists in; see available_locales() for all catalogs
Messages = Mapping[tuple[str, str], str]


@lru_cache(maxsize=None)
def available_locales() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in LOCALES_DIR.glob("*.po")))


@lru_cache(maxsize=None)
def messages(locale: str) -> Messages:
    """{(area, key): text} of one catalog (empty msgstr = not translated = absent)."""
    path = LOCALES_DIR / f"{locale}.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale.replace("-", "_"))
    return {(m.context or "", str(m.id)): str(m.string) for m in catalog if m.id and m.string}


def normalise_locale(locale: str | None) -> str:
    """The catalog to speak for a platform or stored locale ("zh-TW", "zh_CN", "ja-JP", "en-US", …):
    an exact catalog, else one of the same language (Chinese: zh_CN), else English."""
    if not locale:
        return "en"
    tag = locale.replace("-", "_")
    available = available_locales()
    if tag in available:
        return tag
    lang = tag.split("_")[0].lower()
    if lang == "zh":
        region = tag.split("_")[1].upper() if "_" in tag else ""
        if region in ("TW", "HK", "MO", "HANT") and "zh_TW" in available:
            return "zh_TW"
        return "zh_CN"
    if lang in available:
        return lang
    return "en"


def chain(locale: str | None) -> tuple[str, ...]:
    """Where a message is looked up, in order: the locale, a complete catalog of its language, English."""
    first = normalise_locale(locale)
    base = base_locale(first)
    return tuple(dict.fromkeys((first, base, "en")))


def base_locale(locale: str | None) -> str:
    """The complete locale (`zh_CN` or `en`) that stands for `locale` where only those two exist:
    labels in the configuration file (stage names, picklists) and date forms."""
    return label_language(normalise_locale(locale))


def is_chinese(locale: str | None) -> bool:
    return base_locale(locale) == "zh_CN"


MISSED: set[tuple[str, str]] = set()  # (area, key) asked for and found in no catalog (the tests fail on any)
MISSED_MAX = 1000  # a process remembers this many (a key can carry a typed word: bounded, not a leak)


class Translator:
    """t(locale, key, **params) -> text for one area; falls back along chain(locale), then to the key."""

    def __init__(self, area: str) -> None:
        self.area = area

    def __call__(self, locale: str | None, key: str, /, **params: Any) -> str:
        template = self.lookup(locale, key)
        if template is None:
            if len(MISSED) < MISSED_MAX:
                MISSED.add((self.area, key))  # a key no catalog has: the reader would see the key itself
            return key
        return template.format(**params) if params else template

    def lookup(self, locale: str | None, key: str) -> str | None:
        for loc in chain(locale):
            text = messages(loc).get((self.area, key))
            if text is not None:
                return text
        return None

    def __contains__(self, key: str) -> bool:
        return (self.area, key) in messages("en")


def translator(area: str) -> Translator:
    return Translator(area)


def missing(locale: str, reference: str = "en") -> list[str]:
    """`area:key` present in the reference catalog and absent from `locale` (the completeness test)."""
    have = messages(locale)
    return sorted(f"{area}:{key}" for area, key in messages(reference) if (area, key) not in have)


def unknown(locale: str) -> list[str]:
    """`area:key` of `locale` that English does not have: a misspelt key or a message nobody uses."""
    ref = messages("en")
    return sorted(f"{area}:{key}" for area, key in messages(locale) if (area, key) not in ref)
