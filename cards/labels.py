"""Labels the configuration declares in both languages (picklist choices, declared fields), said in the
reader's language. crm_core stores and returns keys; the label is picked here with base_locale."""
from __future__ import annotations

from collections.abc import Sequence

from cards.i18n import base_locale
from crm_core.config import Config, PicklistChoice
from crm_core.fields import decl_choices, find_choice, find_decl, picklist_choices


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
