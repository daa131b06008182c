"""Notification routes: the post a route makes in a channel or group chat (the catalogs' text for its event, or
the route's own template), the list `notify` shows, and the check `chatcrm check-config` runs on templates.

A route's template is a sandboxed Jinja2 text template: it reads only the variables below (an unknown one is
refused when the configuration is checked, not when a deal is won), cannot reach Python attributes, and its
output is plain text that each platform's renderer escapes once.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from cards.i18n import translator
from cards.model import Card, Context, Section

t = translator("routes")

# Every variable a template may use, for every event (the ones an event has no value for are empty).
VARIABLES = ("event", "ref", "name", "amount", "owner", "account", "company", "region", "source", "priority",
             "reason", "clock")


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def template_problem(text: str) -> str | None:
    """Why a route template cannot be used (a syntax error, an unknown variable), or None."""
    try:
        ast = _env().parse(text)
    except TemplateSyntaxError as exc:
        return f"template syntax error on line {exc.lineno}: {exc.message}"
    unknown = sorted(meta.find_undeclared_variables(ast) - set(VARIABLES))
    if unknown:
        return f"unknown variable {', '.join(unknown)} (use {', '.join(VARIABLES)})"
    return None


def template_problems(routes: Sequence[Any]) -> list[tuple[str, str]]:
    """(key path, problem) for every template of `[[routes]]` that cannot be used: routes.<index>.template.<locale>."""
    problems: list[tuple[str, str]] = []
    for i, route in enumerate(routes):
        if route.template is None:
            continue
        for locale, text in route.template.model_dump().items():
            problem = template_problem(text) if text else None
            if problem:
                problems.append((f"routes.{i}.template.{locale}", problem))
    return problems


def route_text(locale: str, event: str, values: Mapping[str, str], template: Mapping[str, str] | None) -> str:
    """The route's own template for the locale, else the catalogs' text for the event."""
    filled = {name: str(values.get(name) or "") for name in VARIABLES}
    own = (template or {}).get(locale)
    if own:
        try:
            return _env().from_string(own).render(**filled).strip() or t(locale, f"event.{event}", **filled)
        except TemplateError:  # checked at start-up; a value that breaks a filter falls back to the catalog
            pass
    return t(locale, f"event.{event}", **filled)


def route_card(locale: str, event: str, text: str, ref: str | None) -> Card:
    return Card(title=t(locale, f"title.{event}"), locale=locale, blocks=(Section(text),), ref=ref, kind="route")


@dataclass(frozen=True)
class RouteRow:
    number: int | None  # None: from the configuration file (read-only)
    event: str
    conditions: str  # e.g. >1000000 region=east
    target: str  # #C0123 (slack) / wr… (wecom)


def _row(locale: str, r: RouteRow) -> str:
    text = " ".join(p for p in (t(locale, f"word.{r.event}"), r.conditions, "→", r.target) if p)
    if r.number is None:
        return t(locale, "list.config_row", route=text)
    return t(locale, "list.row", n=r.number, route=text)


def routes_list_card(locale: str, configured: Sequence[RouteRow], own: Sequence[RouteRow]) -> Card:
    rows = [_row(locale, r) for r in own] or [t(locale, "list.none")]
    blocks: list[Section | Context] = [Section("\n".join(rows))]
    if configured:
        blocks.append(Section("\n".join([t(locale, "list.config"), *(_row(locale, r) for r in configured)])))
    blocks.append(Context(t(locale, "list.hint")))
    return Card(title=t(locale, "list.title"), locale=locale, blocks=tuple(blocks), kind="list")


def route_added_card(locale: str, row: RouteRow) -> Card:
    return Card(title=t(locale, "added.title", n=row.number), locale=locale,
                blocks=(Section(_row(locale, row)), Context(t(locale, "added.hint", n=row.number))), kind="info")


def route_removed_card(locale: str, row: RouteRow) -> Card:
    return Card(title=t(locale, "removed.title", n=row.number), locale=locale, blocks=(Section(_row(locale, row)),),
                kind="info")
