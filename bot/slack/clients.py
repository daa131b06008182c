"""Slack Web API clients and the ack path's own session pool: what the Bolt app (app.py) and the inbox
(inbox.py) both need. Kept apart from app.py so that the inbox, which app.py's listeners import, does not
import app.py back (tests/test_architecture.py forbids import cycles)."""
from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.wiring import Wiring
from crm_core.db import make_engine, make_session_factory


def web_client(w: Wiring, token: str | None, *, own_retries: bool = True) -> WebClient:
    """`own_retries=False` for the deliverer: it retries itself (backoff, Retry-After, recorded on the outbox
    row), so slack_sdk's built-in connection-error retry — a blocking sleep — is switched off there."""
    extra: dict[str, Any] = {} if own_retries else {"retry_handlers": []}
    return WebClient(token=token, base_url=w.settings.slack_api_url, logger=logging.getLogger("chatcrm.slack.web"),
                     timeout=w.settings.slack_timeout, **extra)  # type: ignore[arg-type] # urllib takes float s


def ack_path_sessions(w: Wiring) -> sessionmaker[Session]:
    """Sessions for what must happen before an ack, on a small pool nobody else uses."""
    if w.slack.ack_sessions is None:
        engine = make_engine(w.engine.url.render_as_string(hide_password=False), pool_size=2, max_overflow=6)
        w.slack.ack_sessions = make_session_factory(engine)
        w.lifespan.on_stop.append(engine.dispose)
    return w.slack.ack_sessions
