"""Hostile text through every card builder and every renderer: what a person typed is shown as typed, and
never becomes a live link, mention, formula, HTML tag or terminal escape (cards/escape.py).

The builders are enumerated (every public function of cards/builders/* that returns a Card), their views
built from the type hints with the hostile text in every text field, so a new builder is covered too.
"""
from __future__ import annotations

import csv
import dataclasses
import enum
import importlib
import inspect
import pkgutil
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cards.builders
from bot.importer import run_import
from cards.builders.quotes import quote_document
from cards.escape import SLACK_ESCAPES, console_text, csv_cell, html, slack_mrkdwn, wecom_markdown, wecom_text
from cards.model import Button, Card, Context, Field, Section
from cards.render.console import render_card
from cards.render.slack import fit_card, to_message
from cards.render.wecom import fit_markdown, fit_text, to_template_card

HOSTILE = [
    "[点此领取红包](https://evil.example)",
    "<!channel>",
    "<@U1> <https://evil.example|click>",
    "*bold*",
    '=HYPERLINK("http://evil","x")',
    "AT&T <HQ>",
    "Acme\x1b[2J\x1b]0;owned\x07 Ltd",
    '<font color="warning">紧急</font><a href="https://evil.example">x</a>',
]
LOCALES = ["en", "zh_CN"]
# Text fields that are keys of a catalog, not free text: a valid key instead.
KEYS: dict[str, str] = {"status": "open", "priority": "high", "role": "manager", "state": "ok", "band": "green",
                        "stage_key": "qualify", "period": "daily", "kind": "call", "source": "web",
                        "currency": "CNY", "key": "ticket.ack"}


# --- the builders, with hostile views -------------------------------------------------------------------

def builders() -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for info in pkgutil.iter_modules(cards.builders.__path__):
        module = importlib.import_module(f"cards.builders.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_") \
                    and typing.get_type_hints(fn).get("return") is Card:
                found.append((f"{info.name}.{name}", fn))
    return found


def make(tp: Any, name: str, text: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return make(next(a for a in args if a is not type(None)), name, text)
    if tp is str:
        if name == "ref" or name.endswith("_ref"):
            return "D-7"  # references are made by the system (D-7, A-5), never typed
        return KEYS.get(name, text)
    if tp is bool:
        return True
    if tp is int:
        return 3
    if tp is float:
        return 1.0
    if tp is Decimal:
        return Decimal("1000")
    if tp is datetime:
        return datetime(2027, 3, 1, 9, tzinfo=timezone.utc)
    if tp is date:
        return date(2027, 3, 31)
    if tp is Card:
        return Card(title=text, locale="en", blocks=(Section(text),), fields=(Field(text, text),))
    if tp is Button:
        return Button(text, "deal.advance", "D-7")
    if tp is Field:
        return Field(text, text)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return next(iter(tp))
    if origin is typing.Literal:
        return args[0]
    if origin in (tuple,) and len(args) == 2 and args[1] is Ellipsis:
        return (make(args[0], name, text),)
    if origin is tuple:
        return tuple(make(a, name, text) for a in args)
    if origin in (list, Sequence):
        return [make(args[0], name, text)]
    if origin in (dict, Mapping):
        return {"qualify": make(args[1], name, text)}  # keyed by a stage key
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: make(hints[f.name], f.name, text) for f in dataclasses.fields(tp) if f.init})
    raise TypeError(f"cannot make a {tp!r} for {name}")


def build(fn: Callable[..., Card], locale: str, text: str) -> Card:
    hints = typing.get_type_hints(fn)
    kwargs = {}
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            continue
        kwargs[p.name] = locale if p.name == "locale" else make(hints[p.name], p.name, text)
    return fn(**kwargs)


BUILDERS = builders()


def test_every_builder_is_enumerated() -> None:
    names = {n for n, _ in BUILDERS}
    assert {"sales.deal_card", "sales.lead_card", "quotes.approval_card", "service.ticket_card",
            "digests.digest_card", "swarm.swarm_line_card", "nudges.tasks_card", "common.error_card"} <= names
    assert len(names) >= 25


# --- what "live" means per output ----------------------------------------------------------------------

def card_texts(card: Card) -> list[str]:
    out = [card.title, card.subtitle or ""]
    out += [t for f in card.fields for t in (f.label, f.value)]
    out += [b.text for b in card.blocks if isinstance(b, (Section, Context))]
    out += [b.label for b in card.buttons]
    return out


def shows(card: Card, text: str) -> bool:
    return any(text in t for t in card_texts(card))


def mrkdwn_texts(message: dict[str, Any]) -> Iterator[str]:
    yield message["text"]

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                yield node["text"]
            for v in node.values():
                yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)

    yield from walk(message["blocks"])


def plain_texts(message: dict[str, Any]) -> Iterator[str]:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("type") == "plain_text":
                yield node["text"]
            for v in node.values():
                yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)

    yield from walk(message["blocks"])


def slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


WECOM_LIVE = [re.compile(r"\]\s*\(\s*https?://evil"),  # a markdown link to the hostile URL
              re.compile(r"<font color=\"warning\""), re.compile(r"<a\s+href"), re.compile(r"<@U1"),
              re.compile(r"<!channel"), re.compile(r"<https?://")]


# --- the tests -----------------------------------------------------------------------------------------

@pytest.mark.any_catalog_key  # hostile text stands in for statuses and kinds too
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("name,builder", BUILDERS, ids=[n for n, _ in BUILDERS])
def test_hostile_text_through_every_builder_and_renderer(name: str, builder: Callable[..., Card], text: str,
                                                         locale: str) -> None:
    card = build(builder, locale, text)
    displayed = shows(card, text)

    # Slack: no raw `<` or `>` in any mrkdwn text (our own markup never needs them), `&` escaped once.
    message = to_message(fit_card(card))
    for t in mrkdwn_texts(message):
        assert "<" not in t and ">" not in t, t
        assert "&amp;amp;" not in t and "&amp;lt;" not in t, t
    if displayed:
        readable = [slack_unescape(t) for t in mrkdwn_texts(message)] + list(plain_texts(message))
        assert any(text in t for t in readable), (name, text, readable)

    # WeCom markdown (messages, group chats): no link, tag or mention; the text reads as typed.
    for md in (fit_markdown(card), fit_markdown(card, group=True)):
        for live in WECOM_LIVE:
            assert not live.search(md), (name, live.pattern, md)
        assert "<font" not in md.replace('<font color="comment">', "")
        if displayed and text != "*bold*":  # our *bold* becomes WeCom's **bold**: that is our markup
            assert text in md.replace("\u200b", ""), (name, md)
    # WeCom text messages: `<a href>` would be a link there.
    plain = fit_text(card)
    assert not re.search(r"<a\s+href|<font", plain), plain
    # Template cards: plain text fields (WeCom shows them as typed); the card renders.
    if card.buttons and len(card.buttons) <= 6:
        assert to_template_card(card, "crm-test-1")["card_type"] == "button_interaction"

    # Console: no escape sequence or control character reaches the terminal; the rest stays.
    out, _ = render_card(card)
    assert "\x1b" not in out and "\x07" not in out
    if displayed and "\x1b" in text:
        assert "Acme Ltd" in out and "[2J" not in out and "owned" not in out


def test_slack_escapes_once_so_att_reads_as_typed() -> None:
    assert slack_mrkdwn("AT&T <HQ>") == "AT&amp;T &lt;HQ&gt;"
    assert slack_mrkdwn("<!channel> <@U1> <https://evil|click>") == \
        "&lt;!channel&gt; &lt;@U1&gt; &lt;https://evil|click&gt;"
    message = to_message(Card(title="Lead", fields=(Field("Company", "AT&T <HQ>"),)))
    assert message["blocks"][1]["fields"][0]["text"] == "*Company*\nAT&amp;T &lt;HQ&gt;"


def test_wecom_markdown_breaks_links_and_tags_but_keeps_the_words() -> None:
    md = wecom_markdown("[点此领取红包](https://evil.example)")
    assert "](" not in md and md.replace("\u200b", "") == "[点此领取红包](https://evil.example)"
    assert "<font" not in wecom_markdown('<font color="warning">x</font>')
    assert wecom_markdown("AT&T <HQ>").replace("\u200b", "") == "AT&T <HQ>"
    assert wecom_markdown("3 < 5 > 2") == "3 < 5 > 2"  # not a tag: untouched
    assert "<a" not in wecom_text('<a href="https://evil">x</a>')


def test_console_text_strips_terminal_control() -> None:
    assert console_text("Acme\x1b[2J\x1b[31m Ltd\x1b]0;owned\x07\r\x08") == "Acme Ltd"
    assert console_text("a\tb\nc \u202eevil") == "a\tb\nc evil"
    assert console_text("深圳某某科技") == "深圳某某科技"


def test_csv_cells_never_start_a_formula() -> None:
    for bad in ('=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_cell(bad) == "'" + bad
    assert csv_cell("Acme") == "Acme" and csv_cell(7) == 7


def test_the_rejected_rows_csv_holds_no_formula(wiring, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "leads.csv"
    path.write_text('name,company,email\n"=HYPERLINK(""http://evil"",""x"")",@SUM(A1),not-an-email\n'
                    '+cmd|calc,-Acme,also-not-an-email\n', encoding="utf-8")
    result = run_import(wiring, path, show_progress=False)
    assert result.stats.rejected == 2
    rows = list(csv.reader((tmp_path / "leads.rejected.csv").open(encoding="utf-8-sig")))
    cells = [c for row in rows for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in cells and "'@SUM(A1)" in cells and "'-Acme" in cells


def test_the_quote_document_escapes_html() -> None:
    from cards.documents.quote_view import QuoteView
    view = make(QuoteView, "quote", '<script>alert("x")</script> AT&T')
    for locale in LOCALES:
        doc = quote_document(locale, view)
        assert "<script>" not in doc.content
        assert html('<script>alert("x")</script> AT&T') in doc.content  # readable in the browser


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("&<>;amplgt# 深圳Aé\u200b\n"), max_size=40) | st.text(max_size=40))
def test_slack_mrkdwn_escapes_each_character_once(text: str) -> None:
    """Character by character: `&`, `<`, `>` become their entity, nothing else changes, and an entity typed
    by someone (`&amp;`) is escaped as the text it is (`&amp;amp;`), so the reader sees what was typed."""
    assert slack_mrkdwn(text) == "".join(SLACK_ESCAPES.get(ch, ch) for ch in text)
