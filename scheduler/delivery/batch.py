"""Messages to people, a batch at a time, in two transactions per pass whatever the batch size:

1. **Plan** (one transaction, with the claim): the recipients of every claimed "send to a person / the
   admins" row (one query for the people, one for the rows' delivery records), a pacing slot for each
   (`Pacer.reserve_many`: the pacing rows of the whole batch locked at once) and, for messengers that tag
   their posts (Slack), the "unsure" record of each post about to be made — committed *before* any post,
   which is what keeps "at most one copy" true (calls.py).
2. **Post**, outside any transaction: each planned call (after a history look-up when an earlier attempt's
   answer was lost), with the same pause-after-ambiguous-failures rule as every other call (calls.py).
3. **Finish** (one transaction): confirm or clean the unsure records, record the untagged deliveries,
   block keys the platform asked to wait on, every row's status, the dead-letter report. If that
   transaction fails, the same writes are retried one by one (each delivery record is what stops a
   second copy of a message to an untagged messenger).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, selectinload

from cards.model import Card
from crm_core.models import SentMessage, User
from handlers.ports import DeliveryError, PlatformRef, Recipient
from scheduler.delivery.calls import find_earlier_post, outbox_tag
from scheduler.delivery.operations import choose_recipient
from scheduler.delivery.parts import DeliveryParts
from scheduler.delivery.queue import ClaimedRow, Outcome
from scheduler.delivery.records import Pending, can_find, unsure_record

log = logging.getLogger("chatcrm.deliverer")


def batchable(row: ClaimedRow) -> bool:
    """A message to a person or to the admins (what nearly every outbox row is)."""
    return row.op == "send" and row.target_type in ("user", "admins")


@dataclass
class PlannedSend:
    row: ClaimedRow
    card: Card
    recipient: Recipient
    pending: Pending | None  # an earlier attempt's record (unsure: look before posting)
    sent_id: int | None = None  # the unsure record written in the plan (tagging messengers)
    record: SentMessage | None = None  # an earlier attempt's record


@dataclass
class Results:
    """What the posts came to, written by the finish transaction."""

    confirmed: list[tuple[int, PlatformRef, str | None]] = field(default_factory=list)  # (sent id, ref, ref_key)
    clean: list[int] = field(default_factory=list)
    records: list[tuple[ClaimedRow, PlatformRef, int]] = field(default_factory=list)  # untagged deliveries
    blocks: list[tuple[str, str, datetime]] = field(default_factory=list)


class BatchSender(DeliveryParts):
    """Built from the Deliverer's DeliveryParts (`DeliveryParts.of`); they are its attributes."""

    # --- 1. plan ---------------------------------------------------------------------------------------

    def plan(self, session: Session, rows: list[ClaimedRow], outcomes: dict[int, Outcome]) -> list[PlannedSend]:
        """Inside the claim's transaction: who each row goes to, a pacing slot each, the unsure records."""
        now = self.clock.now()
        user_ids = sorted({r.target_id for r in rows if r.target_type == "user" and r.target_id is not None})
        people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids))
                                                   .options(selectinload(User.identities)))} if user_ids else {}
        admins: list[User] = []
        if any(r.target_type == "admins" for r in rows):
            admins = list(session.scalars(select(User).options(selectinload(User.identities))
                                          .where(User.role == "admin", User.active.is_(True))
                                          .order_by(User.id)))
        by_row: dict[int, list[SentMessage]] = {}
        for record in session.scalars(select(SentMessage).where(SentMessage.outbox_id.in_([r.id for r in rows]))
                                      .order_by(SentMessage.id)):
            by_row.setdefault(record.outbox_id, []).append(record)
        wanted: list[PlannedSend] = []
        for row in rows:
            outcome = outcomes[row.id]
            try:
                card = Card.from_dict(row.payload)
            except (KeyError, TypeError, ValueError) as exc:
                outcome.permanent = f"payload is not a card: {exc}"
                continue
            if row.target_type == "user":
                user = people.get(row.target_id) if row.target_id is not None else None
                if user is None or not user.active:
                    outcome.skipped = f"no active user {row.target_id}"
                    continue
                targets = [user]
            else:
                if not admins:
                    outcome.skipped = "no active admin"
                    continue
                targets = admins
            records = by_row.get(row.id, [])
            done = {s.recipient_user_id for s in records if not unsure_record(s)}
            unsure = {s.recipient_user_id: s for s in records if unsure_record(s)}
            for person in targets:
                if person.id in done:
                    continue
                recipient = choose_recipient(person, self.messengers, self.config)
                if recipient is None:
                    outcome.error = f"no messenger can reach {person.key}"
                    continue
                record = unsure.get(person.id)
                wanted.append(PlannedSend(row, card, recipient, Pending.of(record) if record else None,
                                          record=record))
        slots = self.pacer.reserve_many(session, [(p.recipient.platform, p.recipient.external_id) for p in wanted],
                                        now)
        planned: list[PlannedSend] = []
        fresh: list[PlannedSend] = []
        for send, wait in zip(wanted, slots):
            if wait is not None:
                outcomes[send.row.id].wait(wait, f"paced: {send.recipient.platform}:{send.recipient.external_id}")
                continue
            if can_find(self.messengers[send.recipient.platform]):
                if send.record is not None:  # an earlier attempt's record: unsure again until this one is answered
                    send.record.extra = {**(send.record.extra or {}), "unsure": True}
                    send.sent_id = send.record.id
                else:
                    fresh.append(send)
            planned.append(send)
        self._insert_unsure(session, fresh, now)
        return planned

    def _insert_unsure(self, session: Session, fresh: list[PlannedSend], now: datetime) -> None:
        """The unsure records of first attempts: one executemany INSERT, then one query for their ids (a
        first attempt has no other record for its row and person, so (row, person) finds it)."""
        if not fresh:
            return
        rows = []
        for send in fresh:
            extra: dict[str, Any] = {"unsure": True, "first_at": now.isoformat()}
            if send.recipient.team:
                extra["team"] = send.recipient.team
            rows.append({"outbox_id": send.row.id, "ref_key": None, "platform": send.recipient.platform,
                         "channel": send.recipient.external_id[:128], "message_ref": None, "extra": extra, "at": now,
                         "recipient_user_id": send.recipient.user_id})
        session.flush()
        session.connection().execute(insert(SentMessage.__table__), rows)
        ids = {(outbox_id, user_id): sid for sid, outbox_id, user_id in session.execute(
            select(SentMessage.id, SentMessage.outbox_id, SentMessage.recipient_user_id)
            .where(SentMessage.outbox_id.in_(sorted({s.row.id for s in fresh})), SentMessage.message_ref.is_(None)))}
        for send in fresh:
            send.sent_id = ids[(send.row.id, send.recipient.user_id)]

    # --- 2. post ---------------------------------------------------------------------------------------

    def post(self, planned: list[PlannedSend], outcomes: dict[int, Outcome]) -> Results:
        results = Results()
        for send in planned:
            self._post_one(send, outcomes[send.row.id], results)
        return results

    def _post_one(self, send: PlannedSend, outcome: Outcome, results: Results) -> None:
        row, recipient = send.row, send.recipient
        messenger = self.messengers[recipient.platform]
        tagged = send.sent_id is not None

        def call() -> PlatformRef:
            if not tagged:
                return messenger.send_now(recipient, send.card)
            tag = outbox_tag(row)
            found = find_earlier_post(messenger, recipient.platform, row, send.pending, recipient.external_id,
                                      recipient.team, tag)
            if found is not None:
                return found
            try:
                return messenger.send_now(recipient, send.card, tag=tag)  # type: ignore[call-arg]
            except DeliveryError as exc:
                if not exc.ambiguous:
                    results.clean.append(send.sent_id)  # type: ignore[arg-type]
                raise

        ref, blocked, called = self.calls.call(outcome, recipient.platform, recipient.external_id, call)
        if blocked is not None:
            results.blocks.append((recipient.platform, recipient.external_id, blocked))
        if not called and tagged:
            results.clean.append(send.sent_id)  # type: ignore[arg-type]  # paused: nothing was posted
        if ref is None:
            return
        if tagged:
            results.confirmed.append((send.sent_id, ref, row.ref_key))  # type: ignore[arg-type]
        else:
            results.records.append((row, ref, recipient.user_id))

    # --- 3. finish -------------------------------------------------------------------------------------

    def write_results(self, session: Session, results: Results) -> None:
        now = self.clock.now()
        if results.confirmed:
            table = SentMessage.__table__
            for with_channel in (True, False):  # a reply without a channel keeps the one recorded
                values: dict[str, Any] = {"message_ref": bindparam("ref"), "ref_key": bindparam("rkey"),
                                          "extra": bindparam("extra"), "at": bindparam("at")}
                if with_channel:
                    values["channel"] = bindparam("chan")
                params = [{"sid": sid, "ref": ref.message_ref, "rkey": ref_key, "extra": dict(ref.extra or {}),
                           "at": now, **({"chan": ref.channel} if with_channel else {})}
                          for sid, ref, ref_key in results.confirmed if bool(ref.channel) == with_channel]
                if params:
                    session.connection().execute(
                        update(table).where(table.c.id == bindparam("sid")).values(**values), params)
        clean = set(results.clean) - {sid for sid, _, _ in results.confirmed}
        if clean:
            for record in session.scalars(select(SentMessage).where(SentMessage.id.in_(sorted(clean)))):
                record.extra = {**(record.extra or {}), "unsure": False}
        for row, ref, user_id in results.records:
            session.add(SentMessage(outbox_id=row.id, ref_key=row.ref_key, platform=ref.platform, channel=ref.channel,
                                    message_ref=ref.message_ref, extra=dict(ref.extra or {}), at=now,
                                    recipient_user_id=user_id))
        for platform, target, until in results.blocks:
            self.pacer.block_in(session, platform, target, until)

    def write_results_one_by_one(self, results: Results) -> None:
        """The finish transaction failed: the same writes, each in its own transaction, errors logged."""
        for sid, ref, ref_key in results.confirmed:
            _logged(lambda: self.records.confirm(sid, ref, ref_key=ref_key))
        for sid in set(results.clean) - {sid for sid, _, _ in results.confirmed}:
            _logged(lambda: self.records.mark_clean(sid))
        for row, ref, user_id in results.records:
            _logged(lambda: self.records.record(row, ref, recipient_user_id=user_id, ref_key=row.ref_key))
        for platform, target, until in results.blocks:
            _logged(lambda: self.pacer.block(platform, target, until))


def _logged(write: Any) -> None:
    try:
        write()
    except Exception:  # noqa: BLE001 - the lease and the unsure records bring the rows back safely
        log.exception("deliverer: writing a delivery result failed")
