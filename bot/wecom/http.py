"""What both WeCom callback routes (the app's /wecom/callback and the AI bot's /wecom/aibot) answer alike:
URL verification, and who sent a refused request (for the log)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from bot.wecom.crypto import CallbackRefused, MalformedCallback, check_fresh

T = TypeVar("T")

log = logging.getLogger("chatcrm.wecom.routes")


def peer(request: Request) -> str:
    return request.client.host if request.client else "?"


def verify_url(request: Request, verify: Callable[[str, str, str, str], str], what: str) -> Response:
    """GET …?msg_signature&timestamp&nonce&echostr: the decrypted echo as bare text (WeCom requires it so);
    a missing parameter 400, a bad signature 401 (CallbackRefused's status), logged with `what` was asked."""
    q = request.query_params
    params = [q.get(k, "") for k in ("msg_signature", "timestamp", "nonce", "echostr")]
    if not all(params):
        log.warning("%s URL verification refused: missing query parameters", what)
        return PlainTextResponse("missing msg_signature, timestamp, nonce or echostr", status_code=400)
    try:
        echo = verify(*params)
    except CallbackRefused as exc:
        log.warning("%s URL verification refused (%s) from %s", what, exc.reason, peer(request))
        return PlainTextResponse("", status_code=exc.status)
    return PlainTextResponse(echo)


async def open_callback(request: Request, decrypt: Callable[[bytes, str, str, str], Any], parse: Callable[[Any], T],
                        now: datetime, what: str, form: str) -> tuple[T, str, str] | Response:
    """POST …?msg_signature&timestamp&nonce: the message (`parse` of what `decrypt` opened) with its nonce and
    timestamp (a passive reply is sealed with them); or the refusal to answer, which changed nothing — 400
    for a missing parameter or an unreadable message, 401/403 for a bad signature, a stale timestamp (a
    replayed capture) or another corp's message."""
    q = request.query_params
    signature, timestamp, nonce = (q.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
    if not (signature and timestamp and nonce):
        log.warning("%s callback refused: missing msg_signature, timestamp or nonce", what)
        return Response(status_code=400)
    body = await request.body()
    try:
        opened = decrypt(body, signature, timestamp, nonce)  # the signature covers the timestamp: check it first
        check_fresh(timestamp, now)
        message = parse(opened)
    except CallbackRefused as exc:
        log.warning("%s callback refused (%s) from %s", what, exc.reason, peer(request))
        return Response(status_code=exc.status)
    except MalformedCallback as exc:
        log.warning("%s callback refused: malformed %s (%s) from %s", what, form, exc, peer(request))
        return Response(status_code=400)
    return message, nonce, timestamp
