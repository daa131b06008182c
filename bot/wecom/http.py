"""What both WeCom callback routes (the app's /wecom/callback and the AI bot's /wecom/aibot) answer alike:
URL verification, and who sent a refused request (for the log)."""
from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from bot.wecom.crypto import CallbackRefused

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
