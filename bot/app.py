"""The FastAPI app factory: health, REST API, and the chat platforms that are configured."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot import api
from bot.settings import Settings
from bot.wiring import Wiring, build

log = logging.getLogger("chatcrm.app")


def create_app(settings: Settings | None = None, *, wiring: Wiring | None = None,
               prepare_database: bool = True) -> FastAPI:
    w = wiring or build(settings)
    if prepare_database:
        w.prepare_database()
    if w.settings.chatcrm_embedded_workers and not w.extras.get("embedded_workers"):
        from bot.processes import embed_workers  # the deliverer + scheduler start with the app (lifespan)
        embed_workers(w)
        w.extras["embedded_workers"] = True
    elif (w.settings.slack_enabled or w.settings.wecom_enabled) and not w.extras.get("inbox_recovery_at_start"):
        from bot.processes import recover_at_start  # requests a dead process acked but did not finish
        w.extras.setdefault("on_start", []).append(lambda: recover_at_start(w))
        w.extras["inbox_recovery_at_start"] = True

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for start in w.extras.get("on_start", []):
            start()
        yield
        for stop in w.extras.get("on_stop", []):
            stop()

    app = FastAPI(title="chatcrm", version="0.1.0", lifespan=lifespan,
                  description="A CRM run from chat. REST API for lead capture and payment write-back.")
    app.state.wiring = w
    if w.settings.chatcrm_test_crash_after_ack:  # test-only hook (bot/crashpoint.py); inert unless set
        from bot.crashpoint import CrashAfterAck
        app.add_middleware(CrashAfterAck)
    app.include_router(api.router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        try:
            with w.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed
            log.warning("health check: database unreachable: %s", exc)
            return JSONResponse(status_code=503, content={"status": "error", "database": "unreachable"})
        return JSONResponse(content={"status": "ok", "database": "ok"})

    _mount_platforms(app, w)
    return app


def _mount_platforms(app: FastAPI, w: Wiring) -> None:
    """Each chat platform adds its routes here when configured; unconfigured routes answer 404."""
    if w.settings.slack_enabled:
        from bot.slack.app import mount as mount_slack
        mount_slack(app, w)
    if w.settings.wecom_enabled:
        from bot.wecom.routes import mount as mount_wecom
        from bot.wecom.runtime import wecom_runtime
        rt = wecom_runtime(w)
        assert rt is not None
        mount_wecom(app, rt)
