"""Jinja2 templates for longer texts, one directory per locale (cards/templates/<locale>/)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cards.i18n import chain

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """HTML templates (`*.html.j2`, the quote document) are autoescaped (cards.escape.html is the same
    escape for code); text templates (digests, help) are not: their output is rendered again per platform."""
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                       autoescape=select_autoescape(["html", "html.j2"]), trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=False)


def render(locale: str, name: str, **context: Any) -> str:
    """The template of the reader's locale, else of the next locale in its chain (cards.i18n.chain)."""
    names = [f"{loc}/{name}" for loc in chain(locale)]
    return environment().select_template(names).render(**context).strip()
