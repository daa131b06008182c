"""The delivery operations an outbox row asks for — send a card to people or into a swarm channel,
update a delivered card in place, create a swarm channel, archive one — each resolving who or where it
goes and calling the platform through `PlatformCalls`, recording each delivery as it happens."""
from __future__ import annotations

import logging
from datetime import datetime
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cards.model import Card
from crm_core.config import Config
from crm_core.db import read_only
from crm_core.models import Deal, OutboxMessage, SentMessage, Swarm, Ticket, User
from crm_core.services.users import locale_of
from handlers.ports import DeliveryError, Messenger, PlatformRef, Recipient
from scheduler.delivery.parts import DeliveryParts
from scheduler.delivery.queue import ClaimedRow, Outcome
from scheduler.delivery.records import Pending, can_find, unsure_record
from scheduler.swarms import build_swarm_spec, swarm_platforms

log = logging.getLogger("chatcrm.deliverer")


def choose_recipient(user: User, available: Iterable[str], config: Config) -> Recipient | None:
    """Exactly one place per person: their chat identities that have a messenger; with both Slack and
    WeCom, their primary platform (else Slack); with none, the console. None when not even that exists."""
    available = set(available)
    chat = {i.platform: i for i in user.identities if i.platform in available and i.platform != "console"}
    idents = {p: i.external_id for p, i in chat.items()}
    locale = locale_of(user, config)
    if idents:
        if user.primary_platform in idents:
            platform = user.primary_platform
        else:
            platform = next((p for p in ("slack", "wecom") if p in idents), sorted(idents)[0])
        return Recipient(user_id=user.id, platform=platform, external_id=idents[platform], locale=locale,
                         team=chat[platform].team)
    if "console" in available:
        return Recipient(user_id=user.id, platform="console", external_id=user.key, locale=locale)
    return None


class Operations(DeliveryParts):
    """Built from the Deliverer's DeliveryParts (`DeliveryParts.of`); they are its attributes."""

    def process(self, row: ClaimedRow) -> Outcome:
        if row.op == "send":
            if row.target_type == "swarm":
                return self.send_to_swarm(row)
            if row.target_type == "channel":
                return self.send_to_channel(row)
            return self.send_to_people(row)
        if row.op == "update":
            return self.update(row)
        if row.op == "swarm.create":
            return self.create_swarm(row)
        if row.op == "swarm.archive":
            return self.archive_swarm(row)
        return Outcome(permanent=f"unknown outbox op {row.op!r}")

    def _creating(self, session: Session, row: ClaimedRow, now: datetime) -> datetime | None:
        """When to look again for the row's record's swarm channel, still being created (None: nothing is
        creating it)."""
        return self.queue.ready_at(session, now, OutboxMessage.op == "swarm.create",
                                   OutboxMessage.record_type == row.record_type,
                                   OutboxMessage.record_id == row.record_id)

    def _card(self, row: ClaimedRow) -> Card:
        try:
            return Card.from_dict(row.payload)
        except (KeyError, TypeError, ValueError) as exc:
            raise DeliveryError(f"payload is not a card: {exc}", permanent=True) from exc

    def send_to_people(self, row: ClaimedRow) -> Outcome:
        outcome = Outcome()
        card = self._card(row)
        with read_only(self.factory)() as session:
            if row.target_type == "user":
                user = session.get(User, row.target_id) if row.target_id is not None else None
                if user is None or not user.active:
                    return Outcome(skipped=f"no active user {row.target_id}")
                people = [user]
            elif row.target_type == "admins":
                people = list(session.scalars(select(User).where(User.role == "admin", User.active.is_(True))
                                              .order_by(User.id)))
                if not people:
                    return Outcome(skipped="no active admin")
            else:
                return Outcome(permanent=f"unknown target type {row.target_type!r}")
            records = self.records.of_row(session, row)
            done = {s.recipient_user_id for s in records if not unsure_record(s)}
            unsure = {s.recipient_user_id: Pending.of(s) for s in records if unsure_record(s)}
            todo = [(u, choose_recipient(u, self.messengers, self.config)) for u in people if u.id not in done]
        for person, recipient in todo:
            if recipient is None:
                outcome.error = f"no messenger can reach {person.key}"
                continue
            messenger = self.messengers[recipient.platform]
            if can_find(messenger):
                self.calls.attempt_once(outcome, row, messenger, recipient.external_id, unsure.get(person.id),
                                        lambda tag, m=messenger, r=recipient: m.send_now(r, card, tag=tag),  # type: ignore[call-arg]
                                        recipient_user_id=recipient.user_id, team=recipient.team)
                continue
            self.calls.attempt(outcome, recipient.platform, recipient.external_id,
                               lambda m=messenger, r=recipient: m.send_now(r, card),
                               lambda ref, r=recipient: self.records.record(row, ref, recipient_user_id=r.user_id,
                                                                            ref_key=row.ref_key))
        return outcome

    def send_to_swarm(self, row: ClaimedRow) -> Outcome:
        card = self._card(row)
        now = self.clock.now()
        with read_only(self.factory)() as session:
            swarms = _live_swarms(session, row)
            if not swarms:
                creating = self._creating(session, row, now)
                if creating is None:
                    return Outcome(skipped=f"{row.record_type} {row.record_id} has no swarm channel")
                outcome = Outcome()
                outcome.wait(creating, "its swarm channel is still being created")
                return outcome
            records = self.records.of_row(session, row)
            done = {(s.platform, s.channel) for s in records if not unsure_record(s)}
            unsure = {(s.platform, s.channel): Pending.of(s) for s in records if unsure_record(s)}
        outcome = Outcome()
        for swarm in swarms:
            if (swarm.platform, swarm.channel) in done:
                continue
            messenger = self.messengers.get(swarm.platform)
            if messenger is None:
                log.warning("deliverer: no %s messenger for swarm channel %s; row %s skips it",
                            swarm.platform, swarm.channel, row.id)
                continue
            if can_find(messenger):
                self.calls.attempt_once(outcome, row, messenger, swarm.channel,
                                        unsure.get((swarm.platform, swarm.channel)),
                                        lambda tag, m=messenger, ch=swarm.channel: m.post_swarm_now(ch, card, tag=tag))  # type: ignore[call-arg]
                continue
            self.calls.attempt(outcome, swarm.platform, swarm.channel,
                               lambda m=messenger, ch=swarm.channel: m.post_swarm_now(ch, card),
                               lambda ref: self.records.record(row, ref, ref_key=row.ref_key))
        return outcome

    def send_to_channel(self, row: ClaimedRow) -> Outcome:
        """A post to a channel or group chat named in the row (a notification route): payload["to"] holds the
        platform, the channel id (Slack channel, WeCom app group chat id, console channel) and, for Slack, the
        workspace whose token posts it. Once per row, like a swarm post."""
        to = row.payload.get("to") or {}
        platform, channel, team = to.get("platform"), to.get("channel"), to.get("team")
        if not platform or not channel:
            return Outcome(permanent="a channel row without payload.to.platform / payload.to.channel")
        card = self._card(row)
        messenger = self.messengers.get(str(platform))
        if messenger is None:
            return Outcome(skipped=f"no {platform} messenger for channel {channel}")
        with read_only(self.factory)() as session:
            records = self.records.of_row(session, row)
        if any(not unsure_record(s) for s in records):
            return Outcome()
        pending = next((Pending.of(s) for s in records if unsure_record(s)), None)
        outcome = Outcome()
        team_arg = {"team": str(team)} if team else {}
        if can_find(messenger):
            self.calls.attempt_once(outcome, row, messenger, str(channel), pending,
                                    lambda tag, m=messenger: m.post_swarm_now(str(channel), card, tag=tag, **team_arg),  # type: ignore[call-arg]
                                    team=str(team) if team else None)
            return outcome
        self.calls.attempt(outcome, str(platform), str(channel),
                           lambda m=messenger: m.post_swarm_now(str(channel), card),
                           lambda ref: self.records.record(row, ref, ref_key=row.ref_key))
        return outcome

    def update(self, row: ClaimedRow) -> Outcome:
        card = self._card(row)
        now = self.clock.now()
        with read_only(self.factory)() as session:
            earlier = self.queue.ready_at(session, now, OutboxMessage.ref_key == row.ref_key,
                                          OutboxMessage.op == "send", OutboxMessage.id < row.id) if row.ref_key else None
            if earlier is not None:
                outcome = Outcome()
                outcome.wait(earlier, "the message it updates is not delivered yet")
                return outcome
            targets = list(session.scalars(select(SentMessage).where(SentMessage.ref_key == row.ref_key)
                                           .order_by(SentMessage.id))) if row.ref_key else []
            done = {int(s.extra.get("updates", 0)) for s in self.records.done(session, row)}
        if not targets:
            if row.target_type in ("user", "admins"):
                return self.send_to_people(row)  # nothing to replace: the new card goes out as a message
            return Outcome(skipped=f"no delivered message with ref_key {row.ref_key!r}")
        outcome = Outcome()
        for target in targets:
            if target.id in done:
                continue
            messenger = self.messengers.get(target.platform)
            if messenger is None:
                log.warning("deliverer: no %s messenger to update message %s", target.platform, target.id)
                continue
            ref = PlatformRef(platform=target.platform, channel=target.channel, message_ref=target.message_ref,
                              extra=dict(target.extra or {}))
            self.calls.attempt(outcome, target.platform, target.channel or "-",
                               lambda m=messenger, r=ref: m.update_now(r, card),
                               lambda new, t=target: self.records.record_update(row, t.id, new))
        return outcome

    def create_swarm(self, row: ClaimedRow) -> Outcome:
        assert row.record_type is not None and row.record_id is not None
        now = self.clock.now()
        with read_only(self.factory)() as session:
            owner = _record_owner(session, row.record_type, row.record_id)
            if owner is None:
                return Outcome(skipped=f"{row.record_type} {row.record_id} does not exist")
            existing = set(session.scalars(select(Swarm.platform).where(
                Swarm.record_type == row.record_type, Swarm.record_id == row.record_id)))
            platforms = [p for p in swarm_platforms(owner, set(self.messengers)) if p not in existing]
            specs = {p: build_swarm_spec(session, self.config, row.record_type, row.record_id, platform=p, now=now)
                     for p in platforms}
        outcome = Outcome()
        for platform, spec in specs.items():
            messenger = self.messengers[platform]
            self.calls.attempt(outcome, platform, f"create:{spec.ref}", lambda m=messenger, s=spec: m.create_swarm_now(s),
                               lambda ref, p=platform, s=spec: self.records.record_swarm(row, p, s.title, ref),
                               paced=False)
        return outcome

    def archive_swarm(self, row: ClaimedRow) -> Outcome:
        outcome = Outcome()
        with read_only(self.factory)() as session:
            swarms = _live_swarms(session, row)
            creating = self._creating(session, row, self.clock.now())
        if creating is not None:
            outcome.wait(creating, "the swarm channel to archive is still being created")
            return outcome
        for swarm in swarms:
            messenger = self.messengers.get(swarm.platform)
            if messenger is None:
                continue

            def archive(m: Messenger = messenger, ch: str = swarm.channel) -> PlatformRef:
                m.archive_swarm_now(ch)
                return PlatformRef(platform=m.platform, channel=ch)

            self.calls.attempt(outcome, swarm.platform, swarm.channel, archive,
                               lambda ref, sid=swarm.id: self.records.mark_archived(sid), paced=False)
        return outcome


def _live_swarms(session: Session, row: ClaimedRow) -> list[Swarm]:
    """The row's record's swarm channels that are not archived, oldest first."""
    return list(session.scalars(select(Swarm).where(
        Swarm.record_type == row.record_type, Swarm.record_id == row.record_id,
        Swarm.archived_at.is_(None)).order_by(Swarm.id)))


def _record_owner(session: Session, record_type: str | None, record_id: int | None) -> User | None:
    model = {"deal": Deal, "ticket": Ticket}.get(record_type or "")
    if model is None or record_id is None:
        return None
    record = session.get(model, record_id)
    return None if record is None else record.owner  # type: ignore[attr-defined, no-any-return]
