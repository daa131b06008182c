"""The conversation as the record: a message pinned (📌) in a deal's swarm channel (Slack), or sent to the AI bot
as `log <text>` in a group chat (WeCom), becomes an activity of that deal, with its author and a link back (or,
where the platform has no message links, the message id in the audit entry), once — however many times the
same message arrives."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from crm_core.fields import TEXT_MAX, check_text
from crm_core.models import Activity, Deal, GroupLink, Swarm, User
from crm_core.services import audit
from crm_core.services.records import load_record
from crm_core.uow import UnitOfWork


@dataclass(frozen=True)
class PinnedMessage:
    platform: str
    channel: str
    ts: str
    text: str
    author_name: str
    link: str = ""  # "" where the platform has no link to a message (WeCom): `ts` is then its message id


# Asked for every 📌 anywhere a bot is (most are outside any swarm): built once, as building the select cost
# about as much as running it.
_SWARM_DEAL_OF_CHANNEL = select(Swarm.record_id).where(
    Swarm.platform == bindparam("platform"), Swarm.channel == bindparam("channel"), Swarm.record_type == "deal",
    Swarm.archived_at.is_(None))


def swarm_deal_id(uow: UnitOfWork, platform: str, channel: str) -> int | None:
    """The id of the deal whose live swarm channel this is (None: not a deal's swarm)."""
    return uow.session.scalar(_SWARM_DEAL_OF_CHANNEL, {"platform": platform, "channel": channel})


def chat_deal_id(uow: UnitOfWork, platform: str, channel: str) -> int | None:
    """The deal a group chat logs to: its own swarm's, else the one someone linked it to (`do_link_chat`)."""
    found = swarm_deal_id(uow, platform, channel)
    if found is not None:
        return found
    return uow.session.scalar(select(GroupLink.deal_id).where(GroupLink.platform == platform,
                                                              GroupLink.channel == channel))


def do_link_chat(uow: UnitOfWork, actor: User, deal: Deal, platform: str, channel: str, *, now: datetime) -> None:
    """Link a group chat to a deal (the caller checked the actor may work on it): one deal per chat, a second
    link moves it; audited. Locked by the caller's deal row; a chat linked twice at once: the unique key."""
    link = uow.session.scalar(select(GroupLink).where(GroupLink.platform == platform, GroupLink.channel == channel)
                              .with_for_update())
    before = link.deal_id if link is not None else None
    if link is None:
        link = GroupLink(platform=platform, channel=channel, deal_id=deal.id, linked_by_id=actor.id, linked_at=now)
        uow.session.add(link)
    else:
        link.deal_id, link.linked_by_id, link.linked_at = deal.id, actor.id, now
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="chat.link", record_type="deal", record_id=deal.id,
                 now=now, platform=platform, channel=channel, before=before)


def swarm_deal(uow: UnitOfWork, platform: str, channel: str, *, for_update: bool = False) -> Deal | None:
    """The deal whose live swarm channel this is (None: not a deal's swarm); `for_update` locks its row."""
    deal_id = swarm_deal_id(uow, platform, channel)
    return load_record(uow.session, Deal, deal_id, "deal", for_update=for_update) if deal_id is not None else None


def do_log_pinned(uow: UnitOfWork, actor: User, deal: Deal, msg: PinnedMessage, *, now: datetime) -> Activity:
    """No permission logic (a `do_`): on Slack, being in the deal's swarm channel is what lets a person pin to
    it (presales and legal log too); a message typed to the WeCom AI bot is checked with `access_deal` first.
    The caller runs this once per message (its idempotency key names the channel and the message)."""
    body = check_text("text", msg.text, TEXT_MAX, multiline=True) or ""
    text = (f"📌 {msg.author_name}: {body}\n{msg.link}" if msg.link else f"📌 {msg.author_name}: {body}")[:TEXT_MAX]
    activity = Activity(kind="note", text=text, actor_id=actor.id, at=now, deal_id=deal.id)
    deal.last_activity_at = now
    uow.session.add(activity)
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="activity.pin", record_type="deal", record_id=deal.id,
                 now=now, channel=msg.channel, ts=msg.ts)
    return activity
