"""The words of a DomainError: its message code and data rendered from the catalogs (area "errors").

crm_core raises codes with data (crm_core/errors.py); this is the one place they become a sentence, in the
reader's language: the runner's error card, the REST API's error body, the CSV importer's report, the
Slack modals. Data values that are words are said here: a `Term` from area "terms", a `FieldName` (its key
in English, its label in Chinese: the catalog's "field.name" decides), a bilingual label from the
configuration (picked with base_locale), a picklist choice, a list of any of these.
"""
from __future__ import annotations

from typing import Any

from cards.i18n import base_locale, translator
from crm_core.errors import DomainError, FieldList, FieldName, FillIn, Term

t = translator("errors")
terms = translator("terms")


def error_text(exc: DomainError, locale: str | None) -> str:
    """The sentence a person reads for `exc`, and a line for each other problem of the same input (`exc.also`)."""
    return "\n".join([_sentence(exc, locale), *(_sentence(more, locale) for more in exc.also)])


def _sentence(exc: DomainError, locale: str | None) -> str:
    params = {name: say(value, locale) for name, value in exc.data.items()}
    text = t(locale, exc.key, **params)
    if exc.frame:
        # nothing typed: "reason is missing: …" rather than quoting an empty value (原因「」无效)
        frame = f"{exc.frame}.empty" if params.get("value") == "" and f"{exc.frame}.empty" in t else exc.frame
        text = t(locale, frame, detail=text, **params)
    return text


def error_texts(exc: DomainError) -> dict[str, str]:
    """{locale: sentence} for every complete locale (the REST API answers in both)."""
    return {"en": error_text(exc, "en"), "zh_CN": error_text(exc, "zh_CN")}


def term(locale: str | None, vocab: str, key: str) -> str:
    """A word of a closed vocabulary (status, role, priority, field …); an unknown key is shown as typed."""
    found = terms.lookup(locale, f"{vocab}.{key}")
    return key if found is None else found


def say(value: Any, locale: str | None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Term):
        return term(locale, value.vocab, value.key)
    if isinstance(value, FieldList):
        return t(locale, "list.sep").join(_known(f, locale) for f in value.fields)
    if isinstance(value, FillIn):
        return " ".join(f"{typed_name(f, locale)}=…" for f in value.fields)
    if isinstance(value, FieldName):
        label = _label(value.label, locale) if value.label is not None else term(locale, "field", value.key)
        return t(locale, "field.name", key=value.key, label=label)
    if isinstance(value, (list, tuple)):
        return t(locale, "list.sep").join(say(v, locale) for v in value)
    if hasattr(value, "en") and hasattr(value, "zh_CN"):
        label = _label(value, locale)
        key = getattr(value, "key", None)
        return label if key is None else t(locale, "choice", key=key, label=label)
    return str(value)


def typed_name(field: FieldName, locale: str | None) -> str:
    """The name a reader types for a field: its key in English, its label in Chinese (the grammar accepts
    both: handlers/grammar.py OPTION_ALIASES and the declared fields' labels)."""
    if base_locale(locale) == "en":
        return field.key
    if field.label is not None:
        return _label(field.label, locale)
    own = terms.lookup(locale, f"{field.record}_field.{field.key}") if field.record else None  # a deal's 名称
    return own or term(locale, "field", field.key)


def _known(field: FieldName, locale: str | None) -> str:
    """One field of a list of what may be typed: its key, and in Chinese its label beside it — 金额（amount）
    — so the reader sees both names the grammar takes."""
    label = typed_name(field, locale)
    return field.key if label == field.key else t(locale, "field.known", key=field.key, label=label)


def _label(value: Any, locale: str | None) -> str:
    return str(getattr(value, base_locale(locale)))
