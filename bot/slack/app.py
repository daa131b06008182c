"""The Bolt app and its FastAPI routes.

Why the sync `App`: the CRM core is synchronous SQLAlchemy. Bolt's own FastAPI adapter would call the
blocking `App.dispatch` on the event loop (stalling every other request, and deadlocking against anything
served from the same loop); the routes here run `dispatch` in Starlette's thread pool instead.

`process_before_response=True`: the listener runs in the request's own thread and the HTTP response leaves
when it returns. Without it Bolt runs listeners on a pool and waits for `ack()` by sleeping in 10 ms steps:
every request paid up to 10 ms. Listeners here record the request, hand the work to the bounded work queue,
and ack — with the answer itself when the work is done within the budget (answer.py, inbox.py).

Start-up makes no call to Slack: `token_verification_enabled=False` moves Bolt's auth.test to the first
request (single workspace, then cached); in OAuth mode the per-workspace authorization is cached too.
"""
from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.context.context import BoltContext
from slack_bolt.middleware import Middleware
from slack_bolt.request.internals import build_context
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from bot.logs import ContextExecutor
from bot.slack import actions, commands, home, modals, reactions
from bot.slack import inbox as slack_inbox
from bot.slack.answer import WorkQueue, held_until_response, start_all
from bot.slack.clients import ack_path_sessions, web_client
from bot.slack.context import SlackContext
from bot.slack.messenger import SlackMessenger
from bot.slack.oauth import OAuthParts, bot_token_for, build_oauth
from bot.slack.escaping import unescape_incoming
from bot.slack.replay import RefuseReplays
from bot.slack.workspaces import RefuseOtherWorkspaces, WorkspaceGate, approved_in_database, request_install
from bot.wiring import Wiring
from crm_core.db import one_web_process
from crm_core.models import SentMessage

log = logging.getLogger("chatcrm.slack.app")
FORM = "application/x-www-form-urlencoded"
EVENTS_PATH = "/slack/events"


LISTENER_THREADS = 64  # Bolt's default is 10; ours only ack, so they are quick to come back
SEND_THREADS = 8  # posts to response_url, views.publish: they wait on Slack with the GIL released


def work_threads(w: Wiring) -> int:
    """Threads for the use cases after the ack: CHATCRM_SLACK_WORK_THREADS, else by database. On SQLite the
    work is CPU in this process and writes take turns anyway: with 32 users reading, 8 threads answered
    236 replies/s and 2 threads 303 (bench/ack.py, medians of seven alternated runs), the difference being
    threads handing the GIL back and forth. Two, not one, so that a use case waiting on another process's
    write lock (the scheduler's, a worker's) does not hold up every read. On PostgreSQL each use case also waits on the
    database's round trips, so more threads keep the CPU busy."""
    chosen = w.settings.chatcrm_slack_work_threads
    if chosen is not None:
        return chosen
    return 2 if w.engine.dialect.name == "sqlite" else 8


def send_threads(w: Wiring) -> int:
    """Threads for what the work sends to Slack, apart from the work: SEND_THREADS when there are fewer work
    threads than that, so that a slow Slack answering one person does not hold up everyone's command; else
    none, and each work thread sends its own (on PostgreSQL, 8 work threads: a separate pool measured slower,
    113 against 103 writes/s at 32 users, medians of four alternated runs of bench/ack.py --pg)."""
    return SEND_THREADS if work_threads(w) < SEND_THREADS else 0


def build_slack_app(w: Wiring, *, listener_executor: Executor | None = None) -> App:
    s = w.settings
    # Listener threads only ack; the work after the ack runs on a small pool of its own (fewer threads
    # fighting for the GIL keeps acks quick), and what it sends to Slack on another (answer.py). Tests pass
    # an inline executor and get all three inline.
    work_executor = w.slack.work_executor or (listener_executor if listener_executor is not None else
                                              ThreadPoolExecutor(max_workers=work_threads(w),
                                                                 thread_name_prefix="slack-work"))
    send_executor = w.slack.send_executor or (None if listener_executor is not None or not send_threads(w) else
                                              ThreadPoolExecutor(max_workers=send_threads(w),
                                                                 thread_name_prefix="slack-send"))
    listener_executor = listener_executor or ThreadPoolExecutor(max_workers=LISTENER_THREADS,
                                                                thread_name_prefix="slack-listener")
    # The pools run tasks in the submitting request's context: log lines and error references of the work
    # carry the HTTP request id (bot/logs.py, docs/operations.md "Logs").
    listener_executor, work_executor = ContextExecutor(listener_executor), ContextExecutor(work_executor)
    queue = WorkQueue(work_executor, s.chatcrm_slack_queue,
                      sends=ContextExecutor(send_executor) if send_executor is not None else None)
    oauth: OAuthParts | None = None
    gate = WorkspaceGate.from_settings(s)  # only invited workspaces get in (workspaces.py)
    w.slack.workspaces = gate
    if s.slack_oauth_enabled:
        client = web_client(w, None)
        oauth = build_oauth(s, w.engine, client, gate=gate)
        gate.approved = approved_in_database(w.session_factory)  # workspaces an admin approved in chat
        oauth.installation_store.on_request = functools.partial(request_install, w)
        bolt = App(name="chatcrm", signing_secret=s.slack_signing_secret, client=client,
                   installation_store=oauth.installation_store, authorize=oauth.authorize,
                   oauth_settings=oauth.settings, listener_executor=listener_executor,
                   process_before_response=True, logger=logging.getLogger("chatcrm.slack.bolt"))
        bolt.enable_token_revocation_listeners()
        w.slack.oauth = oauth
    else:
        bolt = App(name="chatcrm", signing_secret=s.slack_signing_secret, client=web_client(w, s.slack_bot_token),
                   token_verification_enabled=False, listener_executor=listener_executor,
                   process_before_response=True, logger=logging.getLogger("chatcrm.slack.bolt"))
    in_memory = one_web_process(w.engine)
    # Before an ack (the inbox row, the replay claim): SQLite's one connection pool; elsewhere a pool of its own,
    # so that an ack never waits for a connection the work holds (clients.py).
    ack_sessions = w.session_factory if in_memory else ack_path_sessions(w)
    ctx = SlackContext(w, work=work_executor, workspaces=gate, queue=queue, ack_sessions=ack_sessions,
                       client_for=functools.partial(slack_inbox.client_for_team, w))
    queue.drain = functools.partial(slack_inbox.drain, ctx)  # requests that found the queue full
    w.slack.ctx = ctx  # inbox recovery (bot/processes.py) answers through the same context

    # Behind Bolt's signature check (replay.py); SQLite is one process, so its memory of signatures is enough.
    # Elsewhere the claim runs before the ack, so it gets a pool of its own: it must never wait for a
    # connection held by work done after other requests' acks (bench/ack.py showed that tail).
    # Each is a `Middleware` subclass: Bolt calls a function middleware through its keyword-argument
    # injection, which builds every argument a listener could ask for, on every request.
    bolt.use(RefuseOtherWorkspaces(gate))  # first: a stranger's request writes nothing at all
    bolt.use(UnescapeText())
    bolt.use(RefuseReplays(ack_sessions, w.clock, in_memory=in_memory))
    bolt.use(AttachContext(ctx))
    # Bolt tries the listeners in the order they are registered, and each try builds every argument a
    # listener could ask for (~20 µs). The slash command first; then the events, the bulk of what Slack
    # sends (a reaction anywhere in a channel the bot is in); clicks, options and form submissions after.
    commands.register(bolt, ctx)
    home.register(bolt, ctx)
    reactions.register(bolt, ctx)
    if oauth is None:  # OAuth mode: Bolt's token revocation listeners handle these two

        @bolt.event(re.compile("^(app_uninstalled|tokens_revoked)$"))
        def on_uninstalled(event: dict[str, Any]) -> None:
            log.warning("slack: %s — the bot token no longer works; reinstall the app", event.get("type"))
            ctx.home_views.forget_all()  # a reinstalled app's Home tab starts empty

    actions.register(bolt, ctx)
    modals.register(bolt, ctx)
    return bolt


class UnescapeText(Middleware):
    """Slack's `&amp;` `&lt;` `&gt;` in command and message text, undone once before any listener (escaping.py)."""

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002 - Bolt's name
        unescape_incoming(req.body)
        return next()


class AttachContext(Middleware):
    """The SlackContext in Bolt's context, for `guarded`'s error path (context.py)."""

    def __init__(self, ctx: SlackContext) -> None:
        self._ctx = ctx

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002 - Bolt's name
        req.context["chatcrm"] = self._ctx
        return next()


def bolt_request(raw: str, query: str, headers: dict[str, str]) -> BoltRequest:
    """A BoltRequest whose body is parsed correctly. Bolt treats any form body containing the letters
    "payload" as an interactivity payload, so `/crm log D-1 note payload is late` would reach no listener;
    a form body without a `payload` field is re-parsed as the plain form it is."""
    req = BoltRequest(body=raw, query=query, headers=headers)
    if (req.content_type or "").startswith(FORM) and "payload" in raw and not raw.startswith("{"):
        fields = dict(parse_qsl(raw, keep_blank_values=True))
        body = json.loads(fields["payload"]) if "payload" in fields else fields
        if body != req.body:
            req.body = body
            req.context = build_context(BoltContext({}), body)
    return req


def mount(api: FastAPI, w: Wiring) -> App:
    """POST /slack/events always; GET /slack/install and /slack/oauth_redirect only in OAuth mode."""
    bolt = build_slack_app(w, listener_executor=w.slack.listener_executor)
    w.slack.app = bolt

    async def slack_events(request: Request) -> Response:
        if not well_formed_signature_headers(request.headers):
            return JSONResponse(status_code=401, content={"error": "invalid request"})
        raw = (await request.body()).decode("utf-8", errors="replace")  # not UTF-8: the signature fails
        req = bolt_request(raw, request.url.query, dict(request.headers))
        with held_until_response() as held:  # the context is copied into the thread: the same list
            response = to_starlette_response(await run_in_threadpool(bolt.dispatch, req))
        if held:  # on the event loop, once the response has been handed to the socket (a submit each)
            response.background = BackgroundTask(_start_after_response, list(held))
        return response

    api.add_api_route(EVENTS_PATH, slack_events, methods=["POST"], include_in_schema=False)
    flow = bolt.oauth_flow
    if flow is not None:
        async def slack_install(request: Request) -> Response:
            req = bolt_request("", request.url.query, dict(request.headers))
            return to_starlette_response(await run_in_threadpool(flow.handle_installation, req))

        async def slack_oauth_redirect(request: Request) -> Response:
            req = bolt_request("", request.url.query, dict(request.headers))
            return to_starlette_response(await run_in_threadpool(flow.handle_callback, req))

        api.add_api_route(flow.install_path, slack_install, methods=["GET"], include_in_schema=False)
        api.add_api_route(flow.redirect_uri_path, slack_oauth_redirect, methods=["GET"], include_in_schema=False)
    return bolt


async def _start_after_response(held: list[Callable[[], None]]) -> None:
    start_all(held)  # async so that Starlette runs it on the loop, not through another thread hop


def well_formed_signature_headers(headers: Any) -> bool:
    """Bolt's verifier answers 500 to a non-numeric X-Slack-Request-Timestamp (its int() raises): refuse a
    missing or malformed timestamp or a missing signature here, with the 401 Bolt gives a bad signature."""
    ts = (headers.get("x-slack-request-timestamp") or "").strip()
    return ts.isascii() and ts.isdigit() and len(ts) <= 12 and bool((headers.get("x-slack-signature") or "").strip())


def slack_messenger(w: Wiring) -> SlackMessenger | None:
    """The deliverer's SlackMessenger for this process (None when Slack is not configured)."""
    s = w.settings
    if not (s.slack_bot_token or s.slack_oauth_enabled):
        return None
    if s.slack_oauth_enabled:
        oauth = w.slack.oauth
        if oauth is None:
            oauth = build_oauth(s, w.engine, web_client(w, None))
            w.slack.oauth = oauth
        store = oauth.installation_store
        # Each message with its workspace's bot token (see bot.slack.messenger for how the team is found).
        return SlackMessenger(lambda team: web_client(w, bot_token_for(store, team), own_retries=False),
                              channel_team=functools.partial(channel_team, w.session_factory))
    client = web_client(w, s.slack_bot_token, own_retries=False)
    return SlackMessenger(lambda team: client)


def channel_team(session_factory: sessionmaker[Session], channel: str) -> str | None:
    """The workspace of a Slack channel the deliverer created or posted to, as stored with its first
    delivery there (sent_messages.extra["team"]); None when never recorded (then: the newest installation).
    The messenger asks once per channel per process, and not at all for channels it created itself."""
    with session_factory() as session:
        extra = session.scalar(select(SentMessage.extra).where(
            SentMessage.platform == "slack", SentMessage.channel == channel).order_by(SentMessage.id).limit(1))
    team = (extra or {}).get("team")
    return str(team) if team else None


__all__ = ["build_slack_app", "mount", "slack_messenger", "bolt_request"]
