"""Names where references go: `deal Acme`, `推进 深圳某某`, `won szmm` act like `deal D-7`.

The grammar leaves a `RecordName` where a reference was expected and something else was typed; before the
use case runs, `resolve_names` (called by handlers.registry.call, the one place) turns it into a `Ref` with
the one resolver (crm_core.queries.lookup). One match: the command runs on it. Several: a pick list, one
button per record (`record.pick`), each re-running the same command text with the chosen reference in
place of the name. None: says so and offers `search`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from cards.builders.search import MAX_CHOICES, HitView, account_pick_card, contact_pick_card, none_card, pick_card
from cards.model import Card, Reply
from crm_core.errors import InvalidValue
from crm_core.models import Account, User
from crm_core.queries.lookup import Hit, find, resolve
from crm_core.refs import RecordName, parse_ref
from crm_core.services.accounts import account_named, contacts_to_ask_about, place_left_out
from crm_core.uow import UnitOfWork
from handlers.grammar import split_option
from handlers.invocation import Invocation

BUTTON_VALUE_MAX = 900  # a WeCom button key is at most 1024 bytes with its action name
YES = frozenset({"yes", "y", "true", "1", "是", "对", "确定"})
QUOTE_PAIRS = (('"', '"'), ("“", "”"), ("「", "」"), ("'", "'"), ("『", "』"))
EXAMPLES = {"deal": "D-7", "lead": "L-12", "ticket": "T-9", "approval": "A-5", "quote": "Q-3", "contract": "C-4"}


def hit_view(hit: Hit) -> HitView:
    return HitView(kind=hit.kind, token=hit.token, ref=hit.ref, name=hit.name, detail=hit.detail, open=hit.open,
                   near=hit.near)


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
    return _with_value(name.source, ((name.start, name.end),), ref)


def ask_which_account(inv: Invocation, uow: UnitOfWork, actor: User, locale: str, *,
                      as_option: bool = False) -> Reply | None:
    """A new deal or ticket names its customer by name (`deal set … account=` too, `as_option`), and an unknown
    name creates the account. When no account is called that but accounts the person sees are named like it
    (`Cyberdyn` for Cyberdyne GmbH), the Reply that asks which one, with a button to create the new account
    after all; None: go ahead (the account exists, nothing resembles it, or the person said `new_account=yes`)."""
    name = str((inv.options if as_option else inv.args).get("account") or "").strip()
    spans = inv.spans.get("account=" if as_option else "account")
    if not name or not spans or _said_yes(inv.options.get("new_account"), "new_account"):
        return None
    return _ask(uow, actor, locale, name, f"{inv.text} new_account=yes",
                lambda q: _with_value(inv.text, spans, f"{_typed_key(inv.text, spans)}{q}" if as_option else q))


def ask_which_account_for(uow: UnitOfWork, actor: User, locale: str, name: str, command: str,
                          options: dict[str, str]) -> Reply | None:
    """The same question for a name nobody typed just now (a lead's company, on `lead convert`): the buttons
    re-run `command` (its canonical text) with `account="…"` or `new_account=yes` added."""
    if not name.strip() or _said_yes(options.get("new_account"), "new_account"):
        return None
    return _ask(uow, actor, locale, name.strip(), f"{command} new_account=yes", lambda q: f"{command} account={q}")


def _ask(uow: UnitOfWork, actor: User, locale: str, name: str, new_value: str,
         rerun_with: Callable[[str], str]) -> Reply | None:
    if account_named(uow.session, name) is not None:
        return None
    found = find(uow.session, actor, name, ("account",), limit=MAX_CHOICES)
    if not found and (elsewhere := place_left_out(name)):  # 广州华星科技: perhaps 深圳华星科技有限公司 was meant
        found = find(uow.session, actor, elsewhere, ("account",), limit=MAX_CHOICES)
    alike = [hit_view(h) for h in found if h.kind == "account"]
    return _question(alike, new_value, rerun_with,
                     lambda views, values: account_pick_card(locale, name, views, values, new_value))


def ask_which_contact(inv: Invocation, uow: UnitOfWork, locale: str, account: Account | None) -> Reply | None:
    """`deal set D-7 contact=Malory`: an unknown name creates a contact of the deal's account (`account`). When
    none is called that but some of its contacts are named like it (Mallory Brown), the Reply that asks which
    one, with a button to create the new contact after all; None: go ahead (the contact exists, nothing
    resembles it, the account is new, or the person said `new_contact=yes`)."""
    name = str(inv.options.get("contact") or "").strip()
    spans = inv.spans.get("contact=")
    if account is None or not name or not spans or _said_yes(inv.options.get("new_contact"), "new_contact"):
        return None
    alike = [HitView(kind="contact", token=f"contact:{c.id}", ref=None, name=c.name, detail=c.email or c.phone or "")
             for c in contacts_to_ask_about(uow.session, account.id, name, limit=MAX_CHOICES)]
    new_value = f"{inv.text} new_contact=yes"
    return _question(alike, new_value, lambda q: _with_value(inv.text, spans, f"{_typed_key(inv.text, spans)}{q}"),
                     lambda views, values: contact_pick_card(locale, name, account.name, views, values, new_value))


def _question(alike: list[HitView], new_value: str, rerun_with: Callable[[str], str],
              card: Callable[[list[HitView], list[str]], Card]) -> Reply | None:
    """The question's card: one button per record a name may mean (the command re-run with that record's name in
    quotes), and the new record's; None when there is nothing to offer or a command would not fit a button."""
    values = [None if q is None else rerun_with(q) for q in (_quoted(h.name) for h in alike)]  # None: unquotable
    chosen = [(h, v) for h, v in zip(alike, values) if v is not None and len(v.encode()) <= BUTTON_VALUE_MAX]
    if not chosen or len(new_value.encode()) > BUTTON_VALUE_MAX:
        return None
    return Reply(cards=(card([h for h, _ in chosen], [v for _, v in chosen]),))


def _said_yes(raw: str | None, option: str) -> bool:
    if raw is None:
        return False
    if raw.strip().lower() not in YES:
        raise InvalidValue(option, raw, option)
    return True


def _quoted(value: str) -> str | None:
    """`value` in quotes it does not hold, so the grammar reads it as one word."""
    return next((f"{a}{value}{b}" for a, b in QUOTE_PAIRS if a not in value and b not in value), None)


def _typed_key(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """An option's key as it was typed, with its equals sign (`联系人=`, `contact＝`): the re-run keeps the
    reader's words."""
    start, end = spans[0]
    key, sep, _ = split_option(text[start:end])
    return key + sep


def _with_value(text: str, spans: tuple[tuple[int, int], ...], quoted: str) -> str:
    """`text` with what was typed at `spans` (an argument's words, an option) replaced by `quoted` (a reference,
    or a name in quotes)."""
    out, pos = [], 0
    for i, (start, end) in enumerate(spans):
        gap = text[pos:start]
        if i == 0 or gap.strip():  # the words of the name go; what stood between them (an option) stays
            out.append(gap)
        if i == 0:
            out.append(quoted)
        pos = end
    out.append(text[pos:])
    return "".join(out)
