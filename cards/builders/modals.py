"""The Slack modals' text (titles, labels, hints, field errors) in every language: {key: {locale: text}}.

The view builders (cards/render/slack_modals.py) and the submission checks (bot/slack/modals.py) read it
through `t`; tests/cards/test_modal_catalog.py checks that every key has every locale.
"""
from __future__ import annotations

from cards import format as formatting
from cards.i18n import translator
from crm_core.config import Config

t = translator("modals")


def field_label(locale: str, name: str, config: Config | None = None) -> str:
    """A deal field's label in a form ("close_date" -> "Close date"; a declared field's own label, 预算, with
    the configuration); an unknown field shows its name."""
    if config is not None:
        return formatting.field_label(config, "deal", name, locale)
    return t.lookup(locale, f"f.{name}") or name
