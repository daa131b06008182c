"""`deal list`, `lead list` and `ticket list` with a scope and filters:

    deal list [mine|team|all] [stage=<key or label>] [owner=@name | @name] [overdue]
    商机 列表 [我的|团队|全部] [阶段=方案报价] [@王芳] [逾期]
    ticket list [mine|team|all] [@name] [overdue]        (工单 列表 …; overdue: its running clock has run out)

A word that is none of these is refused with the nearest words it could have meant; nothing is listed.
Whose records each scope shows is decided in crm_core.services.permissions.list_owner_ids; a ticket list of
`team` or `all` shows a support agent every open ticket, as support may work any (crm_core.services.access).
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cards.builders.common import list_card
from cards.builders.lists import deal_list_line, lead_list_line, list_subtitle, list_title, more_button
from cards.builders.service import ticket_line
from cards.format import local_date, money, stage_name
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.errors import InvalidValue, Term
from crm_core.models import User
from crm_core.queries.lists import ListFilter, deal_page, lead_page, ticket_page
from crm_core.services.access import is_support
from crm_core.services.ownership import resolve_user
from crm_core.services.deals import stage_named
from crm_core.services.permissions import SCOPE, list_owner_ids, lists_others
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.presentation.service import ticket_view
from handlers.registry import action, command

PAGE = 10
SCOPE_WORDS = {"mine": "mine", "my": "mine", "我的": "mine", "team": "team", "团队": "team", "all": "all",
               "全部": "all", "所有": "all"}
OVERDUE_WORDS = ("overdue", "逾期", "过期", "超期")
_MENTION = re.compile(r"^(<@[A-Za-z0-9]+(\|[^>]*)?>|[@＠]\S+)$")


@dataclass(frozen=True)
class ListRequest:
    scope: str | None = None
    stage: str | None = None
    owner: str | None = None
    overdue: bool = False

    def encode(self) -> str:
        """The filters as words again, for the "More" button's value."""
        words = [f"stage={self.stage}"] if self.stage else []
        if self.owner:
            words.append(self.owner if _MENTION.match(self.owner) else "@" + self.owner)
        words += ["overdue"] if self.overdue else []
        return " ".join(words)


def resolve_stage_word(config: Config, raw: str) -> str:
    """A stage by key or by (the start of) its English or Chinese name; unknown: refused with the nearest names."""
    return stage_named(config.pipeline, raw, offered=config.pipeline.stages).key


def _unknown_word(word: str, near: list[str], *, stages: bool) -> InvalidValue:
    if stages:
        if near:
            return InvalidValue("filter", word, "list.words_stages_near", near=near)
        return InvalidValue("filter", word, "list.words_stages")
    if near:
        return InvalidValue("filter", word, "list.words_near", near=near)
    return InvalidValue("filter", word, "list.words")


def parse_list_words(config: Config, text: str, options: dict[str, str], *, stages: bool) -> ListRequest:
    scope: str | None = None
    owner = options.get("owner")
    stage = resolve_stage_word(config, options["stage"]) if options.get("stage") else None
    overdue = False
    for word in text.split():
        low = word.lower()
        if low in SCOPE_WORDS:
            scope = SCOPE_WORDS[low]
        elif low in OVERDUE_WORDS:
            overdue = True
        elif _MENTION.match(word):
            owner = word
        elif stages and stage is None and _is_stage(config, low):
            stage = resolve_stage_word(config, word)
        else:
            near = difflib.get_close_matches(low, [*SCOPE_WORDS, *OVERDUE_WORDS], n=3, cutoff=0.5)
            raise _unknown_word(word[:40], list(near), stages=stages)
    return ListRequest(scope, stage, owner, overdue)


def _is_stage(config: Config, word: str) -> bool:
    return any(word in (s.key, s.name.en.lower(), s.name.zh_CN) for s in config.pipeline.stages)


def _filter(uow: UnitOfWork, actor: User, req: ListRequest, *,
            tickets: bool = False) -> tuple[str, ListFilter, str | None]:
    """The scope (defaulting to mine, or to everything visible when an owner is named), the query filter, and
    the owner's name for the subtitle."""
    owner = resolve_user(uow, req.owner) if req.owner else None
    scope = req.scope or ("all" if owner is not None and owner.id != actor.id and _lists_others(actor, tickets)
                          else "mine")
    if tickets and scope != "mine" and not _lists_others(actor, tickets):  # the refusal names support too
        raise InvalidValue(SCOPE, Term("list_scope", scope), "list.scope_rep_tickets")
    if tickets and scope != "mine" and is_support(actor):
        owner_ids: frozenset[int] | None = None  # support works every ticket
    else:
        owner_ids = list_owner_ids(uow.session, actor, scope)
    if owner is not None:
        if owner_ids is not None and owner.id not in owner_ids:
            raise InvalidValue("owner", req.owner or "", "list.not_yours", name=owner.name)
        owner_ids = frozenset({owner.id})
    return scope, ListFilter(owner_ids, req.stage, req.overdue), owner.name if owner else None


def _subtitle(uow: UnitOfWork, locale: str, req: ListRequest, owner: str | None) -> str | None:
    stage = stage_name(uow.config, req.stage, locale) if req.stage else None
    return list_subtitle(locale, stage=stage, owner=owner, overdue=req.overdue)


def deal_list_page(uow: UnitOfWork, clock: Clock, actor: User, locale: str, req: ListRequest, offset: int) -> Reply:
    scope, flt, owner = _filter(uow, actor, req)
    rows = deal_page(uow.session, flt, local_date(uow.config, clock.now()), limit=PAGE + 1, offset=offset)
    return _page(uow, locale, req, offset, "deal", scope, owner, rows, lambda d, late: deal_list_line(
        locale, d.ref, d.name, stage_name(uow.config, d.stage, locale), money(d.amount, d.currency),
        owner=d.owner.name if scope != "mine" else None, overdue=late))


def _lists_others(actor: User, tickets: bool) -> bool:
    """Whether the actor may list records of others: managers and admins; support agents, tickets."""
    return lists_others(actor) or (tickets and is_support(actor))


def ticket_list_page(uow: UnitOfWork, clock: Clock, actor: User, locale: str, req: ListRequest,
                     offset: int) -> Reply:
    scope, flt, owner = _filter(uow, actor, req, tickets=True)
    now = clock.now()
    opened = actor.id if scope == "mine" and owner is None else None  # mine: owned, or opened by me
    rows = ticket_page(uow.session, flt, now, limit=PAGE + 1, offset=offset, opened_by=opened)
    return _page(uow, locale, req, offset, "ticket", scope, owner, rows, lambda x, late: ticket_line(
        locale, ticket_view(uow, x, locale, now, recent=False, zone=actor.timezone))
        + (f" · {x.owner.name}" if scope != "mine" or x.owner_id != actor.id else ""))


def lead_list_page(uow: UnitOfWork, clock: Clock, actor: User, locale: str, req: ListRequest, offset: int) -> Reply:
    scope, flt, owner = _filter(uow, actor, req)
    now = clock.now()
    rows = lead_page(uow.session, flt, local_date(uow.config, now), now, limit=PAGE + 1, offset=offset)
    return _page(uow, locale, req, offset, "lead", scope, owner, rows, lambda x, late: lead_list_line(
        locale, x.ref, x.name, x.company, x.score, owner=x.owner.name if scope != "mine" else None, overdue=late))


def _page(uow: UnitOfWork, locale: str, req: ListRequest, offset: int, kind: str, scope: str, owner: str | None,
          rows: Sequence[tuple[Any, bool]], line: Callable[[Any, bool], str]) -> Reply:
    """One page of a list: the first PAGE of `rows` (read one more than a page), numbered from offset + 1, and
    a "More" button (`<kind>.list_more`) when that extra row came back."""
    more = more_button(locale, f"{kind}.list_more", _more_value(scope, offset + PAGE, req)) if len(rows) > PAGE else None
    lines = [line(record, late) for record, late in rows[:PAGE]]
    return Reply(cards=(list_card(locale, list_title(locale, f"{kind}s", scope), lines, more=more, start=offset + 1,
                                  subtitle=_subtitle(uow, locale, req, owner)),))


def _more_value(scope: str, offset: int, req: ListRequest) -> str:
    """scope:offset, then :filters when there are any (the form older cards carry)."""
    words = req.encode()
    return f"{scope}:{offset}:{words}" if words else f"{scope}:{offset}"


def _typed(uow: UnitOfWork, inv: Invocation, *, stages: bool) -> ListRequest:
    return parse_list_words(uow.config, str(inv.args.get("filters") or ""), dict(inv.options), stages=stages)


def _clicked(uow: UnitOfWork, actor: User, inv: Invocation, *, stages: bool,
             tickets: bool = False) -> tuple[ListRequest, int]:
    """The "More" button: scope:offset:filters (older cards: scope:offset). A scope the clicker may not list
    (an old "team" card of a rep, a tampered value) pages their own records, as the list always did."""
    scope, offset = str(inv.args.get("scope", "mine")), str(inv.args.get("offset", "0"))
    if not _lists_others(actor, tickets):
        scope = "mine"
    words = str(inv.args.get("filters") or "")
    options = {}
    for word in words.split():
        if word.startswith("stage="):
            options["stage"] = word.removeprefix("stage=")
    req = parse_list_words(uow.config, " ".join(w for w in words.split() if not w.startswith("stage=")), options,
                           stages=stages)
    return (ListRequest(scope if scope in SCOPE_WORDS.values() else "mine", req.stage, req.owner, req.overdue),
            int(offset) if offset.isdecimal() and len(offset) < 10 else 0)


ListPage = Callable[[UnitOfWork, Clock, User, str, ListRequest, int], Reply]


def _register_list(kind: str, page: ListPage, *, stages: bool, tickets: bool = False) -> None:
    """`<kind> list …` as typed, and its More button: one page function; the command reads the filters from
    the words typed, the button from its value (checked again: a value can be tampered with)."""

    @command(f"{kind} list", writes=False)
    def typed(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
        return page(uow, clock, actor, locale, _typed(uow, inv, stages=stages), 0)

    @action(f"{kind}.list_more", writes=False, value=("scope", "offset", "filters"))
    def more(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
        req, offset = _clicked(uow, actor, inv, stages=stages, tickets=tickets)
        return page(uow, clock, actor, locale, req, offset)


_register_list("deal", deal_list_page, stages=True)
_register_list("lead", lead_list_page, stages=False)
_register_list("ticket", ticket_list_page, stages=False, tickets=True)
