"""WeCom's side of the callback protocol, written independently of wechatpy (cryptography + stdlib only),
so tests can encrypt callbacks exactly as WeCom does and open what the app sends back.

sha1 signature over the sorted [token, timestamp, nonce, ciphertext]; AES-256-CBC with IV = key[:16];
plaintext = random(16) + len(msg) as 4 bytes big-endian + msg + receiveid; PKCS#7 padding to 32 bytes.
"""
from __future__ import annotations

import base64
import hashlib
import os
import struct
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


class WeComServerSide:
    def __init__(self, token: str, encoding_aes_key: str, corp_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        assert len(self.key) == 32
        self.corp_id = corp_id

    def encrypt(self, msg: str, *, random16: bytes | None = None, receiveid: str | None = None) -> str:
        body = msg.encode()
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + (receiveid or self.corp_id).encode()
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def decrypt(self, b64: str) -> tuple[str, str]:
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        plain = dec.update(base64.b64decode(b64)) + dec.finalize()
        pad = plain[-1]
        assert 1 <= pad <= BLOCK and plain[-pad:] == bytes([pad]) * pad, "bad PKCS#7 padding"
        content = plain[16:-pad]
        (n,) = struct.unpack(">I", content[:4])
        return content[4:4 + n].decode(), content[4 + n:].decode()

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return signature(self.token, timestamp, nonce, encrypt)

    def verify_query(self, echo: str, timestamp: str = "1700000000", nonce: str = "123456",
                     *, bad_signature: bool = False) -> str:
        echostr = self.encrypt(echo)
        sig = self.sign(timestamp, nonce, echostr)
        if bad_signature:
            sig = "0" * 40
        return urlencode({"msg_signature": sig, "timestamp": timestamp, "nonce": nonce, "echostr": echostr})

    def callback(self, xml: str, timestamp: str = "1700000000", nonce: str = "654321", *,
                 receiveid: str | None = None, agent_id: str = "1000002",
                 bad_signature: bool = False) -> tuple[str, bytes]:
        """(query string, body) of POST /wecom/callback carrying `xml`, as WeCom sends it."""
        encrypt = self.encrypt(xml, receiveid=receiveid)
        sig = "f" * 40 if bad_signature else self.sign(timestamp, nonce, encrypt)
        body = (f"<xml><ToUserName><![CDATA[{receiveid or self.corp_id}]]></ToUserName>"
                f"<AgentID><![CDATA[{agent_id}]]></AgentID><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        return urlencode({"msg_signature": sig, "timestamp": timestamp, "nonce": nonce}), body.encode()


def text_xml(corp_id: str, from_user: str, content: str, msg_id: str, create_time: int = 1700000000,
             agent_id: str = "1000002") -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{from_user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>")


def card_event_xml(corp_id: str, from_user: str, event_key: str, task_id: str, response_code: str,
                   create_time: int = 1700000100, agent_id: str = "1000002") -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{from_user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{event_key}]]></EventKey>"
            f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><AgentID>{agent_id}</AgentID>"
            f"<SelectedItems></SelectedItems></xml>")


def enter_agent_xml(corp_id: str, from_user: str, create_time: int = 1700000200) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{from_user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[enter_agent]]></Event><EventKey><![CDATA[]]></EventKey><AgentID>1000002</AgentID></xml>")
