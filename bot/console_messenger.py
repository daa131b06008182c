"""The console "platform": delivered cards land in a table; `chatcrm console --as KEY` shows them.

It is the messenger the deliverer always has, so a team without Slack or WeCom still gets its nudges,
digests and approval cards — they appear in the console before the next reply.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cards.model import Card
from crm_core.clock import Clock
from crm_core.models import ConsoleChannel, ConsoleInboxMessage, User
from handlers.ports import DeliveryError, PlatformRef, Recipient, SwarmSpec

PAGE = 20  # messages shown at once; the console says how many more are waiting


class ConsoleMessenger:
    platform = "console"

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self._factory = session_factory
        self._clock = clock

    def send_now(self, recipient: Recipient, card: Card) -> PlatformRef:
        now = self._clock.now()
        with self._factory.begin() as session:
            if session.get(User, recipient.user_id) is None:
                raise DeliveryError(f"no user {recipient.user_id}", permanent=True)
            row = _inbox_row(recipient.user_id, None, card, now)
            session.add(row)
            session.flush()
            return PlatformRef(platform="console", channel=f"user:{recipient.external_id}", message_ref=str(row.id))

    def update_now(self, ref: PlatformRef, card: Card) -> PlatformRef:
        """Replace the card in place; it shows again (as updated) in the next console prompt."""
        now = self._clock.now()
        ids = [int(x) for x in (ref.message_ref or "").split(",") if x.isdigit()]
        with self._factory.begin() as session:
            rows = session.scalars(select(ConsoleInboxMessage).where(ConsoleInboxMessage.id.in_(ids))).all()
            if not rows:
                raise DeliveryError(f"console message {ref.message_ref} is gone", permanent=True)
            for row in rows:
                row.card = card.to_dict()
                row.revision += 1
                row.updated_at = now
                row.seen_at = None
        return ref

    def create_swarm_now(self, spec: SwarmSpec) -> PlatformRef:
        now = self._clock.now()
        channel = f"swarm-{spec.ref.lower()}"
        keys = {k for k in (spec.owner_external_id, *spec.member_external_ids) if k}
        with self._factory.begin() as session:
            members = list(session.scalars(select(User.id).where(User.key.in_(keys)).order_by(User.id)))
            existing = session.get(ConsoleChannel, channel)
            if existing is None:
                session.add(ConsoleChannel(channel=channel, name=spec.title[:200], member_ids=members,
                                           created_at=now))
            else:
                existing.member_ids = members
                existing.archived_at = None
            ids = _post(session, channel, members, spec.card, now)
        return PlatformRef(platform="console", channel=channel, message_ref=",".join(map(str, ids)))

    def post_swarm_now(self, channel: str, card: Card) -> PlatformRef:
        now = self._clock.now()
        with self._factory.begin() as session:
            ch = session.get(ConsoleChannel, channel)
            if ch is None or ch.archived_at is not None:
                raise DeliveryError(f"console channel {channel} does not exist or is archived", permanent=True)
            ids = _post(session, channel, list(ch.member_ids), card, now)
        return PlatformRef(platform="console", channel=channel, message_ref=",".join(map(str, ids)))

    def archive_swarm_now(self, channel: str) -> None:
        with self._factory.begin() as session:
            ch = session.get(ConsoleChannel, channel)
            if ch is not None and ch.archived_at is None:
                ch.archived_at = self._clock.now()


def _inbox_row(user_id: int, channel: str | None, card: Card, now: datetime) -> ConsoleInboxMessage:
    return ConsoleInboxMessage(user_id=user_id, channel=channel, card=card.to_dict(), revision=0, created_at=now,
                               updated_at=now, seen_at=None)


def _post(session: Session, channel: str, member_ids: list[int], card: Card, now: datetime) -> list[int]:
    rows = [_inbox_row(uid, channel, card, now) for uid in member_ids]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]


@dataclass(frozen=True)
class InboxPage:
    """The unseen messages shown now (newest first) and how many more stay unread."""

    items: list[tuple[Card, str | None, bool]]
    more: int


class ConsoleInbox:
    """What the console shows a user before each reply: cards delivered to them and not yet seen.

    Newest first (by the time the card arrived or was last updated, so an approval card decided a
    moment ago comes before last week's reminders), at most `limit` at a time; the rest stay unread and
    the console says how many ("N more unread")."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, user_id: int) -> None:
        self._factory = session_factory
        self._clock = clock
        self.user_id = user_id

    def take_unseen(self, limit: int = PAGE) -> list[tuple[Card, str | None, bool]]:
        """(card, channel, updated) of the newest unseen messages, marked seen."""
        return self.take_page(limit).items

    def take_page(self, limit: int = PAGE) -> InboxPage:
        now = self._clock.now()
        unseen = (ConsoleInboxMessage.user_id == self.user_id, ConsoleInboxMessage.seen_at.is_(None))
        with self._factory.begin() as session:
            rows = session.scalars(select(ConsoleInboxMessage).where(*unseen)
                                   .order_by(ConsoleInboxMessage.updated_at.desc(), ConsoleInboxMessage.id.desc())
                                   .limit(limit)).all()
            total = len(rows)
            if total == limit:  # only then can more be waiting
                total = session.scalar(select(func.count(ConsoleInboxMessage.id)).where(*unseen)) or 0
            out = []
            for row in rows:
                out.append((Card.from_dict(row.card), row.channel, row.revision > 0))
                row.seen_at = now
            return InboxPage(out, max(0, total - len(rows)))
