"""The customer at a glance: `account <name>` (客户), `contact <name>` (联系人), and the buttons that open a
related record from these cards (and from a pick list when a name matches several)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from sqlalchemy import ColumnElement, select

from cards.builders.glance import (account_buttons_card, account_card, contact_buttons_card, contact_card,
                                   glance_reply_cards, pick_card)
from cards.format import local_date
from cards.model import Button, Reply
from crm_core.clock import Clock
from crm_core.errors import InvalidValue, NotFound
from crm_core.models import Account, Contact, User
from crm_core.queries.glance import account_glance, contact_glance
from crm_core.queries.lookup import (account_by_name, account_scope, contact_by_name, visible_account_clause,
                                     visible_contact_clause)
from crm_core.refs import parse_ref
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.presentation.glance import account_view, contact_view
from handlers.registry import COMMANDS, action, call, command

MAX_MATCHES = 10  # choices on a pick list
T = TypeVar("T")


def _account_reply(uow: UnitOfWork, actor: User, account: Account, locale: str, clock: Clock) -> Reply:
    now = clock.now()
    glance = account_glance(uow.session, actor, account, today=local_date(uow.config, now))
    view = account_view(uow, glance, locale, now)
    return Reply(cards=glance_reply_cards(account_card(locale, view), account_buttons_card(locale, view)))


def _contact_reply(uow: UnitOfWork, actor: User, contact: Contact, locale: str, clock: Clock) -> Reply:
    view = contact_view(uow, contact_glance(uow.session, actor, contact), locale, clock.now())
    return Reply(cards=glance_reply_cards(contact_card(locale, view), contact_buttons_card(locale, view)))


def _nothing(what: str, text: str) -> InvalidValue:
    words = text[:40]
    if what == "account":
        return InvalidValue(what, words, "glance.no_account", words=words)
    return InvalidValue(what, words, "glance.no_contact", words=words)


def _one_or_pick(locale: str, what: str, text: str, found: Sequence[T], one: Callable[[T], Reply],
                 choices: Callable[[Sequence[T]], list[Button]]) -> Reply:
    """What `account` / `contact` answer: nothing found says so; one record, its card; several, a pick list
    (saying there are more when the lookup filled its page)."""
    if not found:
        raise _nothing(what, text)
    if len(found) == 1:
        return one(found[0])
    return Reply(cards=(pick_card(locale, what, text, choices(found), more=len(found) >= MAX_MATCHES),))


@command("account", writes=False)
def show_account(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    text = str(inv.args.get("name") or "")
    return _one_or_pick(locale, "account", text, account_by_name(uow.session, actor, text, limit=MAX_MATCHES),
                        lambda account: _account_reply(uow, actor, account, locale, clock),
                        lambda found: [Button(a.name, "account.open", str(a.id)) for a in found])


@command("contact", writes=False)
def show_contact(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    text = str(inv.args.get("name") or "")
    return _one_or_pick(locale, "contact", text, contact_by_name(uow.session, actor, text, limit=MAX_MATCHES),
                        lambda contact: _contact_reply(uow, actor, contact, locale, clock),
                        lambda found: _contact_choices(uow, found))


def _contact_choices(uow: UnitOfWork, found: Sequence[Contact]) -> list[Button]:
    accounts = {a.id: a.name for a in uow.session.scalars(select(Account).where(
        Account.id.in_(sorted({c.account_id for c in found}))))}
    return [Button(f"{c.name} · {accounts.get(c.account_id, '—')}", "contact.open", str(c.id)) for c in found]


def _id(raw: object) -> int:
    text = str(raw or "")
    if not text.isdecimal() or len(text) > 9:
        raise NotFound(ref=text[:40] or "?")
    return int(text)


G = TypeVar("G", Account, Contact)


def _clicked(uow: UnitOfWork, actor: User, model: type[G], visible: Callable[[set[int] | None], ColumnElement[bool]],
             raw: object) -> G:
    """The account or contact a button names by id (`raw`), found only among those the actor may see: visibility
    is checked again on every click; NotFound otherwise."""
    scope = visible(account_scope(uow.session, actor))
    row = uow.session.scalar(select(model).where(model.id == _id(raw), scope))
    if row is None:
        raise NotFound(ref=str(raw)[:40])
    return row


@action("account.open", writes=False, value=("account",))
def open_account(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    """A button: the value is the account's id."""
    account = _clicked(uow, actor, Account, visible_account_clause, inv.args["account"])
    return _account_reply(uow, actor, account, locale, clock)


@action("contact.open", writes=False, value=("contact",))
def open_contact(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    contact = _clicked(uow, actor, Contact, visible_contact_clause, inv.args["contact"])
    return _contact_reply(uow, actor, contact, locale, clock)


_SHOW = {"deal": "deal", "lead": "lead", "ticket": "ticket", "contract": "contract"}  # kind → its show command


@action("record.open", writes=False, value=("record",))
def open_record(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    """"Open D-7" / "Open T-9" / "Open C-4" / "Open L-2": the value is the reference; the record's own show
    command runs (with its own access check), as if the person had typed `deal D-7`."""
    raw = str(inv.args["record"])
    ref = parse_ref(raw, *_SHOW)
    if ref is None:
        raise NotFound(ref=raw[:40] or "?")
    shown = replace(inv, kind="command", name=_SHOW[ref.kind], args={ref.kind: ref})
    return call(COMMANDS[_SHOW[ref.kind]], {"inv": shown, "uow": uow, "clock": clock, "actor": actor,
                                            "locale": locale, "config": uow.config})
