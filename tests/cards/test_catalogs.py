"""The catalogs in cards/locales/: English and Chinese are complete, every key a builder asks for exists,
and any further catalog is a file that only adds (it falls back to its language, then to English)."""
from __future__ import annotations

import ast
import importlib
import re
import shutil
from pathlib import Path

import pytest

from cards import i18n
from cards.i18n import Translator, available_locales, chain, messages, missing, normalise_locale, unknown

ROOT = Path(__file__).resolve().parents[2]
FIELD = re.compile(r"{(\w+)")


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_complete_catalogs_have_every_message(locale: str) -> None:
    assert missing(locale) == [] and unknown(locale) == []
    assert all(text.strip() for text in messages(locale).values())


@pytest.mark.parametrize("locale", sorted(available_locales()))
def test_each_message_is_written_once(locale: str) -> None:
    """The .po files merge by union (.gitattributes): two branches adding the same entry leave it twice, and
    a later edit of one copy would silently lose to the other."""
    text = (ROOT / "cards" / "locales" / f"{locale}.po").read_text(encoding="utf-8")
    entries = re.findall(r'^msgctxt "(.*)"\nmsgid "(.*)"', text, re.M)
    assert sorted({e for e in entries if entries.count(e) > 1}) == []


@pytest.mark.parametrize("locale", sorted(set(available_locales()) - set(i18n.COMPLETE)))
def test_a_partial_catalog_uses_only_placeholders_its_fallbacks_fill(locale: str) -> None:
    known = [messages(loc) for loc in chain(locale)[1:]]
    wrong = [f"{area}:{key}" for (area, key), text in messages(locale).items()
             if set(FIELD.findall(text)) - {f for m in known for f in FIELD.findall(m.get((area, key), ""))}]
    assert wrong == [] and unknown(locale) == []


def _translators(tree: ast.Module) -> dict[str, str]:
    """Names bound to a Translator in a module: `t = translator("area")` or `from cards.… import t [as x]`."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and isinstance(node.targets[0], ast.Name)
                and getattr(node.value.func, "id", "") == "translator"):
            names[node.targets[0].id] = node.value.args[0].value
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cards."):
            module = importlib.import_module(node.module)
            for alias in node.names:
                if isinstance(getattr(module, alias.name, None), Translator):
                    names[alias.asname or alias.name] = getattr(module, alias.name).area
    return names


def _asked_for() -> set[tuple[str, str]]:
    """(area, key) of every literal t(locale, "key") call in the project's code."""
    asked: set[tuple[str, str]] = set()
    for room in ("cards", "handlers", "bot", "scheduler"):
        for path in (ROOT / room).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            areas = _translators(tree)
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in areas
                        and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)):
                    asked.add((areas[node.func.id], node.args[1].value))
    return asked


def test_every_literal_key_a_builder_asks_for_exists() -> None:
    asked = _asked_for()
    assert len(asked) > 200
    assert sorted(f"{a}:{k}" for a, k in asked if (a, k) not in messages("en")) == []


def test_platform_locales_map_to_a_catalog() -> None:
    assert normalise_locale("zh-CN") == "zh_CN" and normalise_locale("zh_CN") == "zh_CN"
    assert normalise_locale("en-US") == "en" and normalise_locale(None) == "en"
    assert normalise_locale("fr-FR") == "en"
    assert chain("en-GB") == ("en",) and chain("zh-CN") == ("zh_CN", "en")


def test_a_new_language_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copy the catalogs, add a partial ja.po: Japanese users read it, and English where it has no text."""
    for po in (ROOT / "cards" / "locales").glob("*.po"):
        shutil.copy(po, tmp_path / po.name)
    (tmp_path / "ja.po").write_text('msgid ""\nmsgstr ""\n"Language: ja\\n"\n\n'
                                    'msgctxt "common"\nmsgid "error.title"\nmsgstr "実行できません"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    for cached in (i18n.available_locales, i18n.messages):
        cached.cache_clear()
    try:
        t = Translator("common")
        assert normalise_locale("ja-JP") == "ja"
        assert t("ja-JP", "error.title") == "実行できません"
        assert t("ja", "usage.help") == t("en", "usage.help")
        assert missing("ja")  # partial, and that is allowed
    finally:
        for cached in (i18n.available_locales, i18n.messages):
            cached.cache_clear()
