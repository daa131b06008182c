"""Names where references go: `deal Acme`, `推进 深圳某某`, `won szmm` act like `deal D-7`.

The grammar leaves a `RecordName` where a reference was expected and something else was typed; before the
use case runs, `resolve_names` (called by handlers.registry.call, the one place) turns it into a `Ref` with
the one resolver (crm_core.queries.lookup). One match: the command runs on it. Several: a pick list, one
button per record (`record.pick`), each re-running the same command text with the chosen reference in
place of the name. None: says so and offers `search`.
"""
from __future__ import annotations

from dataclasses import replace

from cards.builders.search import MAX_CHOICES, HitView, none_card, pick_card
from cards.model import Card, Reply
from crm_core.models import User
from crm_core.queries.lookup import Hit, resolve
from crm_core.refs import RecordName, parse_ref
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation

BUTTON_VALUE_MAX = 900  # a WeCom button key is at most 1024 bytes with its action name
EXAMPLES = {"deal": "D-7", "lead": "L-12", "ticket": "T-9", "approval": "A-5", "quote": "Q-3", "contract": "C-4"}


def hit_view(hit: Hit) -> HitView:
    return HitView(kind=hit.kind, token=hit.token, ref=hit.ref, name=hit.name, detail=hit.detail, open=hit.open)


def resolve_names(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Invocation | Reply:
    """The invocation with every RecordName replaced by the one record it names, or the Reply that asks."""
    names = [(arg, value) for arg, value in inv.args.items() if isinstance(value, RecordName)]
    if not names:
        return inv
    args = dict(inv.args)
    for arg, name in names:
        res = resolve(uow.session, actor, name.text, name.kinds, limit=MAX_CHOICES + 1)
        one = res.one
        if one is not None and one.ref is not None:
            args[arg] = parse_ref(one.ref)
            continue
        if not res.hits:
            return Reply(cards=(none_card(locale, name.text, name.kinds, EXAMPLES.get(name.kinds[0], "D-7")),))
        return Reply(cards=(_pick(locale, name, res.hits),))
    return replace(inv, args=args)


def _pick(locale: str, name: RecordName, found: tuple[Hit, ...]) -> Card:
    """At most six choices; each button re-runs the command with its reference (or, for a command too long
    for a button, opens the record)."""
    hits = [h for h in found if h.ref is not None][:MAX_CHOICES]
    values = [_rerun_text(name, h.ref or "") for h in hits]
    too_long = any(len(v.encode()) > BUTTON_VALUE_MAX for v in values)
    if too_long:
        values = [h.ref or "" for h in hits]
    return pick_card(locale, name.text, name.kinds, [hit_view(h) for h in hits], values,
                     more=len(found) > MAX_CHOICES, open_instead=too_long)


def _rerun_text(name: RecordName, ref: str) -> str:
    """The command as typed, with the name replaced by the chosen reference."""
    return name.source[:name.start] + ref + name.source[name.end:]
