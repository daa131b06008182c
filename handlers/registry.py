"""Declarative dispatch: @command("deal set") and @action("deal.advance") register use cases.

Handlers declare the dependencies they want by parameter name (inv, uow, clock, actor, locale,
config); the runner injects them, as Bolt and cosmicpython's bootstrap do.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cards.model import Reply
from handlers.grammar import SPEC_BY_NAME

HandlerFn = Callable[..., Reply]


@dataclass(frozen=True)
class Registered:
    fn: HandlerFn
    wants: frozenset[str]
    writes: bool


COMMANDS: dict[str, Registered] = {}
ACTIONS: dict[str, Registered] = {}
INJECTABLE = frozenset({"inv", "uow", "clock", "actor", "locale", "config"})


def _register(table: dict[str, Registered], name: str, fn: HandlerFn, writes: bool) -> HandlerFn:
    params = set(inspect.signature(fn).parameters)
    unknown = params - INJECTABLE
    if unknown:
        raise TypeError(f"{fn.__name__} asks for unknown dependencies {sorted(unknown)}")
    if name in table and table[name].fn is not fn:
        raise ValueError(f"{name!r} is registered twice")
    table[name] = Registered(fn, frozenset(params), writes)
    return fn


def command(name: str, *, writes: bool = True) -> Callable[[HandlerFn], HandlerFn]:
    if name not in SPEC_BY_NAME:
        raise ValueError(f"command {name!r} is not in the grammar")
    return lambda fn: _register(COMMANDS, name, fn, writes)


def action(name: str, *, writes: bool = True) -> Callable[[HandlerFn], HandlerFn]:
    return lambda fn: _register(ACTIONS, name, fn, writes)


def call(reg: Registered, deps: dict[str, Any]) -> Reply:
    return reg.fn(**{k: deps[k] for k in reg.wants})
