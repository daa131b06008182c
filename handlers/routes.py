"""Notification routes: configured `[[routes]]` and routes managers make in chat send chosen events to a team
channel (Slack) or group chat (WeCom) as well as to people.

- `notify won>1000000 #wins` (通知 赢单>100万 #wins) stores a route, `notify` / `notify list` lists them (the
  configuration's marked read-only), `notify off <n>` removes one of the person's own. Managers and admins only.
- The notifiers below turn the facts (a deal won, a new lead, a lead pooled, a ticket's SLA breached) into one
  outbox row per matching route and target, keyed by event + record + route + target: a retried action or
  job never posts twice. The deliverer posts rows of target_type "channel" to the channel in the payload's "to".
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from cards.builders.routes import (RouteRow, route_added_card, route_card, route_removed_card, route_text,
                                   routes_list_card, t as t_routes)
from cards.builders.service import priority_label
from cards.errors import term
from cards.format import money
from cards.i18n import normalise_locale
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.config import SLACK_CHANNEL_ID, WECOM_CHAT_ID, Config
from crm_core.errors import InvalidValue
from crm_core.fields import picklist_value
from crm_core.events import DealClosed, Event, LeadCreated, LeadPooled, TicketSlaBreached
from crm_core.models import Deal, Lead, Ticket, User
from crm_core.outbox import enqueue
from crm_core.services.routes import (RouteFacts, RouteSpec, Target, check_manager, check_route_conditions,
                                      do_add_route, do_remove_route, list_routes, routes_for)
from crm_core.services.money import parse_money
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.notify import on
from handlers.registry import command

KIND = "route.post"

# --- what people type --------------------------------------------------------------------------------------

EVENT_WORDS = {
    "won": "deal.won", "win": "deal.won", "wins": "deal.won", "deal.won": "deal.won", "赢单": "deal.won",
    "成交": "deal.won",
    "lead": "lead.new", "leads": "lead.new", "new": "lead.new", "lead.new": "lead.new", "线索": "lead.new",
    "新线索": "lead.new",
    "pool": "lead.pooled", "pooled": "lead.pooled", "lead.pooled": "lead.pooled", "公海": "lead.pooled",
    "breach": "ticket.sla_breach", "sla": "ticket.sla_breach", "ticket.sla_breach": "ticket.sla_breach",
    "超时": "ticket.sla_breach", "工单超时": "ticket.sla_breach",
}
SHORT_WORD = {"deal.won": "won", "lead.new": "lead", "lead.pooled": "pool", "ticket.sla_breach": "breach"}
CONDITION_KEYS = {"region": "region", "地区": "region", "区域": "region", "priority": "priority",
                  "优先级": "priority", "locale": "locale", "语言": "locale", "amount": "amount", "金额": "amount"}
LOCALE_WORDS = {"en": "en", "english": "en", "英文": "en", "zh": "zh_CN", "zh_cn": "zh_CN", "chinese": "zh_CN",
                "中文": "zh_CN"}
PRIORITIES = ("urgent", "high", "normal", "low")
VOCABULARY = sorted({*EVENT_WORDS, *CONDITION_KEYS})
_MENTION = re.compile(r"^<#([A-Za-z0-9]+)(?:\|[^>]*)?>$")
_CONSOLE_CHANNEL = re.compile(r"^[\w-]{1,64}$")
_FULL = str.maketrans("＞＝＃，．０１２３４５６７８９", ">=#,.0123456789")


class Rule:
    def __init__(self) -> None:
        self.event: str | None = None
        self.min_amount: Decimal | None = None
        self.region: str | None = None
        self.priority: str | None = None
        self.locale: str | None = None
        self.channel: str | None = None


def _amount(raw: str) -> Decimal:
    """The money rule of every amount people type (12万, 1.2m, 1,000,000), refused in a route's own words."""
    try:
        return parse_money(raw)
    except InvalidValue:
        raise InvalidValue("amount", raw[:40], "route.amount") from None


def _unknown(word: str) -> InvalidValue:
    near = difflib.get_close_matches(word.lower(), VOCABULARY, n=1, cutoff=0.5)
    if near:
        return InvalidValue("condition", word[:40], "route.word_near", near=near[0])
    return InvalidValue("condition", word[:40], "route.word")


def _event(rule: Rule, word: str) -> None:
    event = EVENT_WORDS.get(word.lower())
    if event is None:
        raise _unknown(word)
    if rule.event is not None and rule.event != event:
        raise InvalidValue("event", word[:40], "route.two_events")
    rule.event = event


def _channel(raw: str, platform: str) -> str:
    if platform == "slack":
        if re.match(SLACK_CHANNEL_ID, raw):
            return raw
        raise InvalidValue("channel", f"#{raw[:40]}", "route.slack_channel")
    if platform == "wecom":
        if re.match(WECOM_CHAT_ID, raw):
            return raw
        raise InvalidValue("channel", f"#{raw[:40]}", "route.wecom_chat")
    if _CONSOLE_CHANNEL.match(raw):
        return raw
    raise InvalidValue("channel", f"#{raw[:40]}", "route.channel")


def _priority(raw: str) -> str:
    wanted = raw.strip().lower()
    for p in PRIORITIES:
        if wanted in {p, term("zh_CN", "priority", p), term("en", "priority", p).lower()}:
            return p
    raise InvalidValue("priority", raw[:40], "route.priority")


def _condition(rule: Rule, key: str, value: str, config: Config) -> None:
    name = CONDITION_KEYS.get(key.lower())
    if name is None:
        raise _unknown(f"{key}=")
    if not value:
        raise InvalidValue("condition", f"{key}=", "route.value")
    if name == "region":
        rule.region = picklist_value(config, "region", "region", value)
    elif name == "priority":
        rule.priority = _priority(value)
    elif name == "amount":
        rule.min_amount = _amount(value)
    else:
        loc = LOCALE_WORDS.get(value.lower())
        if loc is None:
            raise InvalidValue("locale", value[:40], "route.locale")
        rule.locale = loc


def parse_rule(text: str, platform: str, config: Config) -> Rule:
    """`won>1000000 region=east <#C0123|wins>` → a Rule; anything not understood is an error saying what to type."""
    rule = Rule()
    for word in text.split():
        mention = _MENTION.match(word)
        if mention:
            rule.channel = _channel(mention.group(1), platform)
            continue
        word = word.translate(_FULL)
        if word.startswith("#"):
            rule.channel = _channel(word[1:], platform)
        elif ">" in word or "≥" in word:
            left, _, right = word.replace("≥", ">").replace(">=", ">").partition(">")
            if left and CONDITION_KEYS.get(left.lower()) != "amount":
                _event(rule, left)
            rule.min_amount = _amount(right)
        elif "=" in word:
            key, _, value = word.partition("=")
            _condition(rule, key, value, config)
        else:
            _event(rule, word)
    if rule.event is None:
        raise InvalidValue("event", text[:40], "route.no_event")
    if rule.channel is None:
        raise InvalidValue("channel", text[:40], "route.no_channel")
    check_route_conditions(rule.event, min_amount=rule.min_amount, region=rule.region, priority=rule.priority)
    return rule


def _conditions(spec: RouteSpec) -> str:
    parts = []
    if spec.min_amount is not None:
        parts.append(f">{spec.min_amount.normalize():f}")
    if spec.region:
        parts.append(f"region={spec.region}")
    if spec.priority:
        parts.append(f"priority={spec.priority}")
    return " ".join(parts)


def route_row(spec: RouteSpec) -> RouteRow:
    return RouteRow(number=spec.number, event=spec.event, conditions=_conditions(spec),
                    target=" ".join(f"#{t.channel}" for t in spec.targets))


def _team(actor: User, platform: str) -> str | None:
    """The workspace the actor spoke from: where the route belongs and is posted from."""
    return next((i.team for i in actor.identities if i.platform == platform and i.team), None)


@command("notify")
def notify(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    text = str(inv.args.get("rule") or "").strip()
    if not text:
        return notify_list(uow, actor, locale)
    check_manager(actor)
    rule = parse_rule(text, inv.platform, uow.config)
    assert rule.event is not None and rule.channel is not None
    row = do_add_route(uow, actor, event=rule.event, platform=inv.platform, channel=rule.channel,
                       team=_team(actor, inv.platform), min_amount=rule.min_amount, region=rule.region,
                       priority=rule.priority, locale=rule.locale or normalise_locale(locale_of(actor, uow.config)),
                       now=clock.now())
    spec = RouteSpec(key="", event=row.event, targets=(Target(row.platform, row.channel, row.team),),
                     min_amount=row.min_amount, region=row.region, priority=row.priority, number=row.id)
    return Reply(cards=(route_added_card(locale, route_row(spec)),))


@command("notify list", writes=False)
def notify_list(uow: UnitOfWork, actor: User, locale: str) -> Reply:
    configured, own = list_routes(uow, actor)
    return Reply(cards=(routes_list_card(locale, [route_row(s) for s in configured], [route_row(s) for s in own]),))


@command("notify off")
def notify_off(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    spec = do_remove_route(uow, actor, int(inv.args["route"]))
    return Reply(cards=(route_removed_card(locale, route_row(spec)),))


# --- the facts, posted --------------------------------------------------------------------------------------

Values = Callable[[str], dict[str, str]]  # locale -> the template variables


def _same_tenant(target: Target, owner: User | None) -> bool:
    """A route made in one Slack workspace does not hear of records whose owner works in another one (an owner
    known only from the configuration, or not on that platform, is not known to be elsewhere)."""
    if target.team is None or owner is None:
        return True
    teams = {i.team for i in owner.identities if i.platform == target.platform}
    return not teams or target.team in teams or None in teams


def _post(uow: UnitOfWork, event: str, occurrence: str, facts: RouteFacts, values: Values, *, owner: User | None,
          record: tuple[str, int], ref: str, now: datetime) -> None:
    for spec in routes_for(uow, event, facts):
        locale = spec.locale or uow.config.company.locale
        card = None
        for target in spec.targets:
            if not _same_tenant(target, owner):
                continue
            if card is None:
                card = route_card(locale, event, route_text(locale, event, values(locale), spec.template), ref)
            payload = {**card.to_dict(), "to": {"platform": target.platform, "channel": target.channel,
                                               "team": target.team}}
            enqueue(uow.session, dedupe_key=f"route:{event}:{occurrence}:{spec.key}:{target.platform}:{target.channel}",
                    kind=KIND, target_type="channel", target_id=None, payload=payload, now=now,
                    record_type=record[0], record_id=record[1])


@on(DealClosed)
def route_deal_won(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, DealClosed)
    if not event.won:
        return
    deal = uow.session.get(Deal, event.deal_id)
    if deal is None or deal.status != "won":
        return
    closed = deal.closed_at or now
    _post(uow, "deal.won", f"deal{deal.id}:{closed:%Y%m%d%H%M%S}",
          RouteFacts(amount=deal.amount, region=deal.account.region),
          lambda _loc: {"event": "deal.won", "ref": deal.ref, "name": deal.name, "owner": deal.owner.name,
                        "amount": money(deal.amount, deal.currency) or "", "account": deal.account.name,
                        "company": deal.account.name, "region": deal.account.region or ""},
          owner=deal.owner, record=("deal", deal.id), ref=deal.ref, now=now)


def _lead_values(lead: Lead, event: str, owner: User | None) -> Values:
    return lambda _loc: {"event": event, "ref": lead.ref, "name": lead.name, "owner": owner.name if owner else "",
                         "company": lead.company or "", "account": lead.company or "", "region": lead.region or "",
                         "source": lead.source, "reason": lead.pool_reason or ""}


@on(LeadCreated)
def route_new_lead(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, LeadCreated)
    lead = uow.session.get(Lead, event.lead_id)
    if lead is None:
        return
    _post(uow, "lead.new", f"lead{lead.id}", RouteFacts(region=lead.region), _lead_values(lead, "lead.new", lead.owner),
          owner=lead.owner, record=("lead", lead.id), ref=lead.ref, now=now)


@on(LeadPooled)
def route_pooled_lead(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, LeadPooled)
    lead = uow.session.get(Lead, event.lead_id)
    if lead is None or lead.pooled_at is None:
        return
    previous = uow.session.get(User, event.previous_owner_id)
    _post(uow, "lead.pooled", f"lead{lead.id}:{lead.pooled_at:%Y%m%d%H%M%S}", RouteFacts(region=lead.region),
          _lead_values(lead, "lead.pooled", previous), owner=previous, record=("lead", lead.id), ref=lead.ref,
          now=now)


@on(TicketSlaBreached)
def route_sla_breach(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, TicketSlaBreached)
    ticket = uow.session.get(Ticket, event.ticket_id)
    if ticket is None:
        return
    _post(uow, "ticket.sla_breach", f"ticket{ticket.id}:{event.clock}:{event.due_at:%Y%m%dT%H%M}",
          RouteFacts(priority=ticket.priority, region=ticket.account.region),
          lambda loc: {"event": "ticket.sla_breach", "ref": ticket.ref, "name": ticket.subject,
                       "owner": ticket.owner.name, "account": ticket.account.name, "company": ticket.account.name,
                       "region": ticket.account.region or "", "priority": priority_label(loc, ticket.priority),
                       "clock": t_routes(loc, f"clock.{event.clock}")},
          owner=ticket.owner, record=("ticket", ticket.id), ref=ticket.ref, now=now)
