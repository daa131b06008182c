"""The FastAPI app factory: health, REST API, and the chat platforms that are configured."""
from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.ops import mount as mount_ops  # /readyz and /metrics (docs/operations.md)
from bot import api
from bot.body_limit import BodyLimit
from bot.logs import REQUEST_ID_HEADER, SCOPE_KEY, RequestIdMiddleware
from bot.settings import Settings
from bot.wiring import Wiring, build
from crm_core.db import read_only_engine

log = logging.getLogger("chatcrm.app")

RETRY_AFTER_SECONDS = 5


def error_id(request: Request | None = None) -> str:
    """The id a caller sees for an error: the request's id (bot.logs), so it finds the log lines."""
    if request is not None and request.scope.get(SCOPE_KEY):
        return str(request.scope[SCOPE_KEY])
    return secrets.token_hex(6)


def database_unavailable(exc: BaseException) -> bool:
    """A connectivity problem (server down, connection killed, unreachable host, SQLite busy), as opposed
    to a bad statement or a constraint: those are bugs (500), this is "try again shortly" (503)."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def unavailable_response(ref: str) -> JSONResponse:
    return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS), REQUEST_ID_HEADER: ref},
                        content={"error": "database unavailable", "error_id": ref})


def install_error_handlers(app: FastAPI) -> None:
    """Every unhandled error answers JSON with an error id that is also in the log: 503 when the
    database is away, 500 otherwise. Never a bare traceback to the caller."""

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        ref = error_id(request)
        if database_unavailable(exc):
            log.error("database unavailable error_id=%s %s %s: %s", ref, request.method, request.url.path,
                      str(exc.orig).strip().splitlines()[0] if exc.orig else exc)
            return unavailable_response(ref)
        log.error("internal error error_id=%s %s %s", ref, request.method, request.url.path, exc_info=exc)
        return JSONResponse(status_code=500, content={"error": "internal error", "error_id": ref},
                            headers={REQUEST_ID_HEADER: ref})

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Runs in Starlette's outermost middleware, after RequestIdMiddleware has left: the id comes
        # from the scope and is logged explicitly (extra), so the JSON line carries it too.
        ref = error_id(request)
        log.error("internal error error_id=%s %s %s", ref, request.method, request.url.path, exc_info=exc,
                  extra={"request_id": ref})
        return JSONResponse(status_code=500, content={"error": "internal error", "error_id": ref},
                            headers={REQUEST_ID_HEADER: ref})


def create_app(settings: Settings | None = None, *, wiring: Wiring | None = None,
               prepare_database: bool = True) -> FastAPI:
    w = wiring or build(settings)
    if prepare_database:
        w.prepare_database()
    if w.settings.chatcrm_embedded_workers and not w.lifespan.embedded_workers:
        from bot.processes import embed_workers  # the deliverer + scheduler start with the app (lifespan)
        embed_workers(w)
        w.lifespan.embedded_workers = True
    elif (w.settings.slack_enabled or w.settings.wecom_enabled) and not w.lifespan.inbox_recovery_at_start:
        from bot.processes import recover_at_start  # requests a dead process acked but did not finish
        w.lifespan.on_start.append(lambda: recover_at_start(w))
        w.lifespan.inbox_recovery_at_start = True

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for start in w.lifespan.on_start:
            start()
        yield
        for stop in w.lifespan.on_stop:
            stop()

    app = FastAPI(title="chatcrm", version="0.1.0", lifespan=lifespan,
                  description="A CRM run from chat. REST API for lead capture and payment write-back.")
    app.state.wiring = w
    install_error_handlers(app)
    app.add_middleware(BodyLimit)  # 413 for bodies over 64 KiB (/api) or 1 MiB (chat callbacks), before parsing
    if w.settings.chatcrm_test_crash_after_ack:  # test-only hook (bot/crashpoint.py); inert unless set
        from bot.crashpoint import CrashAfterAck
        app.add_middleware(CrashAfterAck)
    app.add_middleware(RequestIdMiddleware)  # outermost of ours: every log line of a request carries its id
    app.include_router(api.router)
    reader = read_only_engine(w.engine)  # a health check never takes SQLite's write lock

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        try:
            with reader.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed
            ref = error_id()
            log.warning("health check: database unreachable error_id=%s: %s", ref,
                        (str(exc).strip().splitlines() or [""])[0])
            return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                                content={"status": "error", "database": "unreachable",
                                         "error": "database unavailable", "error_id": ref})
        return JSONResponse(content={"status": "ok", "database": "ok"})

    mount_ops(app, w, reader)
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
    if w.settings.wecom_aibot_enabled:  # group chats: `@bot 记录 …` (bot/wecom/aibot.py)
        from bot.wecom.aibot import mount as mount_aibot
        mount_aibot(app, w)
