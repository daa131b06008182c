"""The id of the HTTP request being served (set by bot.logs.RequestIdMiddleware), so that the reference
a person sees for an internal error is the request id the log lines carry (docs/operations.md "Logs")."""
from __future__ import annotations

import contextvars
import secrets

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("chatcrm_request_id", default=None)


def current() -> str | None:
    return request_id.get()


def error_ref(nbytes: int = 6) -> str:
    """The reference to show for an internal error: the current request's id, else a new random one."""
    return request_id.get() or secrets.token_hex(nbytes)
