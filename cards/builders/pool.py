"""The lead pool's cards: the pool list, a pool lead (with Claim) as the pool channel shows it, the same card
once claimed (no button, who took it), a ladder step's nudge, and the masked owner check."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.i18n import translator
from cards.model import Button, Card, Context, Field, Section

t = translator("pool")


@dataclass(frozen=True)
class PoolLeadView:
    ref: str
    name: str
    company: str | None
    region: str | None
    industry: str | None
    source: str
    score: int
    reason: str | None
    since: str  # company time, formatted


def pool_row(v: PoolLeadView) -> str:
    parts = [v.ref, v.name, v.company or "—", v.region or "—", v.industry or "—", v.source, str(v.score)]
    return " · ".join(parts)


def pool_list_card(locale: str, leads: Sequence[PoolLeadView]) -> Card:
    if not leads:
        return Card(title=t(locale, "list.title"), locale=locale, blocks=(Section(t(locale, "list.empty")),),
                    kind="list")
    rows = "\n".join(pool_row(v) for v in leads)
    buttons = tuple(Button(t(locale, "btn.claim_ref", ref=v.ref), "pool.claim", v.ref, "primary") for v in leads[:5])
    return Card(title=t(locale, "list.title"), locale=locale, blocks=(Section(rows), Context(t(locale, "list.hint"))),
                buttons=buttons, kind="list")


def _fields(locale: str, v: PoolLeadView) -> tuple[Field, ...]:
    pairs = (("f.company", v.company), ("f.region", v.region), ("f.industry", v.industry), ("f.source", v.source),
             ("f.score", str(v.score)), ("f.reason", v.reason), ("f.since", v.since))
    return tuple(Field(t(locale, key), value) for key, value in pairs if value)


def pool_lead_card(locale: str, v: PoolLeadView) -> Card:
    """What the pool channel shows: claimable, with the button (WeCom groups: the command to type)."""
    return Card(title=t(locale, "lead.title", ref=v.ref, name=v.name), locale=locale, fields=_fields(locale, v),
                buttons=(Button(t(locale, "btn.claim"), "pool.claim", v.ref, "primary"),), kind="lead", ref=v.ref)


def claimed_card(locale: str, v: PoolLeadView, owner: str) -> Card:
    """The same card, updated in place for everyone once someone took it."""
    return Card(title=t(locale, "lead.title", ref=v.ref, name=v.name), locale=locale, fields=_fields(locale, v),
                blocks=(Section(t(locale, "claimed_by", owner=owner)),), kind="lead", ref=v.ref)


def claimed_notice(locale: str, ref: str) -> str:
    return t(locale, "claimed", ref=ref)


def released_notice(locale: str, ref: str) -> str:
    return t(locale, "released", ref=ref)


def ladder_card(locale: str, ref: str, name: str, days: int, action: str, owner: str) -> Card:
    return Card(title=t(locale, f"ladder.{action}.title", ref=ref, name=name), locale=locale,
                blocks=(Section(t(locale, f"ladder.{action}.body", ref=ref, days=days, owner=owner)),),
                kind="nudge", ref=ref)


def check_card(locale: str, query: str, found: Sequence[tuple[str, str | None]], *, alike: bool = False) -> Card:
    """found: (kind, owner name) — lead | account | pool; nothing else is shown. `alike`: they are of companies
    named like the query, not of it (their names are not told either)."""
    if not found:
        return Card(title=t(locale, "check.title", query=query), locale=locale,
                    blocks=(Section(t(locale, "check.none")),), kind="info")
    lines = ([t(locale, "check.alike")] if alike else []) + [t(locale, f"check.{kind}", owner=owner or "—")
                                                             for kind, owner in found]
    return Card(title=t(locale, "check.title", query=query), locale=locale,
                blocks=(Section("\n".join(dict.fromkeys(lines))), Context(t(locale, "check.hint"))), kind="info")
