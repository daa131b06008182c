"""The lead pool (公海) from chat: `pool`, `claim` (and its button), `release`, `check` (查重); and what others
hear: a pool channel (Slack channel, WeCom group) gets each new pool lead with its Claim button, and that
card is updated in place for everyone when someone claims it.

WeCom group chats cannot carry buttons, so the group gets the command to type (`领取 L-9`); with
`[pool] wecom_cards = true` each pool member on WeCom also gets the lead as a template card of their own with
a Claim button (one outbox row per member and stay in the pool), and every one of those cards is updated once
(one row per member) when the lead is taken — by a click, a typed command or from Slack.

The pool channel is kept as a swarm of the pseudo-record ("pool", 0): the outbox's swarm delivery, its
no-double-post checks and its in-place updates (by ref_key) serve it unchanged."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cards.builders.common import error_card, notice_card
from cards.builders.pool import (PoolLeadView, check_card, claimed_card, claimed_notice, pool_lead_card,
                                 pool_list_card, released_notice, t)
from cards.builders.sales import lead_card
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.company_time import reader_time
from crm_core.events import Event, LeadClaimed, LeadPooled
from crm_core.fields import picklist_value
from crm_core.models import Lead, OutboxMessage, Swarm, User
from crm_core.outbox import enqueue
from crm_core.services.pool import PoolFilter, check_owner, do_claim, do_release, list_pool
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.notify import on
from handlers.presentation.sales import lead_view
from handlers.registry import action, command

POOL_RECORD = ("pool", 0)


def pool_view(uow: UnitOfWork, lead: Lead, locale: str, zone: str | None = None,
              pooled_at: datetime | None = None) -> PoolLeadView:
    """`zone`: the reader's own time zone (a card to one person); `pooled_at`: when it entered the pool, for a
    lead that has left it since (a claimed lead's card still says since when it was there)."""
    return PoolLeadView(ref=lead.ref, name=lead.name, company=lead.company, region=lead.region,
                        industry=lead.industry, source=lead.source, score=lead.score, reason=lead.pool_reason,
                        since=reader_time(uow.config, pooled_at or lead.pooled_at, locale, zone) or "")


@command("pool", writes=False)
def show_pool(inv: Invocation, uow: UnitOfWork, locale: str) -> Reply:
    o = inv.options
    score = o.get("score")
    if score is not None and not score.isdigit():
        return Reply(cards=(error_card(locale, t(locale, "list.title") + f": score={score[:20]} ✗",
                                       hint="pool score=60"),))
    flt = PoolFilter(region=picklist_value(uow.config, "region", "region", o.get("region")),
                     industry=picklist_value(uow.config, "industry", "industry", o.get("industry")),
                     source=picklist_value(uow.config, "source", "source", o.get("source")),
                     min_score=int(score) if score is not None else None)
    leads = list_pool(uow.session, flt)
    return Reply(cards=(pool_list_card(locale, [pool_view(uow, lead, locale) for lead in leads]),))


@command("claim")
@action("pool.claim", value=("lead",))
def claim(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    lead = do_claim(uow, actor, inv.args["lead"].id, now=clock.now())
    return Reply(cards=(lead_card(locale, lead_view(uow, lead, locale), note=claimed_notice(locale, lead.ref)),))


@command("release")
def release(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    lead = do_release(uow, actor, inv.args["lead"].id, str(inv.args.get("reason") or ""), now=clock.now())
    return Reply(cards=(notice_card(locale, released_notice(locale, lead.ref), ref=lead.ref),))


@command("check", writes=False)
def check(inv: Invocation, uow: UnitOfWork, locale: str) -> Reply:
    query = str(inv.args["query"])
    found = check_owner(uow.session, query)
    return Reply(cards=(check_card(locale, query, [(f.kind, f.owner_name) for f in found],
                                   alike=any(f.alike for f in found)),))


# --- the pool channel -------------------------------------------------------------------------------------

def pool_channels(uow: UnitOfWork, now: datetime) -> bool:
    """Make sure the configured pool channels exist as swarm rows of the pool; whether there is one."""
    cfg = uow.config.pool
    wanted = {p: ch for p, ch in (("slack", cfg.slack_channel), ("wecom", cfg.wecom_chat)) if ch}
    if not wanted:
        return False
    have = set(uow.session.scalars(select(Swarm.platform).where(Swarm.record_type == POOL_RECORD[0],
                                                                Swarm.record_id == POOL_RECORD[1])))
    for platform, channel in wanted.items():
        if platform in have:
            continue
        try:
            with uow.session.begin_nested():
                uow.session.add(Swarm(record_type=POOL_RECORD[0], record_id=POOL_RECORD[1], platform=platform,
                                      channel=channel, name="lead-pool", created_at=now))
                uow.session.flush()
        except IntegrityError:
            pass  # another transaction added it first
    return True


def _card_key(lead_id: int, pooled_at: datetime) -> str:
    """One card per stay in the pool: a lead pooled again gets a new card."""
    return f"pool:{lead_id}:{pooled_at:%Y%m%d%H%M%S}"


@on(LeadPooled)
def post_to_pool_channel(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, LeadPooled)
    lead = uow.session.get(Lead, event.lead_id)
    if lead is None or lead.status != "pool" or lead.pooled_at is None or not pool_channels(uow, now):
        return
    locale = uow.config.company.locale
    key = _card_key(lead.id, lead.pooled_at)
    enqueue(uow.session, dedupe_key=key, kind="pool.lead", target_type="swarm", target_id=POOL_RECORD[1],
            record_type=POOL_RECORD[0], record_id=POOL_RECORD[1], ref_key=key, now=now,
            payload=pool_lead_card(locale, pool_view(uow, lead, locale)).to_dict())


def _claimed(uow: UnitOfWork, event: LeadClaimed) -> tuple[Lead, User, str] | None:
    """The lead that was taken, who took it, and the key of the stay in the pool its cards were sent for."""
    lead = uow.session.get(Lead, event.lead_id)
    owner = uow.session.get(User, event.owner_id)
    if lead is None or owner is None or event.pooled_at is None:
        return None
    return lead, owner, _card_key(lead.id, event.pooled_at)


@on(LeadClaimed)
def update_pool_card(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """The card in the pool channel, changed in place for everyone: no button, who took it."""
    assert isinstance(event, LeadClaimed)
    claimed = _claimed(uow, event)
    if claimed is None:
        return
    lead, owner, key = claimed
    locale = uow.config.company.locale
    view = pool_view(uow, lead, locale, pooled_at=event.pooled_at)
    enqueue(uow.session, dedupe_key=f"{key}:claimed", kind="pool.lead", op="update", target_type="swarm",
            target_id=POOL_RECORD[1], record_type=POOL_RECORD[0], record_id=POOL_RECORD[1], ref_key=key, now=now,
            payload=claimed_card(locale, view, owner.name).to_dict())


# --- pool members' own cards (WeCom) ----------------------------------------------------------------------

MEMBER_CARD = "pool.card"


def _member_ref(key: str, user_id: int) -> str:
    return f"{key}:u{user_id}"


def wecom_pool_members(uow: UnitOfWork, *, leaving: int | None) -> list[User]:
    """Who gets a pool lead as a card of their own: active members of the pool (config.pool_member) who are not
    away and have a WeCom id — but not who just lost the lead (`leaving`: they may not claim it back yet), and,
    when there is a Slack pool channel, not who is reached on Slack (a Slack id and no primary = "wecom": the
    deliverer's choice), since they have that channel and its button."""
    slack_channel = bool(uow.config.pool.slack_channel)
    users = uow.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    return [u for u in users if uow.config.pool_member(u.role, u.tags) and not u.away and u.id != leaving
            and u.identity("wecom")
            and not (slack_channel and u.identity("slack") and u.primary_platform != "wecom")]


@on(LeadPooled)
def send_member_cards(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """One card per member and stay in the pool (its dedupe key says both), so a retry never sends twice."""
    assert isinstance(event, LeadPooled)
    if not uow.config.pool.wecom_cards:
        return
    lead = uow.session.get(Lead, event.lead_id)
    if lead is None or lead.status != "pool" or lead.pooled_at is None:
        return
    key = _card_key(lead.id, lead.pooled_at)
    for member in wecom_pool_members(uow, leaving=event.previous_owner_id):
        locale = locale_of(member, uow.config)
        ref = _member_ref(key, member.id)
        enqueue(uow.session, dedupe_key=ref, kind=MEMBER_CARD, target_type="user", target_id=member.id,
                record_type="lead", record_id=lead.id, ref_key=ref, now=now,
                payload=pool_lead_card(locale, pool_view(uow, lead, locale, member.timezone)).to_dict())


@on(LeadClaimed)
def update_member_cards(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """Every member card of that stay, updated once each in the member's language: no button, who took it.
    The members are the ones who were sent a card (found by ref_key), not whoever is a member now; a card that
    could not be delivered (dead, skipped) gets no update, which would only be a second failure."""
    assert isinstance(event, LeadClaimed)
    claimed = _claimed(uow, event)
    if claimed is None:
        return
    lead, owner, key = claimed
    prefix = _member_ref(key, 0)[:-1]  # "pool:9:20260302090000:u" — an index range on ref_key, not a scan
    sent = uow.session.scalars(select(OutboxMessage).where(
        OutboxMessage.ref_key >= prefix, OutboxMessage.ref_key < prefix[:-1] + "v",
        OutboxMessage.kind == MEMBER_CARD, OutboxMessage.op == "send",
        OutboxMessage.status.not_in(("dead", "skipped"))).order_by(OutboxMessage.id))  # never reached: no news
    rows = list(sent)
    members = {u.id: u for u in uow.session.scalars(select(User).where(User.id.in_([r.target_id for r in rows])))}
    for row in rows:
        member = members.get(row.target_id or 0)
        if member is None:
            continue
        locale = locale_of(member, uow.config)
        view = pool_view(uow, lead, locale, member.timezone, pooled_at=event.pooled_at)
        enqueue(uow.session, dedupe_key=f"{row.ref_key}:claimed", kind=MEMBER_CARD, op="update", target_type="user",
                target_id=member.id, record_type="lead", record_id=lead.id, ref_key=row.ref_key, now=now,
                payload=claimed_card(locale, view, owner.name).to_dict())
