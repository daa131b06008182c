"""Message catalogs: each area keeps its own {key: {locale: text}} table next to its builders."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

LOCALES = ("zh_CN", "en")
Catalog = dict[str, dict[str, str]]


def normalise_locale(locale: str | None) -> str:
    if not locale:
        return "en"
    if locale.lower().startswith("zh"):
        return "zh_CN"
    return "en"


def translator(catalog: Catalog) -> Callable[..., str]:
    """t(locale, key, **params) -> text, falling back to English, then to the key itself."""

    def t(locale: str, key: str, **params: Any) -> str:
        entry = catalog.get(key)
        if entry is None:
            return key
        template = entry.get(normalise_locale(locale)) or entry.get("en") or key
        return template.format(**params) if params else template

    return t


def check_catalog(catalog: Catalog) -> list[str]:
    """Keys missing a locale (used by a test so no card shows a half-translated text)."""
    return [f"{key}:{loc}" for key, entry in catalog.items() for loc in LOCALES if loc not in entry]
