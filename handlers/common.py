"""Small helpers shared by handler modules."""
from __future__ import annotations

from crm_core.errors import NotFound
from crm_core.refs import Ref, parse_ref
from handlers.invocation import Invocation


def button_ref(inv: Invocation, *kinds: str) -> Ref:
    """A button's value is only an opaque reference: parse it, and treat anything else as not found."""
    raw = str(inv.args.get("value", ""))
    ref = parse_ref(raw.split(":", 1)[0], *kinds)
    if ref is None:
        raise NotFound(ref=raw[:40] or "?")
    return ref


def button_detail(inv: Invocation) -> str | None:
    """What a button's value says after the reference ("D-7:proposal" -> "proposal"), if anything."""
    _, sep, detail = str(inv.args.get("value", "")).partition(":")
    return detail if sep and detail else None


def zh(locale: str) -> bool:
    return locale == "zh_CN"
