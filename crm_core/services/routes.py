"""Notification routes: which events are posted to which team channel (Slack) or group chat (WeCom).

Two kinds: `[[routes]]` of the configuration file (read-only, for everyone) and routes a manager makes in chat
(`notify won>1000000 #wins`, table notification_routes), which belong to that manager and to the workspace they
were made in. Both become `RouteSpec`s; `routes_for` reads the stored ones once per unit of work and event, so
a use case that closes several deals still costs one query.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from crm_core.config import ROUTE_EVENTS, ROUTE_FILTERS, Config, Route
from crm_core.errors import Conflict, InvalidValue, RoleForbidden, Term
from crm_core.models import NotificationRoute, User
from crm_core.uow import UnitOfWork

MAX_ROUTES_PER_PERSON = 20
_CACHE = "notification_routes"


@dataclass(frozen=True)
class Target:
    platform: str  # slack | wecom | console
    channel: str
    team: str | None = None  # the Slack workspace the route was made in (None: the only / default one)


@dataclass(frozen=True)
class RouteSpec:
    key: str  # stable: "cfg-<hash of the route>" or "chat-<id>" (part of every post's idempotency key)
    event: str
    targets: tuple[Target, ...]
    min_amount: Decimal | None = None
    region: str | None = None
    priority: str | None = None
    locale: str | None = None  # None: the company's
    template: dict[str, str] | None = None  # locale -> text (configuration routes only)
    number: int | None = None  # chat routes: the id people type in `notify off <n>`
    owner_id: int | None = None

    def matches(self, facts: "RouteFacts") -> bool:
        if self.min_amount is not None and (facts.amount is None or facts.amount < self.min_amount):
            return False
        if self.region is not None and (facts.region or "").lower() != self.region.lower():
            return False
        if self.priority is not None and facts.priority != self.priority:
            return False
        return True


@dataclass(frozen=True)
class RouteFacts:
    """What a route's conditions look at, for one event on one record."""
    amount: Decimal | None = None
    region: str | None = None
    priority: str | None = None


def config_route(route: Route, config: Config) -> RouteSpec:
    digest = hashlib.sha1(json.dumps(route.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:12]
    targets = tuple(Target(p, ch) for p, ch in (("slack", route.slack_channel), ("wecom", route.wecom_chat)) if ch)
    template = {k: v for k, v in route.template.model_dump().items() if v} if route.template else None
    return RouteSpec(key=f"cfg-{digest}", event=route.event, targets=targets, min_amount=route.min_amount,
                     region=route.region, priority=route.priority, locale=route.locale or config.company.locale,
                     template=template or None)


def stored_route(row: NotificationRoute) -> RouteSpec:
    return RouteSpec(key=f"chat-{row.id}", event=row.event, targets=(Target(row.platform, row.channel, row.team),),
                     min_amount=row.min_amount, region=row.region, priority=row.priority, locale=row.locale,
                     number=row.id, owner_id=row.owner_id)


def routes_for(uow: UnitOfWork, event: str, facts: RouteFacts) -> list[RouteSpec]:
    """The routes of `event` whose conditions hold: the configuration's, then the stored ones (one read of the
    table per unit of work and event, kept in the session)."""
    cache: dict[str, list[RouteSpec]] = uow.session.info.setdefault(_CACHE, {})
    if event not in cache:
        rows = uow.session.scalars(select(NotificationRoute).where(NotificationRoute.event == event)
                                   .order_by(NotificationRoute.id))
        cache[event] = [stored_route(r) for r in rows]
    configured = [config_route(r, uow.config) for r in uow.config.routes if r.event == event]
    return [r for r in (*configured, *cache[event]) if r.matches(facts)]


def _forget(uow: UnitOfWork) -> None:
    uow.session.info.pop(_CACHE, None)


def check_manager(actor: User) -> None:
    if actor.rank < 1:
        raise RoleForbidden("forbidden.routes")


def check_route_conditions(event: str, **conditions: Any) -> None:
    """Each condition must apply to the event (a priority on won deals would never match)."""
    if event not in ROUTE_EVENTS:
        raise InvalidValue("event", event, "route.event")
    allowed = ROUTE_FILTERS[event]
    for name, value in conditions.items():
        if value is not None and name not in allowed:
            raise InvalidValue("condition", Term("route_filter", name), "route.condition_event",
                               event=Term("route_event", event),
                               allowed=[Term("route_filter", f) for f in sorted(allowed)])


def do_add_route(uow: UnitOfWork, actor: User, *, event: str, platform: str, channel: str, team: str | None,
                 min_amount: Decimal | None = None, region: str | None = None, priority: str | None = None,
                 locale: str | None = None, now: datetime) -> NotificationRoute:
    check_manager(actor)
    check_route_conditions(event, min_amount=min_amount, region=region, priority=priority)
    count = uow.session.scalar(select(func.count(NotificationRoute.id)).where(NotificationRoute.owner_id == actor.id))
    if (count or 0) >= MAX_ROUTES_PER_PERSON:
        raise Conflict("route.too_many", max=MAX_ROUTES_PER_PERSON)
    row = NotificationRoute(owner_id=actor.id, event=event, min_amount=min_amount, region=region, priority=priority,
                            platform=platform, team=team, channel=channel[:128], locale=locale, created_at=now)
    uow.session.add(row)
    uow.session.flush()
    _forget(uow)
    return row


def list_routes(uow: UnitOfWork, actor: User) -> tuple[list[RouteSpec], list[RouteSpec]]:
    """(the configuration's routes, read-only; the actor's own routes)."""
    own = uow.session.scalars(select(NotificationRoute).where(NotificationRoute.owner_id == actor.id)
                              .order_by(NotificationRoute.id))
    return [config_route(r, uow.config) for r in uow.config.routes], [stored_route(r) for r in own]


def do_remove_route(uow: UnitOfWork, actor: User, number: int) -> RouteSpec:
    check_manager(actor)
    row = uow.session.get(NotificationRoute, number)
    if row is None or row.owner_id != actor.id:  # someone else's route is as good as none
        raise InvalidValue("route", f"#{number}", "route.not_yours")
    spec = stored_route(row)
    uow.session.delete(row)
    uow.session.flush()
    _forget(uow)
    return spec
