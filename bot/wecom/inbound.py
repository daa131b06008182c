"""What happens after a WeCom callback was acknowledged (empty 200): run it, answer the person.

- Text message → the command grammar (`Runner.run_text`), idempotency key `wecom:msg:<MsgId>`.
- Template-card click → the button's action (`"<action>|<value>"` in EventKey) through the runner, with
  the same server-side checks as every other click, idempotency key `wecom:card:<TaskId>:<ResponseCode>`.
  The click's ResponseCode is recorded as the card's newest code first, so an outbox op "update" of that
  card (e.g. the approvals area replacing an approver's card) can use it. When the handler's Reply says
  `replace_original`, the clicked card itself is replaced with the reply's first card, using exactly the
  click's code. A Reply that asks for a form (Slack opens a modal, e.g. the reason of a rejection) cannot
  be shown by WeCom: its cards are sent, and they say what to type instead (`驳回 A-5 <原因>`).
- The reply goes straight to the person through the messenger (CONVENTIONS 7: the direct reply to the
  acting user is the one thing an adapter sends itself, after the commit). When that send fails, the
  reply becomes an outbox row (op "send" to the user), so the deliverer retries it.
- An image, voice or file message gets a hint that only text commands work. Other events
  (enter_agent, …) only make sure the user exists.
- Durable: the callback was written to the inbox (crm_core.inbox) before WeCom got its 200. The work marks
  the row done with its reply in the runner's transaction; sending the reply is recorded on the row after.
  A process that dies leaves the row to `recover` (bot/wecom/runtime.py, called by bot/processes.py), which redoes only what is missing;
  a reply sent that late is headed by a card saying what was saved.
"""
from __future__ import annotations

import logging
import re
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.wecom.crypto import WeComCallback
from bot.wecom.identity import WeComIdentity
from bot.wecom.messenger import WeComMessenger
from cards.builders.common import internal_error_card, notice_card, saved_notice_card
from cards.model import Card, Reply
from cards.render.wecom import parse_button_key, t
from crm_core import inbox
from crm_core.clock import Clock
from crm_core.models import InboxItem
from crm_core.outbox import enqueue
from crm_core.pacing import Pacer
from crm_core.services.users import user_by_identity
from handlers.invocation import Invocation
from handlers.ports import DeliveryError, Recipient
from handlers.runner import Outcome, Runner

log = logging.getLogger("chatcrm.wecom.inbound")
SLASH_PREFIX = re.compile(r"^/(crm\b\s*)?", re.IGNORECASE)
ERROR_KINDS = frozenset({"error", "usage"})  # reply cards that never replace the clicked card
KIND = "wecom.callback"  # inbox rows of this adapter


@dataclass
class CallbackHandler:
    session_factory: sessionmaker[Session]
    runner: Runner
    identity: WeComIdentity
    messenger: WeComMessenger
    clock: Clock
    pacer: Pacer | None = None
    lease: timedelta = inbox.LEASE

    # --- the inbox (crm_core.inbox): accepted before the answer, worked on and answered after it ---

    def inbox_row(self, cb: WeComCallback) -> InboxItem:
        """The callback as an inbox row, committed with its dedupe claim before WeCom gets its 200."""
        return inbox.new_row(key=cb.dedupe_key, platform="wecom", kind=KIND, external_user=cb.from_user,
                             team=None, payload=asdict(cb), reply_to={"wecom_user": cb.from_user},
                             now=self.clock.now(), lease=self.lease)

    def run_live(self, key: str) -> None:
        """After the answer, in the process that accepted the callback (unless recovery took it already)."""
        item = inbox.claim_key(self.session_factory, key, self.clock.now(), lease=self.lease, first=True)
        if item is not None:
            self.process(item)

    def take_over(self, key: str) -> None:
        """A WeCom retry of an accepted callback: worked on only when its process's lease ran out."""
        item = inbox.claim_key(self.session_factory, key, self.clock.now(), lease=self.lease)
        if item is not None:
            self.process(item, late=True)

    def process(self, item: inbox.Item, *, late: bool = False) -> None:
        """Do the work unless done, then send the reply unless sent. Never raises (background work): a failure
        is recorded on the row and the next recovery pass (after the lease) tries again."""
        cb = WeComCallback(**item.payload)
        try:
            if item.status == "pending":
                try:
                    item = self.work(item, cb)
                except Exception as exc:  # noqa: BLE001 - rolled back: answered "nothing saved", with an id
                    item = self._give_up(item, exc)
            if item.reply_sent_at is None:
                self.send_reply(item, cb, late=late)
        except Exception as exc:  # noqa: BLE001 - recorded; recovery retries after the lease
            log.exception("WeCom callback %s from %s failed (left for recovery)", cb.dedupe_key, cb.from_user)
            inbox.note_error(self.session_factory, item.key, f"{exc.__class__.__name__}: {exc}")

    def work(self, item: inbox.Item, cb: WeComCallback) -> inbox.Item:
        actor_id = self.identity.resolve(cb.from_user)
        outcome = Outcome(Reply(), saved=False, actor_id=actor_id)
        if item.attempts > inbox.MAX_ATTEMPTS:
            return self._give_up(item, None, actor_id)
        if cb.kind == "text":
            text = SLASH_PREFIX.sub("", cb.content.strip())  # "/crm deal D-7" typed out of Slack habit
            if text:
                outcome = self.runner.answer_text(actor_id, text, platform="wecom", conversation=cb.from_user,
                                                  idempotency_key=cb.dedupe_key, inboxed=True)
        elif cb.kind == "card_click":
            outcome = self.click(actor_id, cb)
        elif cb.kind == "other":  # an image, a voice message, a file…
            locale = self.runner.locale_for(actor_id)
            outcome = Outcome(Reply(cards=(notice_card(locale, t(locale, "only_text.title"), t(locale, "only_text.body")),)),
                              saved=False, actor_id=actor_id)
        else:
            log.debug("WeCom %s/%s from %s: nothing to do", cb.msg_type, cb.event, cb.from_user)
        # What the row needs now (a change stored it with the change; a read stores nothing): the runner says.
        return self.runner.settle(item, replace(outcome, actor_id=actor_id))

    def _give_up(self, item: inbox.Item, exc: Exception | None, actor_id: int | None = None) -> inbox.Item:
        ref = secrets.token_hex(4)
        log.error("WeCom callback %s failed ref=%s (attempt %s)", item.key, ref, item.attempts, exc_info=exc)
        actor_id = actor_id or item.actor_id or self._actor_of(item.external_user)
        locale = self.runner.locale_for(actor_id) if actor_id is not None else self.messenger.locale
        reply = Reply(cards=(internal_error_card(locale, ref, saved=False),))
        done = inbox.finish(self.session_factory, item.key, reply.to_dict(), self.clock.now(), actor_id=actor_id,
                            error_ref=ref)
        assert done is not None
        return done

    def _actor_of(self, userid: str) -> int | None:
        with self.session_factory() as session:
            user = user_by_identity(session, "wecom", userid)
            return user.id if user else None

    def send_reply(self, item: inbox.Item, cb: WeComCallback, *, late: bool = False) -> None:
        """Send the stored reply once: to the person now, or through the outbox when WeCom refuses it now. A
        reply sent late (after a crash) is headed by what was saved. The row is marked replied afterwards."""
        reply = Reply.from_dict(item.reply or {})
        cards = list(reply.cards)
        if item.actor_id is None or not cards:
            self._replied(item.key)
            return
        if late:
            saved = bool(item.saved) and not any(c.kind in ERROR_KINDS for c in cards)
            locale = cards[0].locale
            refs = [c.ref for c in cards if c.ref] if saved else []
            what = cb.content.strip() if cb.kind == "text" else cb.event_key.split("|")[0]
            cards.insert(0, saved_notice_card(locale, what, refs, saved=saved))
        elif cb.kind == "card_click" and reply.replace_original and cards[0].kind not in ERROR_KINDS:
            if self._replace_clicked(cb, cards[0]):
                cards = cards[1:]
        self.deliver(item.actor_id, cb, cards)
        self.send_files(cb.from_user, reply)
        self._replied(item.key)

    def send_files(self, userid: str, reply: Reply) -> None:
        """The files of a reply (a quote's PDF and HTML, a chart PNG), after its cards. A failure is logged:
        the reply was shown and says the file's name; typing the command again sends it again."""
        for att in reply.attachments:
            try:
                self.messenger.send_file(userid, att)
            except DeliveryError as exc:
                log.warning("could not send %s to %s on WeCom: %s", att.filename, userid, exc)

    def _replied(self, key: str) -> None:
        with self.session_factory.begin() as session:
            inbox.mark_replied(session, key, self.clock.now())

    def click(self, actor_id: int, cb: WeComCallback) -> Outcome:
        parsed = parse_button_key(cb.event_key)
        if parsed is None:
            log.warning("WeCom card click with a key we did not make: %r (task %s)", cb.event_key, cb.task_id)
            return Outcome(Reply(), saved=False, actor_id=actor_id)
        action, value = parsed
        self.messenger.cards.add_code(cb.task_id, cb.response_code, "click", userid=cb.from_user)
        inv = Invocation(actor_id=actor_id, kind="action", name=action, args={"value": value}, platform="wecom",
                         conversation=cb.from_user, idempotency_key=cb.dedupe_key, inboxed=True)
        return self.runner.answer(inv)

    def _replace_clicked(self, cb: WeComCallback, card: Card) -> bool:
        try:
            return self.messenger.update_card(cb.task_id, cb.from_user, card, code=cb.response_code) is not None
        except DeliveryError as exc:
            log.warning("could not update WeCom card %s after a click (%s); sending the reply instead", cb.task_id, exc)
            return False

    def deliver(self, actor_id: int, cb: WeComCallback, cards: tuple[Card, ...] | list[Card]) -> None:
        """Send each card to the person now; a card that cannot be sent now goes through the outbox.

        Replies take their slot from the deliverer's per-person pacing budget (WeCom silently drops
        more than 30 messages a minute to one person), so a busy minute queues instead of losing them."""
        for i, card in enumerate(cards):
            wait = self.pacer.reserve("wecom", cb.from_user, self.clock.now()) if self.pacer else None
            if wait is not None:
                log.info("reply to %s paced until %s; queued in the outbox", cb.from_user, wait)
                self._queue(actor_id, cb, i, card, not_before=wait)
                continue
            try:
                self.messenger.send_now(Recipient(user_id=actor_id, platform="wecom", external_id=cb.from_user,
                                                  locale=card.locale), card)
            except DeliveryError as exc:
                log.warning("reply to %s not sent now (%s); queued in the outbox", cb.from_user, exc)
                later = self.clock.now() + timedelta(seconds=exc.retry_after) if exc.retry_after else None
                self._queue(actor_id, cb, i, card, not_before=later)

    def _queue(self, actor_id: int, cb: WeComCallback, index: int, card: Card, *,
               not_before: datetime | None = None) -> None:
        with self.session_factory.begin() as session:
            enqueue(session, dedupe_key=f"wecom-reply:{cb.dedupe_key}:{index}"[:255], kind="reply",
                    target_type="user", target_id=actor_id, payload=card.to_dict(), now=self.clock.now(),
                    not_before=not_before)


__all__ = ["KIND", "CallbackHandler"]
