"""Every request body is bounded before anything parses it: 64 KiB for the REST API, 1 MiB for chat callbacks."""
from __future__ import annotations

from fastapi import status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cards.operator import operator_texts

API_BODY_MAX = 64 * 1024       # bytes of one /api/* request body
CHAT_BODY_MAX = 1024 * 1024    # bytes of any other request body (Slack, WeCom callbacks)


class BodyLimit:
    """Pure ASGI middleware: a body over the limit is answered 413 (JSON) before anything parses it.

    Not FastAPI's own `max_body_size` (app, router or route): that limit answers 413 with a plain-text
    "Content Too Large" from inside the route, which no exception handler can reshape, and the REST API's
    errors are JSON with a message in both languages (tests/bot/test_api.py).

    It reads the body itself (Content-Length first, so a declared 10 MB upload is refused unread) and
    hands the buffered body on, so chunked uploads without a Content-Length are bounded too.
    """

    def __init__(self, app: ASGIApp, *, api_max: int = API_BODY_MAX, other_max: int = CHAT_BODY_MAX) -> None:
        self.app, self.api_max, self.other_max = app, api_max, other_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.api_max if scope.get("path", "").startswith("/api/") else self.other_max
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or len(declared) > 15 or int(declared) > limit):
            await self._too_large(send, limit)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _too_large(send: Send, limit: int) -> None:
        texts = operator_texts("http.too_large", limit=limit)
        await JSONResponse(status_code=status.HTTP_413_CONTENT_TOO_LARGE, content={
            "error": "too_large", "message": texts["en"], "message_zh": texts["zh_CN"]})({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
