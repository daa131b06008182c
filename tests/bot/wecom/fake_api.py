"""A local fake of the WeCom API (qyapi.weixin.qq.com/cgi-bin/), in its own thread on 127.0.0.1.

It records every call and answers the way WeCom does (reference: /work/shared/reference/wecom.md §4):
gettoken, message/send (text, markdown, template_card), message/update_template_card (single-use
response codes), appchat/create|send|update|get, user/get. On demand it answers 42001 (token expired)
once, and 45009 / 45033 (rate limits) for the next n calls.
"""
from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_TASK_ID = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
_CHAT_ID = re.compile(r"^[0-9a-zA-Z]{1,32}$")


@dataclass
class Call:
    method: str
    endpoint: str  # "message/send"
    query: dict[str, str]
    body: dict[str, Any] | None
    answer: dict[str, Any] = field(default_factory=dict)


class FakeWeCom:
    def __init__(self, corp_id: str, secret: str, agent_id: int, users: dict[str, str]) -> None:
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id
        self.users = {k.lower(): (k, v) for k, v in users.items()}  # userids are case-insensitive
        self.calls: list[Call] = []
        self.chats: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}  # response_code -> {"task_id", "userid", "used"}
        self.tasks: dict[str, str] = {}  # task_id -> userid
        self.media: dict[str, dict[str, Any]] = {}  # media_id -> {type, filename, content_type, data}
        self._token: str | None = None
        self._seq = itertools.count(1)
        self._expire_next = 0
        self._limited: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-wecom", daemon=True)

    # --- lifecycle --------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/cgi-bin/"

    def start(self) -> "FakeWeCom":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # --- knobs for tests --------------------------------------------------------------------------------

    def expire_token_once(self, times: int = 1) -> None:
        """The next API call answers 42001 and the token it carried stops working (`times` calls in a row)."""
        self._expire_next += times

    def rate_limit(self, times: int = 1, code: int = 45009) -> None:
        self._limited += [code] * times

    def click(self, task_id: str) -> str:
        """A person clicked a button of card `task_id`: WeCom issues a fresh response code for the callback."""
        with self._lock:
            code = f"RCclick{next(self._seq)}"
            self.codes[code] = {"task_id": task_id, "userid": self.tasks.get(task_id), "used": False}
            return code

    # --- what was received ------------------------------------------------------------------------------

    def called(self, endpoint: str) -> list[Call]:
        return [c for c in self.calls if c.endpoint == endpoint]

    def ok_calls(self, endpoint: str) -> list[Call]:
        return [c for c in self.called(endpoint) if c.answer.get("errcode") == 0]

    def sent_to(self, userid: str) -> list[dict[str, Any]]:
        """message/send bodies that reached `userid`."""
        return [c.body for c in self.ok_calls("message/send")
                if c.body and userid.lower() in [u.lower() for u in str(c.body.get("touser", "")).split("|")]]

    def cards_to(self, userid: str) -> list[dict[str, Any]]:
        return [b["template_card"] for b in self.sent_to(userid) if b.get("msgtype") == "template_card"]

    def texts_to(self, userid: str) -> list[str]:
        return [b["markdown"]["content"] if b.get("msgtype") == "markdown" else b.get("text", {}).get("content", "")
                for b in self.sent_to(userid) if b.get("msgtype") in ("markdown", "text")]

    def posted_to(self, chatid: str) -> list[str]:
        return [c.body["markdown"]["content"] if c.body.get("msgtype") == "markdown" else c.body["text"]["content"]
                for c in self.ok_calls("appchat/send") if c.body and c.body.get("chatid") == chatid]

    def updates(self) -> list[dict[str, Any]]:
        return [c.body for c in self.ok_calls("message/update_template_card") if c.body]

    # --- the API ----------------------------------------------------------------------------------------

    def answer(self, method: str, endpoint: str, query: dict[str, str], body: dict[str, Any] | None) -> dict[str, Any]:
        with self._lock:
            call = Call(method, endpoint, query, body)
            self.calls.append(call)
            call.answer = self._answer(endpoint, query, body)
            return call.answer

    def _answer(self, endpoint: str, query: dict[str, str], body: dict[str, Any] | None) -> dict[str, Any]:
        if endpoint == "gettoken":
            if query.get("corpid") != self.corp_id:
                return _err(40013, "invalid corpid")
            if query.get("corpsecret") != self.secret:
                return _err(40001, "invalid credential")
            self._token = f"TOKEN{next(self._seq)}"
            return {"errcode": 0, "errmsg": "ok", "access_token": self._token, "expires_in": 7200}
        token = query.get("access_token")
        if not token:
            return _err(41001, "access_token missing")
        if token != self._token:
            return _err(40014, "invalid access_token")
        if self._expire_next:
            self._expire_next -= 1
            self._token = None
            return _err(42001, "access_token expired")
        if self._limited:
            code = self._limited.pop(0)
            return _err(code, "api freq out of limit" if code == 45009 else "api concurrent out of limit")
        handler = getattr(self, "_" + endpoint.replace("/", "_"), None)
        if handler is None:
            return _err(404, f"no such endpoint {endpoint}")
        return handler(query, body or {})

    def _media_upload(self, q: dict[str, str], b: dict[str, Any]) -> dict[str, Any]:
        kind = q.get("type")
        if kind not in ("image", "voice", "video", "file"):
            return _err(40004, "invalid media type")
        media = b.get("_files", {}).get("media")
        if not media or not media.get("filename"):
            return _err(41005, "media data missing")
        size = len(media["data"] or b"")
        if size < 5 or size > (10 if kind == "image" else 20) * 1024 * 1024:
            return _err(40006, "invalid file size")
        media_id = f"MEDIA{next(self._seq)}"
        self.media[media_id] = {"type": kind, **media}
        return {"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id, "created_at": "1700000000"}

    def files_to(self, userid: str) -> list[dict[str, Any]]:
        """The uploaded media ({type, filename, content_type, data}) sent to `userid` as file/image messages."""
        return [self.media[b[b["msgtype"]]["media_id"]] for b in self.sent_to(userid)
                if b.get("msgtype") in ("file", "image")]

    def _message_send(self, _q: dict[str, str], b: dict[str, Any]) -> dict[str, Any]:
        if b.get("agentid") != self.agent_id:
            return _err(40056, "invalid agentid")
        msgtype = b.get("msgtype")
        if msgtype not in ("text", "markdown", "template_card", "file", "image"):
            return _err(40008, "invalid message type")
        if msgtype in ("file", "image"):
            media = self.media.get(str(b.get(msgtype, {}).get("media_id")))
            if media is None or media["type"] != msgtype:
                return _err(40007, "invalid media_id")
        if msgtype in ("text", "markdown"):
            content = b.get(msgtype, {}).get("content", "")
            if not content:
                return _err(44004, "empty content")
            if len(content.encode()) > 2048:
                return _err(45002, "content size out of limit")
        touser = [u for u in str(b.get("touser", "")).split("|") if u]
        invalid = [u.lower() for u in touser if u.lower() not in self.users]
        if touser and len(invalid) == len(touser):
            return _err(81013, "user & party & tag all invalid")
        out: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "invalidparty": "",
                               "invalidtag": "", "unlicenseduser": "", "msgid": f"msg{next(self._seq)}"}
        if msgtype == "template_card":
            card = b.get("template_card", {})
            problem = _check_card(card)
            if problem:
                return _err(40058, problem)
            if card["task_id"] in self.tasks:
                return _err(40058, "task_id already exists")
            self.tasks[card["task_id"]] = touser[0] if touser else ""
            code = f"RCsend{next(self._seq)}"
            self.codes[code] = {"task_id": card["task_id"], "userid": touser[0] if touser else "", "used": False}
            out["response_code"] = code
        return out

    def _message_update_template_card(self, _q: dict[str, str], b: dict[str, Any]) -> dict[str, Any]:
        if b.get("agentid") != self.agent_id:
            return _err(40056, "invalid agentid")
        code = self.codes.get(str(b.get("response_code")))
        if code is None or code["used"]:
            return _err(40058, "invalid response_code")
        if ("button" in b) == ("template_card" in b):
            return _err(40058, "give either button or template_card")
        if "template_card" in b:
            problem = _check_card(b["template_card"])
            if problem:
                return _err(40058, problem)
        code["used"] = True
        invalid = [u for u in b.get("userids", []) if u.lower() not in self.users]
        return {"errcode": 0, "errmsg": "ok", "invaliduser": invalid}

    def _appchat_create(self, _q: dict[str, str], b: dict[str, Any]) -> dict[str, Any]:
        chatid = b.get("chatid") or f"wr{next(self._seq)}"
        if not _CHAT_ID.match(chatid):
            return _err(86001, "invalid chatid")
        if chatid in self.chats:
            return _err(86215, "chatid already exists")
        members = b.get("userlist") or []
        if not 2 <= len(members) <= 2000:
            return _err(86006, "chat member count invalid")
        if any(m.lower() not in self.users for m in members):
            return _err(86216, "invalid member")
        if b.get("owner") and b["owner"] not in members:
            return _err(86005, "invalid owner")
        self.chats[chatid] = {"name": b.get("name", ""), "owner": b.get("owner") or members[0], "userlist": list(members)}
        return {"errcode": 0, "errmsg": "ok", "chatid": chatid}

    def _appchat_send(self, _q: dict[str, str], b: dict[str, Any]) -> dict[str, Any]:
        if b.get("chatid") not in self.chats:
            return _err(86003, "chat not found")
        msgtype = b.get("msgtype")
        if msgtype not in ("text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown"):
            return _err(40008, "invalid message type")
        content = b.get(msgtype, {}).get("content", "")
        if msgtype in ("text", "markdown") and len(content.encode()) > 2048:
            return _err(45002, "content size out of limit")
        return {"errcode": 0, "errmsg": "ok"}

    def _appchat_update(self, _q: dict[str, str], b: dict[str, Any]) -> dict[str, Any]:
        chat = self.chats.get(b.get("chatid", ""))
        if chat is None:
            return _err(86003, "chat not found")
        if b.get("name"):
            chat["name"] = b["name"]
        chat["userlist"] += [u for u in b.get("add_user_list", []) if u not in chat["userlist"]]
        chat["userlist"] = [u for u in chat["userlist"] if u not in b.get("del_user_list", [])]
        return {"errcode": 0, "errmsg": "ok"}

    def _appchat_get(self, q: dict[str, str], _b: dict[str, Any]) -> dict[str, Any]:
        chat = self.chats.get(q.get("chatid", ""))
        if chat is None:
            return _err(86003, "chat not found")
        return {"errcode": 0, "errmsg": "ok", "chat_info": {"chatid": q["chatid"], **chat}}

    def _user_get(self, q: dict[str, str], _b: dict[str, Any]) -> dict[str, Any]:
        found = self.users.get(q.get("userid", "").lower())
        if found is None:
            return _err(60111, "userid not found")
        userid, name = found
        # Since 2022-06-20 self-built apps get no avatar, gender, mobile, email or address.
        return {"errcode": 0, "errmsg": "ok", "userid": userid, "name": name, "department": [1], "position": "",
                "status": 1, "main_department": 1, "isleader": 0, "enable": 1}

    # --- HTTP plumbing ----------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                if not parts.path.startswith("/cgi-bin/"):
                    self.send_error(404)
                    return
                endpoint = parts.path[len("/cgi-bin/"):]
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                body = None
                if method == "POST":
                    raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    ctype = self.headers.get("Content-Type", "")
                    if ctype.startswith("multipart/form-data"):  # media/upload
                        body = {"_files": _multipart(ctype, raw)}
                    else:
                        body = json.loads(raw.decode("utf-8")) if raw else {}
                data = json.dumps(fake.answer(method, endpoint, query, body), ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _multipart(ctype: str, raw: bytes) -> dict[str, dict[str, Any]]:
    """form field name -> {filename, content_type, data} of a multipart/form-data body."""
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
    out: dict[str, dict[str, Any]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out[str(name)] = {"filename": part.get_filename(), "content_type": part.get_content_type(),
                          "data": part.get_payload(decode=True)}
    return out


def _err(code: int, msg: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": f"{msg}, hint: [fake], more info at https://open.work.weixin.qq.com/devtool/query?e={code}"}


def _check_card(card: dict[str, Any]) -> str | None:
    if card.get("card_type") != "button_interaction":
        return "only button_interaction cards in this fake"
    if not _TASK_ID.match(str(card.get("task_id", ""))) or len(str(card["task_id"]).encode()) > 128:
        return "invalid task_id"
    buttons = card.get("button_list") or []
    if not 1 <= len(buttons) <= 6:
        return "button_list needs 1 to 6 buttons"
    keys = [b.get("key", "") for b in buttons]
    if any(not k or len(k.encode()) > 1024 for k in keys) or len(set(keys)) != len(keys):
        return "button keys must be unique, 1-1024 bytes"
    if len(card.get("horizontal_content_list") or []) > 6:
        return "horizontal_content_list allows 6 items"
    if not card.get("main_title", {}).get("title"):
        return "main_title.title required"
    return None
