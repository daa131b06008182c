"""WeComMessenger: the `handlers.ports.Messenger` for WeCom. Only the outbox deliverer (and the WeCom
adapter, for the direct reply to the person who acted) calls it.

- `send_now`: a card with buttons goes as a `button_interaction` template card (unique task_id; the
  send's response_code is kept so the card can be updated later), any other card as markdown. A card
  whose template would break a WeCom limit (more than 6 buttons, a key over 1024 bytes) goes as markdown
  with "reply `批准 A-5`" hints instead — the text commands do everything the buttons do.
- `update_now`: message/update_template_card with a single-use response_code of that card (from the
  send, or from the latest click) — the full new card; when the new card has no buttons, its buttons
  turn into one grey label (`replace_text`). WeCom cannot edit a markdown message: the new card is sent as
  a new message. When every code of a card has been spent (the click already updated it) or expired
  (72 h), nothing can be updated any more: an already-updated card is left alone, otherwise the new
  card is sent as a new message.
- Swarms: `appchat/create` (chatid `crm<agentid><type><id>`, name = deal name, owner first, then the
  other members; WeCom needs at least two), then a first message so the group appears in the clients.
  Group chats cannot carry template cards: everything posted there is markdown. WeCom has no API to
  archive or dissolve an app group: `archive_swarm_now` posts a closing note and the group stays.
- At most one copy: every message/send carries `enable_duplicate_check: 1` with
  `duplicate_check_interval` (default 1800 s), so WeCom drops a repeat of the same content to the same
  person within that time — a retry after a lost answer does not reach the person twice. This holds for
  markdown messages; a template card carries a fresh task_id on each attempt, so its repeat is not the
  same content, and appchat/send (swarm groups) has no duplicate check at all.
- Errors: 45009 / 45033 (rate limits) → `DeliveryError(retry_after=60)`; -1, HTTP errors, timeouts →
  `DeliveryError` (retry with backoff); an unknown user, an invalid request → `DeliveryError(permanent=True)`.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import requests
from wechatpy.exceptions import WeChatClientException

from bot.wecom.client import TOKEN_ERRORS, WeComClient
from bot.wecom.store import CardStore
from cards.model import Attachment, Card, Section
from cards.render.wecom import WeComLimitError, fit_markdown, t, to_markdown, to_template_card
from handlers.ports import DeliveryError, PlatformRef, Recipient, SwarmSpec

log = logging.getLogger("chatcrm.wecom.messenger")

RATE_LIMITS = frozenset({45009, 45033})
TRANSIENT = frozenset({-1}) | TOKEN_ERRORS
CHAT_EXISTS = 86215
RETRY_AFTER = 60.0
REPLACE_TEXT_CHARS = 20
DUPLICATE_CHECK_INTERVAL = 1800  # seconds (WeCom's default; at most 4 h)
MAX_CODES_TRIED = 3
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
MEDIA_MIN_BYTES = 5
MEDIA_LIMITS = {"file": 20 * 1024 * 1024, "image": 10 * 1024 * 1024}


class WeComMessenger:
    platform = "wecom"

    def __init__(self, client: WeComClient, agent_id: int, cards: CardStore, *, locale: str = "zh_CN",
                 duplicate_check_interval: int = DUPLICATE_CHECK_INTERVAL) -> None:
        self.client = client
        self.duplicate_check = {"enable_duplicate_check": 1,
                                "duplicate_check_interval": max(1, min(int(duplicate_check_interval), 4 * 3600))}
        self.agent_id = agent_id
        self.cards = cards
        self.locale = locale

    # --- people -----------------------------------------------------------------------------------------

    def send_now(self, recipient: Recipient, card: Card) -> PlatformRef:
        ref = self._send_card(recipient, card)
        for att in card.attachments:  # the weekly digest's chart: after the card, best effort (it was sent)
            try:
                self.send_file(recipient.external_id, att)
            except DeliveryError as exc:
                log.warning("could not send %s to %s on WeCom: %s", att.filename, recipient.external_id, exc)
        return ref

    def _send_card(self, recipient: Recipient, card: Card) -> PlatformRef:
        userid = recipient.external_id
        if card.buttons:
            task_id = self.cards.new_task_id(card)
            try:
                template = to_template_card(card, task_id)
            except WeComLimitError as exc:
                log.warning("card %s cannot be a WeCom template card (%s); sending markdown", card.ref, exc)
            else:
                self.cards.record_task(task_id, userid, card)
                res = self._call("message/send", lambda: self.client.message.send(
                    self.agent_id, userid, msg={"msgtype": "template_card", "template_card": template,
                                                **self.duplicate_check}))
                self._check_recipient(res, userid)
                code = str(res.get("response_code") or "")
                self.cards.add_code(task_id, code, "send")
                return PlatformRef(platform="wecom", channel=userid, message_ref=_msgid(res),
                                   extra={"kind": "template_card", "userid": userid, "task_id": task_id,
                                          "response_code": code})
        return self._send_markdown(userid, card)

    def update_now(self, ref: PlatformRef, card: Card) -> PlatformRef:
        userid = str(ref.extra.get("userid") or ref.channel or "")
        task_id = ref.extra.get("task_id")
        if ref.extra.get("kind") == "appchat" and ref.channel:
            return self.post_swarm_now(ref.channel, card)
        if not task_id:  # WeCom cannot edit a sent markdown message: send the new card
            return self.send_now(Recipient(user_id=0, platform="wecom", external_id=userid, locale=card.locale), card)
        for _ in range(MAX_CODES_TRIED):
            try:
                updated = self.update_card(str(task_id), userid, card)
            except DeliveryError as exc:
                if not exc.permanent:
                    raise
                log.warning("WeCom refused to update card %s (%s); trying its next response_code", task_id, exc)
                continue
            if updated is not None:
                return updated
            break
        if self.cards.was_updated(str(task_id)):
            log.info("WeCom card %s was already updated and has no response_code left; leaving it", task_id)
            return ref
        log.info("WeCom card %s has no usable response_code (expired); sending the new card", task_id)
        return self.send_now(Recipient(user_id=0, platform="wecom", external_id=userid, locale=card.locale), card)

    def update_card(self, task_id: str, userid: str, card: Card, *, code: str | None = None) -> PlatformRef | None:
        """update_template_card with one of the task's codes (exactly `code` when given); None: no code left."""
        taken = self.cards.take_code(task_id, code=code)
        if taken is None:
            return None
        code_id, response_code = taken
        replace = None if card.buttons else _replace_text(card)
        try:
            template = to_template_card(card, task_id, replace_text=replace)
        except WeComLimitError as exc:
            log.warning("card %s cannot replace WeCom card %s (%s); greying its buttons", card.ref, task_id, exc)
            body: dict[str, Any] = {"button": {"replace_name": _replace_text(card)}}
        else:
            body = {"template_card": template}
        body.update({"userids": [userid], "agentid": self.agent_id, "response_code": response_code})
        try:
            self._call("message/update_template_card",
                       lambda: self.client.post("message/update_template_card", data=body))
        except DeliveryError as exc:
            if not exc.permanent:
                self.cards.give_back(code_id)
            raise
        return PlatformRef(platform="wecom", channel=userid, extra={"kind": "template_card", "userid": userid,
                                                                    "task_id": task_id})

    # --- swarms -----------------------------------------------------------------------------------------

    def create_swarm_now(self, spec: SwarmSpec) -> PlatformRef:
        members = _unique([spec.owner_external_id, *spec.member_external_ids])
        if len(members) < 2:
            raise DeliveryError(f"{spec.ref}: a WeCom group chat needs at least 2 members with a WeCom id, "
                                f"found {len(members)}", permanent=True)
        chatid = swarm_chat_id(self.agent_id, spec.record_type, spec.record_id)
        name = spec.title if len(spec.title) <= 50 else spec.title[:49] + "…"
        try:
            self._call("appchat/create", lambda: self.client.appchat.create(
                chat_id=chatid, name=name, owner=members[0], user_list=members))
        except _ChatExists:
            log.info("WeCom group %s already exists (an earlier attempt created it); posting the first message", chatid)
        self.post_swarm_now(chatid, spec.card)
        return PlatformRef(platform="wecom", channel=chatid, extra={"kind": "appchat", "chatid": chatid})

    def post_swarm_now(self, channel: str, card: Card) -> PlatformRef:
        content = _markdown(card, group=True)
        res = self._call("appchat/send", lambda: self.client.post("appchat/send", data={
            "chatid": channel, "msgtype": "markdown", "markdown": {"content": content}, "safe": 0}))
        return PlatformRef(platform="wecom", channel=channel, message_ref=_msgid(res),
                           extra={"kind": "appchat", "chatid": channel})

    def archive_swarm_now(self, channel: str) -> None:
        """WeCom has no archive for app group chats: post a closing note; the group stays."""
        content = t(self.locale, "closing")  # a group post: in the company's language
        self._call("appchat/send", lambda: self.client.post("appchat/send", data={
            "chatid": channel, "msgtype": "markdown", "markdown": {"content": content}, "safe": 0}))

    # --- files ------------------------------------------------------------------------------------------

    def send_file(self, userid: str, attachment: Attachment) -> PlatformRef:
        """A document (the quote PDF/HTML) or a picture (a chart PNG) to one person: media/upload (a
        temporary media_id, valid 3 days) then message/send with msgtype `file`, or `image` for a PNG/JPEG
        so it shows in the chat. WeCom's limits: a file 5 B–20 MB, an image up to 10 MB."""
        data = attachment.data()
        kind = "image" if attachment.content_type in IMAGE_TYPES else "file"
        limit = MEDIA_LIMITS[kind]
        if not MEDIA_MIN_BYTES <= len(data) <= limit:
            raise DeliveryError(f"{attachment.filename}: {len(data)} bytes is outside WeCom's {kind} limits "
                                f"({MEDIA_MIN_BYTES}–{limit})", permanent=True)
        media = (attachment.filename, data, attachment.content_type.split(";")[0])
        up = self._call("media/upload", lambda: self.client.media.upload(kind, media))
        media_id = str(up.get("media_id") or "")
        if not media_id:
            raise DeliveryError(f"WeCom media/upload answered no media_id for {attachment.filename}")
        res = self._call("message/send", lambda: self.client.message.send(
            self.agent_id, userid, msg={"msgtype": kind, kind: {"media_id": media_id}, **self.duplicate_check}))
        self._check_recipient(res, userid)
        return PlatformRef(platform="wecom", channel=userid, message_ref=_msgid(res),
                           extra={"kind": kind, "userid": userid, "media_id": media_id})

    # --- helpers ----------------------------------------------------------------------------------------

    def _send_markdown(self, userid: str, card: Card) -> PlatformRef:
        content = _markdown(card)
        res = self._call("message/send", lambda: self.client.message.send(
            self.agent_id, userid, msg={"msgtype": "markdown", "markdown": {"content": content},
                                        **self.duplicate_check}))
        self._check_recipient(res, userid)
        return PlatformRef(platform="wecom", channel=userid, message_ref=_msgid(res),
                           extra={"kind": "markdown", "userid": userid})

    @staticmethod
    def _check_recipient(res: dict[str, Any], userid: str) -> None:
        invalid = {u.lower() for u in str(res.get("invaliduser") or "").split("|") if u}
        if userid.lower() in invalid:
            raise DeliveryError(f"WeCom does not know user {userid!r} (or it is outside the app's visible range)",
                                permanent=True)

    @staticmethod
    def _call(what: str, fn: Callable[[], Any]) -> dict[str, Any]:
        try:
            res = fn()
        except WeChatClientException as exc:
            code = exc.errcode
            if code == CHAT_EXISTS and what == "appchat/create":
                raise _ChatExists() from exc
            message = f"WeCom {what} failed: errcode {code} {exc.errmsg}"
            if code in RATE_LIMITS:
                raise DeliveryError(message, retry_after=RETRY_AFTER) from exc
            if code is None or code in TRANSIENT:
                raise DeliveryError(message) from exc
            raise DeliveryError(message, permanent=True) from exc
        except requests.RequestException as exc:  # a timeout, a dropped connection: WeCom may have acted
            raise DeliveryError(f"WeCom {what} failed: {exc.__class__.__name__}: {exc}", ambiguous=True) from exc
        return res if isinstance(res, dict) else {}


class _ChatExists(Exception):
    pass


def swarm_chat_id(agent_id: int, record_type: str, record_id: int) -> str:
    """A group chat id WeCom accepts ([0-9a-zA-Z], ≤32) and that is stable, so a retry finds the group."""
    chatid = "".join(ch for ch in f"crm{agent_id}{record_type}{record_id}" if ch.isascii() and ch.isalnum())
    return chatid[:32]


def _markdown(card: Card, *, group: bool = False) -> str:
    try:
        return to_markdown(card, group=group)
    except WeComLimitError as exc:
        log.warning("card %s is too long for WeCom markdown (%s); sending its first part", card.ref, exc)
        return fit_markdown(card, group=group)


def _replace_text(card: Card) -> str:
    """The grey label of a decided card: its subtitle, else its first section (the note), else its title."""
    first = next((b.text for b in card.blocks if isinstance(b, Section)), None)
    text = ((card.subtitle or first or card.title).strip().splitlines() or ["—"])[0]
    text = re.split(r"(?<=[。！？])|(?<=[.!?]) ", text, maxsplit=1)[0].strip() or text  # the first sentence
    return text if len(text) <= REPLACE_TEXT_CHARS else text[: REPLACE_TEXT_CHARS - 1] + "…"


def _msgid(res: dict[str, Any]) -> str | None:
    msgid = res.get("msgid")
    return str(msgid) if msgid else None


def _unique(ids: list[str | None]) -> list[str]:
    seen: dict[str, None] = {}
    for i in ids:
        if i and i.lower() not in {s.lower() for s in seen}:
            seen[i] = None
    return list(seen)
