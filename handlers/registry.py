"""Declarative dispatch: @command("deal set") and @action("deal.advance") register use cases.

Handlers declare the dependencies they want by parameter name (inv, uow, clock, actor, locale,
config); the runner injects them, as Bolt and cosmicpython's bootstrap do.

A button and its command share one use-case function: `@action(name, value=("deal", "shown"))` says how
the button's value ("D-7:proposal") maps onto the command's argument names, and this module parses it
(`resolve_button`) before the function runs, so a use case only ever reads `inv.args["deal"]` (a Ref),
whichever way it was reached. Button values keep their format: cards already in people's chats work.
A name typed where a reference goes (`deal Acme`) is resolved here too, before the function runs.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from cards.model import Reply
from crm_core.errors import InvalidValue, NotFound
from crm_core.refs import KIND_PREFIX, parse_ref
from handlers.grammar import SPEC_BY_NAME
from handlers.invocation import Invocation
from handlers.names import resolve_names

HandlerFn = Callable[..., Reply]


@dataclass(frozen=True)
class Registered:
    fn: HandlerFn
    wants: frozenset[str]
    writes: bool
    value: tuple[str, ...] = ()  # a button's value, split at ":", onto these argument names
    fixed: tuple[tuple[str, str], ...] = ()  # arguments a button always carries (e.g. confirm)
    usage: str | None = None  # message code (area "errors") saying what to type when a part of the value is missing


COMMANDS: dict[str, Registered] = {}
ACTIONS: dict[str, Registered] = {}
INJECTABLE = frozenset({"inv", "uow", "clock", "actor", "locale", "config"})


def _register(table: dict[str, Registered], name: str, fn: HandlerFn, writes: bool,
              **button: Any) -> HandlerFn:
    params = set(inspect.signature(fn).parameters)
    unknown = params - INJECTABLE
    if unknown:
        raise TypeError(f"{fn.__name__} asks for unknown dependencies {sorted(unknown)}")
    if name in table and table[name].fn is not fn:
        raise ValueError(f"{name!r} is registered twice")
    table[name] = Registered(fn, frozenset(params), writes, **button)
    return fn


def command(name: str, *, writes: bool = True) -> Callable[[HandlerFn], HandlerFn]:
    if name not in SPEC_BY_NAME:
        raise ValueError(f"command {name!r} is not in the grammar")
    return lambda fn: _register(COMMANDS, name, fn, writes)


def action(name: str, *, writes: bool = True, value: tuple[str, ...] = (), fixed: dict[str, str] | None = None,
           usage: str | None = None) -> Callable[[HandlerFn], HandlerFn]:
    """A button. `value` names the parts of its value: a part named after a reference kind ("deal") is parsed
    as that kind's Ref, "keep@lead" is a lead Ref stored as `keep`, any other name is kept as text. The first
    part is required; "stage!" marks a later one required too (else it is simply absent when empty)."""
    for part in value:
        field, _, kind = part.rstrip("!").partition("@")
        if kind and kind not in KIND_PREFIX:
            raise ValueError(f"{name!r}: unknown reference kind {kind!r}")
    return lambda fn: _register(ACTIONS, name, fn, writes, value=tuple(value),
                                fixed=tuple(sorted((fixed or {}).items())), usage=usage)


def resolve_button(reg: Registered, inv: Invocation) -> Invocation:
    """The one place a button's value is read: its parts become the command's arguments (refs parsed)."""
    if inv.kind != "action" or not (reg.value or reg.fixed):
        return inv
    raw = str(inv.args.get("value", ""))
    parts = raw.split(":", len(reg.value) - 1) if reg.value else []
    args = dict(inv.args)
    for i, spec in enumerate(reg.value):
        required = i == 0 or spec.endswith("!")
        field, _, kind = spec.rstrip("!").partition("@")
        kind = kind or (field if field in KIND_PREFIX else "")
        text = parts[i] if i < len(parts) else ""
        if not text:
            if required and (kind or i > 0):
                if reg.usage is not None:
                    raise InvalidValue("button", raw[:40], reg.usage)
                raise NotFound(ref=raw[:40] or "?")
            if not required:
                continue
        if kind:
            ref = parse_ref(text.split(":", 1)[0], kind)  # a reference is one part: "D-1:x" on a one-part value is D-1
            if ref is None:
                raise NotFound(ref=raw[:40] or "?")
            args[field] = ref
        else:
            args[field] = text
    args.update(dict(reg.fixed))
    return replace(inv, args=args)


def call(reg: Registered, deps: dict[str, Any]) -> Reply:
    """Run a use case: a button's value read (resolve_button), names typed where references go resolved to
    the one record they name (handlers.names: several answer a pick list, none says so), then the function."""
    if "inv" in deps:
        inv = resolve_button(reg, deps["inv"])
        if "uow" in deps and "actor" in deps:
            resolved = resolve_names(inv, deps["uow"], deps["actor"], deps.get("locale", "en"))
            if isinstance(resolved, Reply):
                return resolved
            inv = resolved
        deps = {**deps, "inv": inv}
    return reg.fn(**{k: deps[k] for k in reg.wants})
