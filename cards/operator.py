"""What chatcrm says to whoever runs it: the command line's lines and the HTTP edge's refusals.

Nobody is signed in there and the configuration may not have loaded yet, so the reader's language is not
known: each sentence is said in both complete catalogs, English first (two lines, or one joined by " / ").
The words are in the catalogs, area "operator"; adding a language to these lines is adding it to
OPERATOR_LOCALES.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cards.i18n import translator

OPERATOR_LOCALES: tuple[str, ...] = ("en", "zh_CN")
say = translator("operator")


def operator_texts(key: str, /, **params: Any) -> dict[str, str]:
    """{locale: sentence} of one message in every operator locale."""
    return {loc: say(loc, key, **params) for loc in OPERATOR_LOCALES}


def operator_lines(key: str, /, **params: Any) -> list[str]:
    """One line per operator locale, English first."""
    return list(operator_texts(key, **params).values())


def operator_line(key: str, /, **params: Any) -> str:
    """Every operator locale's sentence on one line: `English / 中文`."""
    return " / ".join(operator_lines(key, **params))


def half_configured_line(problems: Sequence[tuple[str, Sequence[str]]]) -> str:
    """`refusing to start`, naming per platform the variables still missing, on one line."""
    def clauses(loc: str) -> str:
        return say(loc, "sep.clause").join(
            say(loc, "half.platform", platform=say.lookup(loc, f"platform.{platform}") or platform,
                names=say(loc, "sep.list").join(say.lookup(loc, f"variable.{name}") or name for name in names))
            for platform, names in problems)
    return " / ".join(say(loc, "refuse.half_configured", problems=clauses(loc)) for loc in OPERATOR_LOCALES)
