"""WeCom callback crypto and parsing: wechatpy's enterprise `WeChatCrypto`, plus what it leaves out.

- Signatures and AES: `wechatpy.enterprise.crypto.WeChatCrypto` (sha1 over the sorted token, timestamp,
  nonce and ciphertext; AES-256-CBC, PKCS#7 to 32 bytes, receiveid = CorpID). Checked byte for byte against
  Tencent's published vectors in tests/bot/wecom/test_crypto.py.
- Every way a callback can be refused becomes one of two exceptions: `CallbackRefused` (bad signature, a
  message for another corp — wechatpy raises `InvalidCorpIdException`, which is *not* an
  `InvalidSignatureException` — or ciphertext that does not decrypt) and `MalformedCallback` (the XML
  cannot be read). The routes answer 401/403 and 400 and log why.
- `parse_callback` reads the decrypted XML with xmltodict into a `WeComCallback`, including the
  `template_card_event` fields (`EventKey`, `TaskId`, `ResponseCode`) that wechatpy 1.8 does not parse.
"""
from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import xmltodict
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException
from xml.parsers.expat import ExpatError

__all__ = ["MAX_SKEW_SECONDS", "AIBotCrypto", "CallbackRefused", "MalformedCallback", "WeComCallback", "WeComCrypto",
           "check_fresh", "parse_callback"]

# A callback whose timestamp is further than this from now is refused (401): WeCom sends at once and its
# own retries come within seconds, so only a captured-and-replayed request is that old.
MAX_SKEW_SECONDS = 300


class CallbackRefused(Exception):
    """The callback is not from WeCom for this app. `status` is the HTTP answer (401 or 403)."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class MalformedCallback(Exception):
    """The callback's XML cannot be read (HTTP 400)."""


_DECRYPT_ERRORS = (ValueError, TypeError, struct.error, binascii.Error, UnicodeDecodeError, IndexError)


class WeComCrypto:
    """The app's callback crypto: token, EncodingAESKey (43 chars) and CorpID (the receiveid)."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("WECOM_AES_KEY (EncodingAESKey) must be 43 characters")
        self.corp_id = corp_id
        self._crypto = WeChatCrypto(token, encoding_aes_key, corp_id)

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """GET /wecom/callback: the decrypted echo to answer with, or CallbackRefused."""
        return self._guard(lambda: self._crypto.check_signature(msg_signature, timestamp, nonce, echostr))

    def decrypt(self, body: bytes | str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """POST /wecom/callback: the decrypted message XML. MalformedCallback when the envelope is not XML."""
        envelope = _parse_xml(body)
        encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise MalformedCallback("the envelope has no Encrypt element")
        return self._guard(lambda: self._crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce))

    def encrypt(self, xml: str, nonce: str, timestamp: str, *, random16: Callable[[], str] | None = None) -> str:
        """A passive-reply envelope (<xml><Encrypt>…<MsgSignature>…). `random16` fixes the random prefix
        (16 bytes), which only tests need: it makes the ciphertext reproducible."""
        crypto_class: type[PrpCrypto] = PrpCrypto
        if random16 is not None:
            fixed = random16
            crypto_class = type("FixedPrpCrypto", (PrpCrypto,), {"get_random_string": lambda self: fixed()})
        # BaseWeChatCrypto._encrypt_message is what encrypt_message calls, with the crypto class as a parameter.
        return str(self._crypto._encrypt_message(xml, nonce, timestamp, crypto_class))

    def _guard(self, fn: Callable[[], Any]) -> str:
        try:
            return str(fn())
        except InvalidSignatureException as exc:
            raise CallbackRefused("bad msg_signature", 401) from exc
        except InvalidCorpIdException as exc:
            raise CallbackRefused("message is for another corp id (receiveid mismatch)", 403) from exc
        except _DECRYPT_ERRORS as exc:
            raise CallbackRefused(f"ciphertext does not decrypt ({exc.__class__.__name__})", 401) from exc


class AIBotCrypto(WeComCrypto):
    """The AI bot's (智能机器人) callback crypto: the same WXBizMsgCrypt scheme with an EMPTY receiveid
    ("企业内部智能机器人场景中，ReceiveId为\"\"", developer.work.weixin.qq.com/document/path/101033), and
    JSON envelopes instead of XML: `{"encrypt": …}` in, `{"encrypt","msgsignature","timestamp","nonce"}` out.

    wechatpy's enterprise WeChatCrypto does this as it is: it appends the receiveid when encrypting and
    compares the one it finds when decrypting, and "" == "" (tests/bot/wecom/test_aibot.py). A message
    encrypted for a CorpID (an app's callback sent here by mistake) is refused (403)."""

    def __init__(self, token: str, encoding_aes_key: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("WECOM_AIBOT_AES_KEY (EncodingAESKey) must be 43 characters")
        super().__init__(token, encoding_aes_key, "")

    def decrypt_json(self, body: bytes | str, msg_signature: str, timestamp: str, nonce: str) -> dict[str, Any]:
        """POST /wecom/aibot: the decrypted message (a JSON object). MalformedCallback when the envelope or the
        message is not the JSON WeCom sends; CallbackRefused when it is not from WeCom for this bot."""
        envelope = _parse_json(body, "the envelope")
        encrypt = envelope.get("encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise MalformedCallback("the envelope has no encrypt field")
        plain = self._guard(lambda: self._crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp,
                                                                 nonce))
        return _parse_json(plain, "the message")

    def encrypt_json(self, payload: dict[str, Any], nonce: str, timestamp: str) -> dict[str, str]:
        """A passive reply: the payload encrypted and signed by wechatpy, in the AI bot's JSON envelope."""
        xml = self.encrypt(json.dumps(payload, ensure_ascii=False), nonce, timestamp)
        env = _parse_xml(xml)
        return {"encrypt": str(env["Encrypt"]), "msgsignature": str(env["MsgSignature"]),
                "timestamp": str(env["TimeStamp"]), "nonce": str(env["Nonce"])}


def _parse_json(data: bytes | str, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, TypeError) as exc:
        raise MalformedCallback(f"{what} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise MalformedCallback(f"{what} is not a JSON object")
    return doc


def check_fresh(timestamp: str, now: datetime, *, max_skew: float = MAX_SKEW_SECONDS) -> None:
    """CallbackRefused (401) unless the callback's `timestamp` (Unix seconds) is within `max_skew` of now.
    The signature covers the timestamp, so an old request cannot be made fresh without the token."""
    try:
        sent = int(timestamp)
    except ValueError:
        raise CallbackRefused("timestamp is not a number", 401) from None
    skew = now.timestamp() - sent
    if abs(skew) > max_skew:
        raise CallbackRefused(f"stale timestamp ({int(skew)} s from now; at most {int(max_skew)} s allowed)", 401)


def _parse_xml(data: bytes | str) -> dict[str, Any]:
    try:
        doc = xmltodict.parse(data, disable_entities=True)
    except (ExpatError, ValueError, TypeError) as exc:
        raise MalformedCallback(f"not XML: {exc}") from exc
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise MalformedCallback("no <xml> root element")
    return root


@dataclass(frozen=True)
class WeComCallback:
    """One decrypted callback. `kind`: text | card_click | event | other."""

    kind: str
    from_user: str
    create_time: str
    msg_type: str
    event: str = ""
    content: str = ""
    msg_id: str = ""
    event_key: str = ""
    task_id: str = ""
    response_code: str = ""
    card_type: str = ""
    agent_id: str = ""

    @property
    def dedupe_key(self) -> str:
        """WeCom's retry identity: MsgId, TaskId+ResponseCode for a click, else FromUserName+CreateTime."""
        if self.kind == "text" and self.msg_id:
            return f"wecom:msg:{self.msg_id}"
        if self.kind == "card_click":
            return f"wecom:card:{self.task_id}:{self.response_code}"[:200]
        return f"wecom:event:{self.from_user}:{self.create_time}:{self.event or self.msg_type}"[:200]


def _text(root: dict[str, Any], name: str) -> str:
    value = root.get(name)
    if value is None:
        return ""
    if isinstance(value, dict):  # <Tag attr=".."> or nested: take its text
        value = value.get("#text", "")
    return str(value).strip() if name != "Content" else str(value)


def parse_callback(xml: str) -> WeComCallback:
    """The decrypted message XML → WeComCallback; MalformedCallback when required fields are missing."""
    root = _parse_xml(xml)
    msg_type = _text(root, "MsgType").lower()
    from_user = _text(root, "FromUserName")
    if not msg_type or not from_user:
        raise MalformedCallback("MsgType and FromUserName are required")
    common = {"from_user": from_user, "create_time": _text(root, "CreateTime"), "msg_type": msg_type,
              "agent_id": _text(root, "AgentID")}
    if msg_type == "text":
        return WeComCallback(kind="text", content=_text(root, "Content"), msg_id=_text(root, "MsgId"), **common)
    if msg_type == "event":
        event = _text(root, "Event")
        if event == "template_card_event":
            task_id, code = _text(root, "TaskId"), _text(root, "ResponseCode")
            if not task_id:
                raise MalformedCallback("template_card_event without TaskId")
            return WeComCallback(kind="card_click", event=event, event_key=_text(root, "EventKey"), task_id=task_id,
                                 response_code=code, card_type=_text(root, "CardType"), **common)
        return WeComCallback(kind="event", event=event, event_key=_text(root, "EventKey"), **common)
    return WeComCallback(kind="other", msg_id=_text(root, "MsgId"), **common)
