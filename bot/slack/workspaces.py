"""Which Slack workspaces the CRM serves, and the refusal of every other one.

Single-workspace mode (SLACK_BOT_TOKEN) serves its own workspace only: `SLACK_TEAM_ID` when set, else the
team (or, for an Enterprise Grid org-wide install, the enterprise) that `auth.test` reports for the bot
token. Bolt calls auth.test through SLACK_API_URL on the first request (then caches it), so start-up still
makes no call to Slack. OAuth mode (SLACK_CLIENT_ID/SECRET) serves the ids in `SLACK_ALLOWED_TEAMS` and
those an admin approved in chat (`workspace approve T…`), nobody else, and installs only those (oauth.py);
an install from another workspace is recorded as pending and the admins are asked (handlers/workspaces.py).

A request from any other workspace is refused by a Bolt middleware that runs after the signature check and
before any listener: a slash command is answered with an ephemeral text, a click or shortcut gets that
text at its response_url, an event a plain 200. It is logged, and nothing else happens: no CRM user is
created, no identity touched, no handler run, no idempotency key or event id claimed.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk.webhook import WebhookClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from cards.builders.workspaces import refused_text
from crm_core.models import ChatWorkspace
from crm_core.services.workspaces import do_request_workspace, workspace_status

if TYPE_CHECKING:
    from bot.shared import Shared

log = logging.getLogger("chatcrm.slack.workspaces")
PLATFORM = "slack"
RESPOND_TIMEOUT = 2  # seconds; the refusal is a courtesy and must not hold the ack


@dataclass
class WorkspaceGate:
    oauth: bool
    configured: tuple[str, ...] = ()  # SLACK_TEAM_ID (single) or SLACK_ALLOWED_TEAMS (OAuth)
    _learned: str | None = None  # single mode without SLACK_TEAM_ID: the bot token's workspace (auth.test)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # OAuth mode: workspaces an admin approved in chat (chat_workspaces), looked up when not in the settings
    approved: Callable[[list[str]], bool] | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> "WorkspaceGate":
        if s.slack_oauth_enabled:
            gate = cls(oauth=True, configured=s.slack_allowed_team_ids)
            if not gate.configured:
                log.warning("slack: SLACK_ALLOWED_TEAMS is empty — no workspace can install or use the app")
            return gate
        return cls(oauth=False, configured=(s.slack_team_id.strip(),) if (s.slack_team_id or "").strip() else ())

    def learn(self, authorize_result: Any) -> None:
        """Single mode: remember the bot token's workspace from Bolt's (cached) auth.test result."""
        if self.oauth or self.configured or self._learned or authorize_result is None:
            return
        own = authorize_result.get("team_id") or authorize_result.get("enterprise_id")
        if own:
            with self._lock:
                self._learned = str(own)
            log.info("slack: serving workspace %s (from auth.test)", own)

    @property
    def allowed(self) -> tuple[str, ...]:
        if self.configured:
            return self.configured
        return (self._learned,) if self._learned else ()

    def admits(self, team_id: str | None, enterprise_id: str | None) -> bool:
        """A workspace is served when its team id — or its Grid enterprise id — is an allowed id (OAuth: or
        one an admin approved)."""
        allowed = self.allowed
        if (team_id and team_id in allowed) or (enterprise_id and enterprise_id in allowed):
            return True
        ids = [i for i in (team_id, enterprise_id) if i]
        return bool(self.oauth and ids and self.approved is not None and self.approved(ids))

    def admits_installation(self, team_id: str | None, enterprise_id: str | None) -> bool:
        return self.admits(team_id, enterprise_id)

    @property
    def binding_team(self) -> str | None:
        """The workspace a configured Slack id (stored without a team) belongs to: single mode's own
        workspace, the first allowed id in OAuth mode; None: whichever workspace it is first seen in."""
        allowed = self.allowed
        return allowed[0] if allowed else None


def approved_in_database(session_factory: sessionmaker[Session]) -> Callable[[list[str]], bool]:
    """A lookup of approved workspaces (one indexed query, only for ids not invited in the settings)."""

    def approved(ids: list[str]) -> bool:
        with session_factory() as session:
            return session.scalar(select(ChatWorkspace.id).where(
                ChatWorkspace.platform == PLATFORM, ChatWorkspace.external_id.in_(ids),
                ChatWorkspace.status == "approved").limit(1)) is not None

    return approved


def request_install(w: Shared, team: str, name: str | None) -> str:
    """An install from a workspace that is not invited: its status — `pending` (recorded now, the admins
    asked through the outbox in the same transaction, or already waiting), `approved` or `refused`."""
    for _ in range(2):
        try:
            with w.uow() as uow:
                status = workspace_status(uow.session, PLATFORM, team)
                if status is None:
                    do_request_workspace(uow, PLATFORM, team, name, w.clock.now())
                    status = "pending"
            return status
        except IntegrityError:
            continue  # a simultaneous install of the same workspace recorded it first: read its status
    return "pending"


def workspace_of(context: Any) -> str | None:
    """The workspace id a request's identities are keyed by: its team id, or the enterprise id of an
    org-wide Grid request that names no team."""
    team = context.get("team_id") or context.get("enterprise_id")
    return str(team)[:32] if team else None


class RefuseOtherWorkspaces(Middleware):
    """The Bolt middleware (registered first, right behind Bolt's signature check and authorization)."""

    def __init__(self, gate: WorkspaceGate) -> None:
        self._gate = gate

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002 - Bolt's name
        context, body = req.context, req.body
        self._gate.learn(context.get("authorize_result"))
        team, enterprise = context.get("team_id"), context.get("enterprise_id")
        if self._gate.admits(team, enterprise):
            return next()
        kind = body.get("type") or ("slash_command" if body.get("command") else "?")
        log.warning("slack: refused a %s from workspace team=%s enterprise=%s user=%s (not served here; allowed: %s)",
                    kind, team, enterprise, context.get("user_id"), ",".join(self._gate.allowed) or "none")
        return refusal(body, team or enterprise)


def refusal(body: dict[str, Any], team: str | None) -> BoltResponse:
    if body.get("command"):  # a slash command: the ack's body is shown to the person, ephemerally
        return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": refused_text(team)}),
                            headers={"content-type": "application/json;charset=utf-8"})
    response_url = body.get("response_url")
    if response_url and body.get("type") in ("block_actions", "message_action", "shortcut"):
        try:
            WebhookClient(str(response_url), timeout=RESPOND_TIMEOUT).send(
                text=refused_text(team), response_type="ephemeral", replace_original=False)
        except Exception as exc:  # noqa: BLE001 - a courtesy message; the refusal stands either way
            log.warning("slack: could not tell workspace %s it is not served: %s", team, exc)
    return BoltResponse(status=200, body="")


__all__ = ["WorkspaceGate", "RefuseOtherWorkspaces", "approved_in_database", "request_install", "workspace_of"]
