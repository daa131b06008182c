"""The Slack modals' text (titles, labels, hints, field errors) in every language: {key: {locale: text}}.

The view builders (cards/render/slack_modals.py) and the submission checks (bot/slack/modals.py) read it
through `t`; tests/cards/test_modal_catalog.py checks that every key has every locale.
"""
from __future__ import annotations

from cards.i18n import translator

t = translator("modals")


def field_label(locale: str, name: str) -> str:
    """A deal field's label in a form ("close_date" -> "Close date"); an unknown field shows its name."""
    label = t(locale, f"f.{name}")
    return label if label != f"f.{name}" else name
