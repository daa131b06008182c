"""Stale deals: no activity for [stale] no_activity_days, or longer in a stage than its stale_days.

The owner gets the deal card with a note and its "Log activity" button, once per stale episode: the
key carries the anchor (last activity, or the time the deal entered its stage), so logging an
activity or moving the stage ends the episode, and only a new one nudges again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cards.builders.nudges import t
from cards.builders.sales import deal_card
from cards.format import stage_name
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.models import Deal
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.presentation.sales import deal_view
from scheduler.jobs.common import existing_keys, notify, run_each

KIND = "nudge.deal.stale"


@dataclass(frozen=True)
class StaleReason:
    deal_id: int
    kind: str  # activity | stage
    anchor: datetime
    stage: str

    @property
    def key(self) -> str:
        return f"stale:{self.kind}:{self.deal_id}:{self.stage if self.kind == 'stage' else ''}:{self.anchor:%Y%m%dT%H%M%S}"


def stale_condition(config: Config, now: datetime) -> Any:
    """SQL condition: an open deal that is stale now (shared with the digests' stale count)."""
    cutoff = now - timedelta(days=config.stale.no_activity_days)
    no_activity = or_(Deal.last_activity_at <= cutoff, and_(Deal.last_activity_at.is_(None), Deal.created_at <= cutoff))
    too_long = [and_(Deal.stage == s.key, Deal.stage_entered_at <= now - timedelta(days=s.stale_days))
                for s in config.pipeline.open_stages if s.stale_days]
    return and_(Deal.status == "open", or_(no_activity, *too_long))


def scan_stale_deals(session: Session, config: Config, now: datetime) -> list[StaleReason]:
    rows = session.execute(select(Deal.id, Deal.stage, Deal.last_activity_at, Deal.created_at, Deal.stage_entered_at)
                           .where(stale_condition(config, now)).order_by(Deal.id))
    cutoff = now - timedelta(days=config.stale.no_activity_days)
    out: list[StaleReason] = []
    for deal_id, stage_key, last_activity, created, entered in rows:
        anchor = last_activity or created
        if anchor <= cutoff:
            out.append(StaleReason(deal_id, "activity", anchor, stage_key))
        stage = config.pipeline.get(stage_key)
        if stage is not None and stage.stale_days and entered <= now - timedelta(days=stage.stale_days):
            out.append(StaleReason(deal_id, "stage", entered, stage_key))
    return out


def run_stale_deals(*, uow: UnitOfWork, clock: Clock) -> int:
    now = clock.now()
    with uow:
        reasons = scan_stale_deals(uow.session, uow.config, now)
        done = existing_keys(uow.session, [r.key for r in reasons])
    return run_each(uow, clock, [r for r in reasons if r.key not in done], _nudge, what="stale deals")


def _nudge(uow: UnitOfWork, reason: StaleReason, now: datetime) -> int:
    deal = uow.session.get(Deal, reason.deal_id)
    if deal is None or deal.status != "open":
        return 0
    # Re-check against the deal as it is now: an activity or a stage move ends the episode.
    current = {(r.kind, r.anchor, r.stage) for r in scan_one(uow, deal, now)}
    if (reason.kind, reason.anchor, reason.stage) not in current:
        return 0
    owner = deal.owner
    locale = locale_of(owner, uow.config)
    if reason.kind == "activity":
        note = t(locale, "stale.no_activity", ref=deal.ref, days=(now - reason.anchor).days)
    else:
        stage = uow.config.pipeline.get(deal.stage)
        note = t(locale, "stale.in_stage", ref=deal.ref, stage=stage_name(uow.config, deal.stage, locale),
                 days=(now - reason.anchor).days, limit=stage.stale_days if stage else "?")
    card = deal_card(locale, deal_view(uow, deal, locale, now), notes=(note,))
    return int(notify(uow.session, owner, card, key=reason.key, kind=KIND, now=now, record_type="deal",
                      record_id=deal.id))


def scan_one(uow: UnitOfWork, deal: Deal, now: datetime) -> list[StaleReason]:
    config = uow.config
    out: list[StaleReason] = []
    anchor = deal.last_activity_at or deal.created_at
    if anchor <= now - timedelta(days=config.stale.no_activity_days):
        out.append(StaleReason(deal.id, "activity", anchor, deal.stage))
    stage = config.pipeline.get(deal.stage)
    if stage is not None and stage.stale_days and deal.stage_entered_at <= now - timedelta(days=stage.stale_days):
        out.append(StaleReason(deal.id, "stage", deal.stage_entered_at, deal.stage))
    return out
