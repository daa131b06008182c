"""The answer to a command typed wrong: what was wrong, the usage of the nearest command, the suggestions."""
from __future__ import annotations

from cards.builders.common import UsageView, usage_card
from cards.model import Reply
from handlers.grammar import SPEC_BY_NAME, UsageError


def usage_reply(locale: str, err: UsageError) -> Reply:
    spec = SPEC_BY_NAME[err.command or "help"]
    view = UsageView(command=spec.title(locale), usage_lines=err.usage(locale), problem=err.problem(locale),
                     suggestions=err.suggestions)
    return Reply(cards=(usage_card(locale, view),))


__all__ = ["usage_reply"]
