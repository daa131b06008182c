"""Labels from the configuration and the catalogs in the reader's language: picklist choices, declared and
record fields, stage tasks. crm_core stores and returns keys; the label is picked here (base_locale for the
two languages the configuration declares).

A field is named as its reader knows it: an English reader sees the key they type (`close_date`), a Chinese
reader its label (预计成交日期); which of the two a language shows is the catalog's choice (area "labels",
key "field"), not the code's.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from cards.i18n import base_locale, is_chinese, translator
from crm_core.config import Config, PicklistChoice
from crm_core.fields import decl_choices, find_choice, find_decl, picklist_choices

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
