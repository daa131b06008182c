"""What a swarm channel is made of: title, topic, members and the record's card (`build_swarm_spec`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cards.builders.sales import deal_card
from cards.builders.service import t as service_text, ticket_card
from cards.format import local_time, money_or_dash, picklist_label, stage_name
from crm_core.config import Config
from crm_core.models import Deal, Ticket, User
from crm_core.refs import ref_str
from crm_core.services.access import SUPPORT_TAG
from crm_core.uow import UnitOfWork
from handlers.ports import SwarmSpec
from handlers.presentation.sales import deal_view
from handlers.presentation.service import ticket_view

CHAT_PLATFORMS = ("slack", "wecom")
_SWARM_RECORDS: dict[str, type[Deal] | type[Ticket]] = {"deal": Deal, "ticket": Ticket}  # what may have a swarm


def read_uow(session: Session, config: Config) -> UnitOfWork:
    """A UnitOfWork around an existing session, for the view helpers that want one (read only)."""
    uow = UnitOfWork(None, config)  # type: ignore[arg-type]
    uow.session = session
    return uow


def external_id(user: User, platform: str) -> str | None:
    """The user's id on `platform`; on the console it is the user key."""
    return user.key if platform == "console" else user.identity(platform)


def identity_team(user: User, platform: str) -> str | None:
    """The workspace recorded on the user's identity on `platform` (Slack team id), if any."""
    return next((i.team for i in user.identities if i.platform == platform), None)


def swarm_platforms(owner: User, available: set[str]) -> list[str]:
    """Where the record's channel is created: every chat platform the owner is on and we can reach;
    the console when there is none."""
    found = [p for p in CHAT_PLATFORMS if p in available and owner.identity(p)]
    if not found and "console" in available:
        return ["console"]
    return found


def build_swarm_spec(session: Session, config: Config, record_type: str, record_id: int, *,
                     platform: str | None = None, now: datetime | None = None) -> SwarmSpec:
    """The swarm channel of a deal or a ticket.

    Deal: title = deal name, topic = "stage · amount · close date", members = owner, the owner's manager
    and users tagged with swarm.invite_tags. Ticket: title = subject, topic = "priority · status ·
    resolve by", members = owner, the owner's manager, users tagged "support" and the account owner.
    A channel is shared: its topic and card are in the company's language, as everything posted there. Member ids are those of `platform`
    (default: the owner's first chat platform, else the console); people without an id there are left out.
    """
    uow = read_uow(session, config)
    if record_type not in _SWARM_RECORDS:
        raise LookupError(f"no swarm for record type {record_type!r}")
    record = session.get(_SWARM_RECORDS[record_type], record_id)
    if record is None:
        raise LookupError(f"{ref_str(record_type, record_id)} does not exist")
    owner = record.owner
    locale = config.company.locale
    at = now or record.updated_at
    if isinstance(record, Deal):
        deal = record
        close = deal.close_date.isoformat() if deal.close_date else "—"
        topic = f"{stage_name(uow.config, deal.stage, locale)} · {money_or_dash(deal.amount, deal.currency)} · {close}"
        members = _members(session, owner, set(config.swarm.invite_tags))
        card = deal_card(locale, deal_view(uow, deal, locale, at, has_swarm=True))
        title, ref = deal.name, deal.ref
    else:
        ticket = record
        priority = picklist_label(config, "priority", ticket.priority, locale) or ticket.priority
        status = service_text.lookup(locale, f"status.{ticket.status}") or ticket.status
        topic = f"{priority} · {status} · {local_time(uow.config, ticket.resolve_due_at)}"
        members = _members(session, owner, {SUPPORT_TAG}, also=ticket.account.owner_id)
        card = ticket_card(locale, ticket_view(uow, ticket, locale, at))
        title, ref = ticket.subject, ticket.ref
    platform = platform or (swarm_platforms(owner, set(CHAT_PLATFORMS)) or ["console"])[0]
    ids = [external_id(u, platform) for u in members if u.id != owner.id]
    return SwarmSpec(record_type=record_type, record_id=record_id, ref=ref, title=title[:200], topic=topic[:250],
                     owner_external_id=external_id(owner, platform),
                     member_external_ids=tuple(dict.fromkeys(i for i in ids if i)), card=card, locale=locale,
                     team=identity_team(owner, platform) if platform == "slack" else None)


def _members(session: Session, owner: User, tags: set[str], *, also: int | None = None) -> list[User]:
    """Owner, the owner's manager, active users carrying any of `tags`, and `also` — each once, owner first."""
    people: dict[int, User] = {owner.id: owner}
    if owner.manager_id is not None:
        manager = session.get(User, owner.manager_id)
        if manager is not None and manager.active:
            people.setdefault(manager.id, manager)
    if also is not None:
        extra = session.get(User, also)
        if extra is not None and extra.active:
            people.setdefault(extra.id, extra)
    if tags:
        for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)):
            if tags & set(user.tags or []):
                people.setdefault(user.id, user)
    return list(people.values())
