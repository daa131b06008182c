"""TEST ONLY: `CHATCRM_TEST_CRASH_AFTER_ACK=1` makes the process die between the ack and the work.

tests/reliability/test_kill_after_ack.py uses it to prove that inbound work is durable: the Slack or WeCom
adapter records the request in the inbox, then calls `arm()` instead of starting the work; the ASGI
middleware below lets the acknowledgement go out to the platform completely and then ends the process
with `os._exit` (no clean-up, no lifespan shutdown — as a kill would). Without the variable nothing here is
installed or armed: `create_app` only adds the middleware when the setting is on.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any

log = logging.getLogger("chatcrm.crashpoint")
EXIT_CODE = 86
_armed = threading.Event()


def arm(enabled: bool) -> bool:
    """True (and the process will die after this response) when the test hook is on. Callers test the
    setting first, so a normal request never runs code of this module."""
    if enabled:
        log.warning("CHATCRM_TEST_CRASH_AFTER_ACK: the process exits after this acknowledgement")
        _armed.set()
    return enabled


class CrashAfterAck:
    """ASGI middleware: once a response has been sent in full while armed, exit at once."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return

        async def send_then_maybe_die(message: dict[str, Any]) -> None:
            await send(message)
            if message.get("type") == "http.response.body" and not message.get("more_body") and _armed.is_set():
                os._exit(EXIT_CODE)

        await self.app(scope, receive, send_then_maybe_die)
