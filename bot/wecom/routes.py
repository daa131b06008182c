"""GET/POST /wecom/callback, mounted only when the WECOM_* variables are set (else the routes are 404).

- GET: URL verification. The signature covers token, timestamp, nonce and echostr; the answer is the
  decrypted echo as bare text/plain (no quotes, no newline), as WeCom requires.
- POST: verify the signature over Encrypt, decrypt (a message for another corp id is refused), parse the
  XML, claim the callback's retry identity (MsgId, TaskId+ResponseCode, FromUserName+CreateTime) and write
  it to the inbox in the same transaction, then answer an empty 200 at once. The work runs after the answer
  (a background task), well inside WeCom's 5 s. A retry of a claimed callback gets the same empty 200 and
  changes nothing (it only takes the work over when the process that accepted it died).
- Refusals change nothing and are logged: a timestamp more than 5 minutes from now (a replayed capture;
  WeCom's own retries come within seconds), bad signature or undecryptable ciphertext → 401, wrong corp
  id → 403, missing query parameters or unreadable XML → 400 (WeCom retries a non-200 twice more, which
  is harmless here).
"""
from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from bot import crashpoint
from bot.wecom.crypto import parse_callback
from bot.wecom.http import open_callback
from bot.wecom.http import verify_url as verify_callback_url
from bot.wecom.runtime import WeComRuntime

log = logging.getLogger("chatcrm.wecom.routes")
PATH = "/wecom/callback"


def build_router(rt: WeComRuntime) -> APIRouter:
    router = APIRouter(tags=["wecom"], include_in_schema=False)

    @router.get(PATH)
    def verify_url(request: Request) -> Response:
        return verify_callback_url(request, rt.crypto.verify_url, "WeCom")

    @router.post(PATH)
    async def receive(request: Request, background: BackgroundTasks) -> Response:
        opened = await open_callback(request, rt.crypto.decrypt, parse_callback, rt.clock.now(), "WeCom", "XML")
        if isinstance(opened, Response):
            return opened
        cb = opened[0]
        # The callback is claimed and written to the inbox in one transaction, before the answer: a process
        # that dies after answering leaves the row for recovery (bot/wecom/inbound.py), never a lost message.
        if not await run_in_threadpool(rt.inbound.claim, cb, also=rt.handler.inbox_row(cb)):
            log.info("WeCom callback %s already handled (a retry): answered, not redone", cb.dedupe_key)
            background.add_task(rt.handler.take_over, cb.dedupe_key)  # only if its process is gone
            return Response(status_code=200)
        if rt.crash_after_ack and crashpoint.arm(True):
            return Response(status_code=200)  # test only: the process exits once this answer is out
        background.add_task(rt.handler.run_live, cb.dedupe_key)
        return Response(status_code=200)

    return router


def mount(app: FastAPI, rt: WeComRuntime) -> None:
    app.include_router(build_router(rt))
