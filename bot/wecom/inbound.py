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
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.wecom.crypto import WeComCallback
from bot.wecom.identity import WeComIdentity
from bot.wecom.messenger import WeComMessenger
from cards.builders.common import notice_card
from cards.model import Card
from cards.render.wecom import parse_button_key
from crm_core.clock import Clock
from crm_core.outbox import enqueue
from handlers.invocation import Invocation
from handlers.ports import DeliveryError, Recipient
from handlers.runner import Runner
from scheduler.pacing import Pacer

log = logging.getLogger("chatcrm.wecom.inbound")
SLASH_PREFIX = re.compile(r"^/(crm\b\s*)?", re.IGNORECASE)
ONLY_TEXT = {"zh_CN": ("只支持文字命令", "请发送文字命令，例如 `我的`。输入 `帮助` 查看全部命令。"),
             "en": ("Text commands only", "Send a text command, for example `my`. Type `help` for all commands.")}
ERROR_KINDS = frozenset({"error", "usage"})  # reply cards that never replace the clicked card


@dataclass
class CallbackHandler:
    session_factory: sessionmaker[Session]
    runner: Runner
    identity: WeComIdentity
    messenger: WeComMessenger
    clock: Clock
    pacer: Pacer | None = None

    def __call__(self, cb: WeComCallback) -> None:
        """Never raises: this runs after the HTTP answer, so a failure can only be logged."""
        try:
            self.handle(cb)
        except Exception:  # noqa: BLE001 - background work: log with the callback's identity
            log.exception("WeCom callback %s from %s failed", cb.dedupe_key, cb.from_user)

    def handle(self, cb: WeComCallback) -> None:
        actor_id = self.identity.resolve(cb.from_user)
        if cb.kind == "text":
            text = SLASH_PREFIX.sub("", cb.content.strip())  # "/crm deal D-7" typed out of Slack habit
            if not text:
                return
            reply = self.runner.run_text(actor_id, text, platform="wecom", conversation=cb.from_user,
                                         idempotency_key=cb.dedupe_key)
            self.deliver(actor_id, cb, reply.cards)
        elif cb.kind == "card_click":
            self.click(actor_id, cb)
        elif cb.kind == "other":  # an image, a voice message, a file…
            locale = self.runner.locale_for(actor_id)
            self.deliver(actor_id, cb, (notice_card(locale, *ONLY_TEXT["zh_CN" if locale == "zh_CN" else "en"]),))
        else:
            log.debug("WeCom %s/%s from %s: nothing to do", cb.msg_type, cb.event, cb.from_user)

    def click(self, actor_id: int, cb: WeComCallback) -> None:
        parsed = parse_button_key(cb.event_key)
        if parsed is None:
            log.warning("WeCom card click with a key we did not make: %r (task %s)", cb.event_key, cb.task_id)
            return
        action, value = parsed
        self.messenger.cards.add_code(cb.task_id, cb.response_code, "click", userid=cb.from_user)
        inv = Invocation(actor_id=actor_id, kind="action", name=action, args={"value": value}, platform="wecom",
                         conversation=cb.from_user, idempotency_key=cb.dedupe_key)
        reply = self.runner.run(inv)
        cards = list(reply.cards)
        if reply.replace_original and cards and cards[0].kind not in ERROR_KINDS:
            if self._replace_clicked(cb, cards[0]):
                cards = cards[1:]
        self.deliver(actor_id, cb, cards)

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


__all__ = ["CallbackHandler"]
