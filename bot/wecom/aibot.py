"""GET/POST /wecom/aibot: the WeCom AI bot (智能机器人, API mode), mounted only when WECOM_AIBOT_TOKEN and
WECOM_AIBOT_AES_KEY are set (else the route is 404).

Why a second WeCom entry point: a self-built app's callback (/wecom/callback) never receives what people type
in a group chat — the app's group chats are send-only (appchat/send). The AI bot does receive a group's
messages that @-mention it (developer.work.weixin.qq.com/document/path/100719), so in a group
`@bot 记录 <text>` logs the text to the deal (handlers/conversation.py, `chat.log`).

The protocol (documents 101033 加解密方案, 100719 接收消息, 101031 被动回复消息):
- GET ?msg_signature&timestamp&nonce&echostr: URL verification; the answer is the decrypted echo, bare.
- POST ?msg_signature&timestamp&nonce with `{"encrypt": "…"}`: the WXBizMsgCrypt scheme of the app callback,
  but receiveid "" and JSON. Decrypted: {"msgid", "aibotid", "chatid" (groups), "chattype": "group"|"single",
  "from": {"userid"}, "response_url", "msgtype": "text", "text": {"content": "@RobotA hello robot"}}. The
  content carries the @-mention as typed; it is stripped here.
- The answer is either an empty 200 (nothing to say) or a passive reply in the HTTP response: the JSON
  `{"msgtype": "stream", "stream": {"id", "finish": true, "content"}}` encrypted into
  `{"encrypt", "msgsignature", "timestamp", "nonce"}`. A reply to a user's message may be a stream or a
  template card (101031); one finished stream is the plain answer, so WeCom asks for no stream refreshes.
  (response_url, the other way to answer, is for answers that take longer than the request: not needed.)
- Refusals change nothing and are logged: bad signature, undecryptable or stale (more than 5 minutes)
  → 401, a message encrypted for a CorpID (an app's callback) → 403, unreadable JSON → 400.
- The same message delivered twice (a retry) is done once: the invocation's idempotency key is
  `wecom-aibot:msg:<msgid>` (processed_invocations), and the retry gets the first answer again.
- Who: from.userid is our user through the `wecom` identity (users' `wecom = "…"` in the configuration,
  case-insensitive). Somebody unknown is told so and nothing is stored (the AI bot has no user/get to name a
  new user with, and a group's members are not all the company's reps).
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.wecom.crypto import AIBotCrypto, MalformedCallback
from bot.wecom.http import open_callback
from bot.wecom.http import verify_url as verify_callback_url
from bot.wecom.identity import wecom_user_id
from bot.wiring import Wiring
from cards.builders.swarm import group_commands_elsewhere_card, group_unknown_sender_card
from cards.model import Reply
from cards.render.wecom import fit_text
from crm_core.clock import Clock
from crm_core.db import read_only
from crm_core.models import User
from crm_core.services.users import locale_of
from handlers.conversation import group_link_request, group_log_request
from handlers.grammar import UsageError, parse
from handlers.invocation import Invocation
from handlers.runner import Runner, UnknownActor

log = logging.getLogger("chatcrm.wecom.aibot")
PATH = "/wecom/aibot"
STREAM_MAX_BYTES = 20480  # a stream reply's content (document 101031)
# A group message's text starts with the @-mention as typed: "@RobotA hello robot" (document 100719). WeCom
# and WeChat clients put a space, or U+2005 FOUR-PER-EM SPACE, after a mention; both are whitespace here.
_LEADING_MENTIONS = re.compile(r"^(?:@[^\s\u2005]+[\s\u2005]+)+")
_TRAILING_MENTION = re.compile(r"[\s\u2005]+@[^\s\u2005]+$")


def strip_mentions(content: str) -> str:
    """The text without the @-mention(s) WeCom leaves in it, at its start (as typed first) or end."""
    text = content.strip()
    if text.startswith("@") and not re.search(r"[\s\u2005]", text):
        return ""  # only the mention
    text = _LEADING_MENTIONS.sub("", text)
    return _TRAILING_MENTION.sub("", text).strip()


@dataclass(frozen=True)
class AIBotMessage:
    """One decrypted AI bot callback, the fields we use."""
    msg_id: str
    msg_type: str
    chat_type: str  # "group" | "single"
    chat_id: str  # the group's id ("" in a single chat)
    userid: str  # the sender's WeCom userid
    content: str = ""  # text.content, as WeCom sent it (with the @-mention)

    @property
    def group(self) -> bool:
        return self.chat_type == "group"


def parse_message(doc: dict[str, Any]) -> AIBotMessage:
    """The decrypted JSON → AIBotMessage; MalformedCallback when a text message lacks what identifies it."""
    msg_type = str(doc.get("msgtype") or "")
    sender = doc.get("from") if isinstance(doc.get("from"), dict) else {}
    text = doc.get("text") if isinstance(doc.get("text"), dict) else {}
    msg = AIBotMessage(msg_id=str(doc.get("msgid") or ""), msg_type=msg_type, chat_type=str(doc.get("chattype") or ""),
                       chat_id=str(doc.get("chatid") or ""), userid=str(sender.get("userid") or ""),
                       content=str(text.get("content") or ""))
    if msg_type == "text" and not (msg.msg_id and msg.userid):
        raise MalformedCallback("a text message without msgid or from.userid")
    return msg


@dataclass
class AIBotHandler:
    runner: Runner
    session_factory: sessionmaker[Session]
    locale: str  # the company's: for somebody we do not know

    def answer(self, msg: AIBotMessage) -> Reply | None:
        """The reply to show in the chat, or None for nothing (not text, chatter in a group, a stream refresh)."""
        if msg.msg_type != "text":
            return None  # events (enter_chat…), stream refreshes (we never leave a stream open), images…
        text = strip_mentions(msg.content)
        key = f"wecom-aibot:msg:{msg.msg_id}"

        def lookup(session: Session) -> int | None:
            return wecom_user_id(session, msg.userid)

        try:
            linked = group_link_request(text) if msg.group else None
            if linked is not None:
                inv = Invocation(actor_id=0, kind="action", name="chat.link", platform="wecom",
                                 conversation=msg.chat_id, idempotency_key=key,
                                 args={"channel": msg.chat_id, "ref": linked})
                return self.runner.answer(inv, actor=lookup).reply
            request = group_log_request(text)
            if request is not None:
                inv = Invocation(actor_id=0, kind="action", name="chat.log", platform="wecom",
                                 conversation=msg.chat_id or msg.userid, idempotency_key=key,
                                 args={"channel": msg.chat_id, "msg_id": msg.msg_id, "text": request.text,
                                       "ref": request.ref})
                return self.runner.answer(inv, actor=lookup).reply
            if not text:
                return None
            if msg.group:  # everyone in the group would read the answer: only logging is answered here
                parsed = parse(text)
                if (parsed.command if isinstance(parsed, UsageError) else parsed.name) == "log":
                    pass  # `记录 D-12 电话 <text>`, `记录 L-3 …`: the log command, and its usage when mistyped
                elif isinstance(parsed, UsageError):
                    return None  # people talking to each other, with the bot mentioned
                else:
                    return Reply(cards=(group_commands_elsewhere_card(self._locale_of(lookup)),))
            return self.runner.answer_text(lookup, text, platform="wecom", conversation=msg.userid,
                                           idempotency_key=key).reply
        except UnknownActor:
            log.info("WeCom AI bot: %s is nobody in the CRM; refused (message %s)", msg.userid, msg.msg_id)
            return Reply(cards=(group_unknown_sender_card(self.locale, msg.userid),))

    def _locale_of(self, lookup: Any) -> str:
        with read_only(self.session_factory)() as session:
            user_id = lookup(session)
            user = session.get(User, user_id) if user_id is not None else None
            return locale_of(user, self.runner.config) if user is not None else self.locale


def stream_reply(msg_id: str, reply: Reply) -> dict[str, Any] | None:
    """The passive reply's plaintext: one finished stream carrying the reply's cards as text."""
    parts: list[str] = []
    used = 0
    for card in reply.cards:
        part = fit_text(card)
        size = len(part.encode("utf-8")) + 2
        if used + size > STREAM_MAX_BYTES:
            break
        parts.append(part)
        used += size
    if not parts:
        return None
    stream_id = hashlib.sha1(msg_id.encode("utf-8")).hexdigest()  # the same for a retried message
    return {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": "\n\n".join(parts)}}


def build_router(crypto: AIBotCrypto, handler: AIBotHandler, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["wecom"], include_in_schema=False)

    @router.get(PATH)
    def verify_url(request: Request) -> Response:
        return verify_callback_url(request, crypto.verify_url, "WeCom AI bot")

    @router.post(PATH)
    async def receive(request: Request) -> Response:
        opened = await open_callback(request, crypto.decrypt_json, parse_message, clock.now(), "WeCom AI bot", "JSON")
        if isinstance(opened, Response):
            return opened
        msg, nonce, timestamp = opened
        reply = await run_in_threadpool(handler.answer, msg)
        plain = stream_reply(msg.msg_id, reply) if reply is not None else None
        if plain is None:
            return Response(status_code=200)  # "直接回复空包" (document 101033)
        return JSONResponse(crypto.encrypt_json(plain, nonce, timestamp))

    return router


def mount(app: FastAPI, w: Wiring) -> None:
    s = w.settings
    assert s.wecom_aibot_token and s.wecom_aibot_aes_key  # wecom_aibot_enabled
    crypto = AIBotCrypto(s.wecom_aibot_token, s.wecom_aibot_aes_key)
    handler = AIBotHandler(runner=w.runner, session_factory=w.session_factory, locale=w.config.company.locale)
    app.include_router(build_router(crypto, handler, w.clock))
