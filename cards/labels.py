"""Labels from the configuration and the catalogs in the reader's language: record fields, stage tasks.

A field is named as its reader knows it: an English reader sees the key they type (`close_date`), a Chinese
reader its label (预计成交日期); which of the two a language shows is the catalog's choice (area "labels",
key "field"), not the code's.
"""
from __future__ import annotations

from collections.abc import Iterable

from cards.i18n import is_chinese, translator
from crm_core.config import Config
from crm_core.fields import find_decl

t = translator("labels")
modal = translator("modals")  # the built-in deal fields' labels, as the forms show them


def field_name(config: Config, kind: str, key: str, locale: str) -> str:
    label = t.lookup(locale, f"{kind}.{key}") or (modal.lookup(locale, f"f.{key}") if kind == "deal" else None)
    if label is None:
        decl = find_decl(config, kind, key)
        label = (decl.name.zh_CN if is_chinese(locale) else decl.name.en) if decl is not None else key
    return t(locale, "field", key=key, label=label)


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
