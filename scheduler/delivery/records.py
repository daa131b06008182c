"""What was delivered: one `SentMessage` per recipient / channel reached, written as soon as the platform
answers, so a retry never reaches the same recipient twice — and, for messengers that tag their posts
(`find_sent_now`, i.e. Slack), the "unsure" record written before a post whose answer may be lost."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.clock import Clock
from crm_core.models import SentMessage, Swarm
from handlers.ports import Messenger, PlatformRef
from scheduler.delivery.queue import ClaimedRow

log = logging.getLogger("chatcrm.deliverer")


@dataclass(frozen=True)
class Pending:
    """A delivery recorded before its post, whose outcome was not confirmed."""

    id: int
    channel: str | None
    first_at: datetime
    unsure: bool
    team: str | None

    @classmethod
    def of(cls, record: SentMessage) -> "Pending":
        extra = record.extra or {}
        try:
            first_at = datetime.fromisoformat(str(extra.get("first_at")))
        except ValueError:
            first_at = record.at
        if first_at.tzinfo is None:
            first_at = first_at.replace(tzinfo=timezone.utc)
        return cls(id=record.id, channel=record.channel, first_at=first_at, unsure=bool(extra.get("unsure")),
                   team=extra.get("team"))


def unsure_record(record: SentMessage) -> bool:
    """Recorded before a post and not confirmed since ("unsure": true, or false after a clean failure)."""
    return "unsure" in (record.extra or {})


def can_find(messenger: Messenger) -> bool:
    """The messenger tags its posts and can look for one in a channel's history (at most one copy)."""
    return callable(getattr(messenger, "find_sent_now", None))


class DeliveryRecords:
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock) -> None:
        self.factory = session_factory
        self.clock = clock

    def of_row(self, session: Session, row: ClaimedRow) -> list[SentMessage]:
        return list(session.scalars(select(SentMessage).where(SentMessage.outbox_id == row.id)
                                    .order_by(SentMessage.id)))

    def done(self, session: Session, row: ClaimedRow) -> list[SentMessage]:
        """The row's confirmed deliveries (not the "unsure" records of posts whose answer was lost)."""
        return [s for s in self.of_row(session, row) if not unsure_record(s)]

    # --- at most one copy: before the post, after it ---------------------------------------------------

    def mark_unsure(self, row: ClaimedRow, pending: Pending | None, platform: str, target: str,
                    recipient_user_id: int | None, team: str | None) -> int:
        """Written before the post: a delivery whose outcome is not known yet, and since when."""
        now = self.clock.now()
        with self.factory.begin() as session:
            record = session.get(SentMessage, pending.id) if pending is not None else None
            if record is None:
                extra: dict[str, Any] = {"unsure": True, "first_at": now.isoformat()}
                if team:
                    extra["team"] = team
                record = SentMessage(outbox_id=row.id, ref_key=None, platform=platform, channel=target[:128],
                                     message_ref=None, extra=extra, at=now, recipient_user_id=recipient_user_id)
                session.add(record)
            else:
                record.extra = {**(record.extra or {}), "unsure": True}
            session.flush()
            return int(record.id)

    def mark_clean(self, sent_id: int) -> None:
        """A definite failure: nothing was posted, the next attempt need not look."""
        with self.factory.begin() as session:
            record = session.get(SentMessage, sent_id)
            if record is not None:
                record.extra = {**(record.extra or {}), "unsure": False}

    def confirm(self, sent_id: int, ref: PlatformRef, *, ref_key: str | None) -> None:
        values: dict[str, Any] = {"message_ref": ref.message_ref, "ref_key": ref_key, "extra": dict(ref.extra or {}),
                                  "at": self.clock.now()}
        if ref.channel:
            values["channel"] = ref.channel
        with self.factory.begin() as session:
            session.execute(update(SentMessage).where(SentMessage.id == sent_id).values(**values)
                            .execution_options(synchronize_session=False))

    # --- after a messenger call that does not tag ------------------------------------------------------

    def record(self, row: ClaimedRow, ref: PlatformRef, *, recipient_user_id: int | None = None,
               ref_key: str | None = None) -> None:
        with self.factory.begin() as session:
            session.add(SentMessage(outbox_id=row.id, ref_key=ref_key, platform=ref.platform, channel=ref.channel,
                                    message_ref=ref.message_ref, extra=dict(ref.extra or {}), at=self.clock.now(),
                                    recipient_user_id=recipient_user_id))

    def record_update(self, row: ClaimedRow, sent_id: int, ref: PlatformRef) -> None:
        with self.factory.begin() as session:
            original = session.get(SentMessage, sent_id)
            if original is not None:
                original.channel = ref.channel or original.channel
                original.message_ref = ref.message_ref or original.message_ref
                if ref.extra:
                    original.extra = {**(original.extra or {}), **ref.extra}
            session.add(SentMessage(outbox_id=row.id, ref_key=None, platform=ref.platform, channel=ref.channel,
                                    message_ref=ref.message_ref, extra={"updates": sent_id}, at=self.clock.now(),
                                    recipient_user_id=original.recipient_user_id if original else None))

    def record_swarm(self, row: ClaimedRow, platform: str, name: str, ref: PlatformRef) -> None:
        assert row.record_type is not None and row.record_id is not None
        try:
            with self.factory.begin() as session:
                # The platform's own name for the channel (Slack: deal-7-acme-expansion) when it says one.
                channel_name = str((ref.extra or {}).get("name") or name)
                session.add(Swarm(record_type=row.record_type, record_id=row.record_id, platform=platform,
                                  channel=ref.channel or "", name=channel_name[:200], created_at=self.clock.now()))
                session.add(SentMessage(outbox_id=row.id, ref_key=None, platform=platform, channel=ref.channel,
                                        message_ref=ref.message_ref, extra=dict(ref.extra or {}),
                                        at=self.clock.now()))
        except IntegrityError:
            log.warning("deliverer: %s already has a %s swarm channel (row %s)", row.record_id, platform, row.id)

    def mark_archived(self, swarm_id: int) -> None:
        with self.factory.begin() as session:
            swarm = session.get(Swarm, swarm_id)
            if swarm is not None:
                swarm.archived_at = self.clock.now()
