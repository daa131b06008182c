"""Log format of the long-running processes (docs/operations.md "Logs") and the request id.

CHATCRM_LOG_FORMAT=text (default): `time LEVEL logger: message`. CHATCRM_LOG_FORMAT=json: one JSON object
a line with `time`, `level`, `logger`, `message`, `request_id` (while an HTTP request is being served),
and `exc_type` / `exc_message` / `traceback` when the record carries an exception.

Every HTTP request gets an id (RequestIdMiddleware): the caller's `X-Request-Id` when it is a short,
printable token, else a new one. It is echoed in the response's `X-Request-Id`, added to every log line
written while serving the request, and used as the `error_id` a caller sees on a 500 or 503 and as the
reference a chat user sees on an internal error, so the id a person reports finds the log line.

A small stdlib formatter rather than python-json-logger: the record → dict mapping is a dozen lines, and
one dependency fewer in every container image.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from concurrent.futures import Executor, Future

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers.request_id import current as current_request_id
from handlers.request_id import error_ref, request_id

REQUEST_ID_HEADER = "X-Request-Id"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SCOPE_KEY = "chatcrm.request_id"  # also kept in the ASGI scope: the 500 handler runs outside this middleware

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName",
                                                                          "color_message"}  # uvicorn's ANSI copy


def new_id() -> str:
    return secrets.token_hex(6)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (None outside a request), for any formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        for key, value in vars(record).items():  # extra={...} fields
            if key not in _STANDARD and key not in out and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            out["exc_type"] = type(exc).__name__
            out["exc_message"] = str(exc)
            out["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    """Root logging of a long-running process (serve, worker, scheduler): one handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RequestIdFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's own lines in the same format
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True


class ContextExecutor(Executor):
    """Runs each task in a copy of the submitter's context (as asyncio's to_thread does), so work handed to
    a thread pool after the ack (Bolt's listener threads, the Slack work pool) keeps the request id."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self.inner.submit(contextvars.copy_context().run, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


class RequestIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware: the contextvar must reach the endpoint and exception handlers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                given = value.decode("latin-1").strip()
                break
        rid = given if _ACCEPTABLE.match(given) else new_id()
        scope[SCOPE_KEY] = rid
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


__all__ = ["REQUEST_ID_HEADER", "ContextExecutor", "JsonFormatter", "RequestIdFilter", "RequestIdMiddleware", "configure",
           "current_request_id", "error_ref", "formatter", "new_id", "request_id"]
