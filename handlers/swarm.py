"""Swarm channels: `swarm D-7|T-9` / the deal card's "Open swarm" button (the ticket card's button is
handlers/tickets.py's "ticket.swarm"), and what the record's channel hears about.

Creating the channel is an effect on other people, so it only ever happens through the outbox: the
command emits `SwarmRequested` (handlers.notifications turns it into one op "swarm.create" row per
record) and the deliverer creates the channel. Updates into an existing (or requested) channel are
outbox rows with target_type "swarm"; `post_to_swarm` is the one helper every area uses for that.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select

from cards.builders.quotes import line_card
from cards.builders.sales import kind_label
from cards.format import money, pct, picklist_label, short, stage_name
from cards.builders.swarm import (CloseSummary, HistoryLine, history_text, swarm_line_card, swarm_status_card,
                                  swarm_summary_card, t)
from cards.model import Card, Reply
from crm_core.company_time import local_time
from crm_core.fields import TEXT_MAX
from crm_core.errors import Conflict, NotFound
from crm_core.events import ActivityLogged, DealClosed, DealStageChanged, Event, SwarmRequested
from crm_core.models import Activity, Approval, Deal, OutboxMessage, StageChange, Swarm, User
from crm_core.queries.people import user_name
from crm_core.outbox import enqueue
from crm_core.refs import Ref
from crm_core.services.access import access_deal, access_ticket
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.notify import on
from handlers.registry import action, command

SWARM_CREATE_KEY = "swarm-create:{record_type}:{record_id}"
SWARM_ARCHIVE_KEY = "swarm-archive:{record_type}:{record_id}"


# --- the command and the buttons ------------------------------------------------------------------------

@command("swarm")
@action("deal.swarm", value=("record@deal",))
def open_swarm(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    return swarm_reply(uow, actor, locale, inv.args["record"])


def swarm_reply(uow: UnitOfWork, actor: User, locale: str, ref: Ref) -> Reply:
    """Show the record's swarm channel, or ask for it (once): what `swarm D-7` and the buttons do."""
    name, is_open = _access(uow, actor, ref)
    channels = [_label(s) for s in live_swarms(uow, ref.kind, ref.id)]
    if channels:
        return _reply(swarm_status_card(locale, str(ref), name, channels=channels))
    archived, _live, requested = _swarm_state(uow, ref.kind, ref.id)
    if requested and not archived:
        return _reply(swarm_status_card(locale, str(ref), name, pending=True))
    if not is_open:
        raise Conflict("swarm.closed", ref=str(ref))
    uow.emit(SwarmRequested(record_type=ref.kind, record_id=ref.id, actor_id=actor.id, reason="command"))
    return _reply(swarm_status_card(locale, str(ref), name, invite_tags=uow.config.swarm.invite_tags))


def _access(uow: UnitOfWork, actor: User, ref: Ref) -> tuple[str, bool]:
    """The record's display name and whether it is still open; raises NotFound / Forbidden."""
    if ref.kind == "deal":
        deal = access_deal(uow, actor, ref.id)
        return deal.name, deal.status == "open"
    if ref.kind == "ticket":
        ticket = access_ticket(uow, actor, ref.id)
        name = getattr(ticket, "subject", None) or str(ref)
        return str(name), bool(getattr(ticket, "is_open", True))
    raise NotFound(ref=str(ref))


def _label(swarm: Swarm) -> str:
    """"#deal-7-acme" when the stored name is the channel's own name, else the name and the platform."""
    if re.fullmatch(r"[a-z0-9_-]{1,80}", swarm.name):
        return f"#{swarm.name}"
    return f"{swarm.name} ({swarm.platform})"


def _reply(card: Card) -> Reply:
    return Reply(cards=(card,))


# --- what a swarm channel exists for ---------------------------------------------------------------------

def live_swarms(uow: UnitOfWork, record_type: str, record_id: int) -> list[Swarm]:
    return list(uow.session.scalars(select(Swarm).where(
        Swarm.record_type == record_type, Swarm.record_id == record_id, Swarm.archived_at.is_(None))
        .order_by(Swarm.id)))


# A record's swarm in one statement built once (every logged activity, stage move and close asks it): is its
# archive requested, is a channel live, is one requested (its create row not dead).
_SWARM_STATE = select(
    select(OutboxMessage.id).where(OutboxMessage.dedupe_key == bindparam("archive")).exists(),
    select(Swarm.id).where(Swarm.record_type == bindparam("record_type"), Swarm.record_id == bindparam("record_id"),
                           Swarm.archived_at.is_(None)).exists(),
    select(OutboxMessage.id).where(OutboxMessage.dedupe_key == bindparam("create"),
                                   OutboxMessage.status != "dead").exists())


def _swarm_state(uow: UnitOfWork, record_type: str, record_id: int) -> tuple[bool, bool, bool]:
    """(archive requested, channel live, channel requested) of the record's swarm."""
    keys = {"record_type": record_type, "record_id": record_id}
    archived, live, requested = uow.session.execute(_SWARM_STATE, {
        **keys, "archive": SWARM_ARCHIVE_KEY.format(**keys), "create": SWARM_CREATE_KEY.format(**keys)}).one()
    return bool(archived), bool(live), bool(requested)


def has_swarm(uow: UnitOfWork, record_type: str, record_id: int) -> bool:
    """True when the record has a live swarm channel, or one is requested and not yet archived."""
    archived, live, requested = _swarm_state(uow, record_type, record_id)
    return not archived and (live or requested)


def post_to_swarm(uow: UnitOfWork, record_type: str, record_id: int, card: Card, *, dedupe_key: str, kind: str,
                  now: datetime) -> bool:
    """Queue `card` for the record's swarm channel(s), if it has one. Returns whether a row was written.

    Other areas (quotes, approvals, tickets, the scheduler) call this too; dedupe_key makes it idempotent.
    """
    if not has_swarm(uow, record_type, record_id):
        return False
    row = enqueue(uow.session, dedupe_key=dedupe_key, kind=kind, target_type="swarm", target_id=record_id,
                  record_type=record_type, record_id=record_id, payload=card.to_dict(), now=now)
    return row is not None


def swarm_line(uow: UnitOfWork, deal_id: int, *, key: str, kind: str, text: str, now: datetime) -> None:
    """One line into the deal's swarm channel, when it has one (quotes and approvals tell it)."""
    card = line_card(uow.config.company.locale, text, ref=f"D-{deal_id}")
    post_to_swarm(uow, "deal", deal_id, card, dedupe_key=key, kind=kind, now=now)


def _swarm_requested_now(uow: UnitOfWork, record_type: str, record_id: int) -> bool:
    """The same transaction asks for the channel: its first message (the record's card) says it all."""
    return any(isinstance(e, SwarmRequested) and e.record_type == record_type and e.record_id == record_id
               for e in uow.events)


def _channel_locale(uow: UnitOfWork) -> str:
    return uow.config.company.locale


def _name_of(uow: UnitOfWork, user_id: int | None) -> str:
    return user_name(uow.session, user_id, missing="chatcrm")  # no actor: the system did it


# --- notifiers ------------------------------------------------------------------------------------------

@on(DealStageChanged)
def tell_swarm_stage_changed(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, DealStageChanged)
    pipeline = uow.config.pipeline
    if event.from_stage is None or event.to_stage in (pipeline.won.key, pipeline.lost.key):
        return  # creation has no channel yet; closing posts a summary instead (DealClosed)
    if _swarm_requested_now(uow, "deal", event.deal_id) or not has_swarm(uow, "deal", event.deal_id):
        return
    deal = uow.session.get(Deal, event.deal_id)
    if deal is None:
        return
    change_id = uow.session.scalar(select(func.max(StageChange.id)).where(
        StageChange.deal_id == deal.id, StageChange.to_stage == event.to_stage))
    locale = _channel_locale(uow)
    line = t(locale, "swarm.stage", from_stage=stage_name(uow.config, event.from_stage, locale),
             to_stage=stage_name(uow.config, event.to_stage, locale), who=_name_of(uow, event.actor_id))
    post_to_swarm(uow, "deal", deal.id, swarm_line_card(locale, deal.ref, deal.name, line),
                  dedupe_key=f"swarm-line:deal:{deal.id}:stage:{change_id}", kind="swarm.stage", now=now)


@on(ActivityLogged)
def tell_swarm_activity(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, ActivityLogged)
    if event.deal_id is None or not has_swarm(uow, "deal", event.deal_id):
        return
    deal = uow.session.get(Deal, event.deal_id)
    activity = uow.session.get(Activity, event.activity_id)
    if deal is None or activity is None:
        return
    locale = _channel_locale(uow)
    line = t(locale, "swarm.activity", kind=kind_label(locale, activity.kind), who=_name_of(uow, event.actor_id),
             text=activity.text[:500])
    post_to_swarm(uow, "deal", deal.id, swarm_line_card(locale, deal.ref, deal.name, line),
                  dedupe_key=f"swarm-line:activity:{activity.id}", kind="swarm.activity", now=now)


@on(DealClosed)
def tell_swarm_deal_closed(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """Post the summary, then (config swarm.archive_on_close) queue the archive right behind it."""
    assert isinstance(event, DealClosed)
    if not has_swarm(uow, "deal", event.deal_id):
        return
    deal = uow.session.get(Deal, event.deal_id)
    if deal is None:
        return
    archive = uow.config.swarm.archive_on_close
    locale = _channel_locale(uow)
    activities = uow.session.scalar(select(func.count(Activity.id)).where(Activity.deal_id == deal.id)) or 0
    history = deal_history(uow, deal, locale)
    summary = CloseSummary(ref=deal.ref, name=deal.name, won=event.won, amount=money(deal.amount, deal.currency),
                           owner=deal.owner.name, closed_by=_name_of(uow, event.actor_id),
                           days_open=max(0, int((now - deal.created_at).total_seconds() // 86400)),
                           activities=int(activities),
                           reason=picklist_label(uow.config, "lost_reason", deal.lost_reason, locale),
                           history=history)
    posted = post_to_swarm(uow, "deal", deal.id, swarm_summary_card(locale, summary, archiving=archive),
                           dedupe_key=f"swarm-summary:deal:{deal.id}", kind="swarm.summary", now=now)
    if posted and history:  # kept on the record: the channel is archived, the summary stays with the deal
        uow.session.add(Activity(kind="note", deal_id=deal.id, actor_id=event.actor_id, at=now,
                                 text=short(history_text(locale, history), TEXT_MAX)))
    if archive:
        request_swarm_archive(uow, "deal", deal.id, now=now)


HISTORY_MAX = 30  # lines in the closing summary (the newest, shown oldest first)


def deal_history(uow: UnitOfWork, deal: Deal, locale: str) -> tuple[HistoryLine, ...]:
    """The deal's logged activities (📌 pins included), stage changes and approval decisions, in time order."""
    config = uow.config
    lines: list[tuple[datetime, HistoryLine]] = []
    for a in uow.session.scalars(select(Activity).where(Activity.deal_id == deal.id)
                                 .order_by(Activity.at.desc()).limit(HISTORY_MAX)):
        lines.append((a.at, HistoryLine(local_time(config, a.at, locale) or "", "activity", _name_of(uow, a.actor_id),
                                        a.text)))
    for c in uow.session.scalars(select(StageChange).where(StageChange.deal_id == deal.id)
                                 .order_by(StageChange.at.desc()).limit(HISTORY_MAX)):
        moved = f"{stage_name(config, c.from_stage, locale) if c.from_stage else '—'} → {stage_name(config, c.to_stage, locale)}"
        lines.append((c.at, HistoryLine(local_time(config, c.at, locale) or "", "stage", _name_of(uow, c.actor_id),
                                        moved)))
    for ap in uow.session.scalars(select(Approval).where(Approval.deal_id == deal.id, Approval.decided_at.is_not(None))
                                  .order_by(Approval.decided_at.desc()).limit(HISTORY_MAX)):
        assert ap.decided_at is not None
        lines.append((ap.decided_at, HistoryLine(local_time(config, ap.decided_at, locale) or "", "approval",
                                                 _name_of(uow, ap.requester_id),
                                                 f"A-{ap.id} {pct(ap.discount_pct)}% · {ap.status}")))
    lines.sort(key=lambda pair: pair[0])
    return tuple(line for _, line in lines[-HISTORY_MAX:])


def request_swarm_archive(uow: UnitOfWork, record_type: str, record_id: int, *, now: datetime) -> None:
    """Queue op "swarm.archive" for the record (after anything already queued for its channel)."""
    payload: dict[str, Any] = {}
    enqueue(uow.session, dedupe_key=SWARM_ARCHIVE_KEY.format(record_type=record_type, record_id=record_id),
            kind="swarm.archive", op="swarm.archive", target_type="swarm", target_id=record_id,
            record_type=record_type, record_id=record_id, payload=payload, now=now)
