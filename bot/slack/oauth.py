"""Multi-workspace install (SLACK_CLIENT_ID / SLACK_CLIENT_SECRET): Bolt's OAuth flow with slack_sdk's
SQLAlchemy installation and state stores, in the CRM's own database (tables slack_installations,
slack_bots, slack_oauth_states — created by the stores themselves, not by our migrations)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, desc, select

from bot.settings import Settings
from bot.slack.workspaces import WorkspaceGate
from cards.builders.workspaces import install_refused_page

log = logging.getLogger("chatcrm.slack.oauth")
# Least privilege for what the app does (slack_manifest.yml lists the same): /crm and the shortcut,
# cards and DMs, users.info for new people, private swarm channels (create/invite/topic/archive), pins,
# and quote documents uploaded into the person's DM with the app.
DEFAULT_SCOPES = ("commands", "chat:write", "users:read", "groups:write", "pins:write", "im:write", "files:write",
                  # conversations.history: after a lost answer, is the message already there? (at most one copy)
                  "channels:history", "groups:history", "im:history")
STORE_TABLES = ("slack_installations", "slack_bots", "slack_oauth_states")
STATE_EXPIRATION_SECONDS = 600


@dataclass
class OAuthParts:
    installation_store: InvitedInstallationStore
    state_store: SQLAlchemyOAuthStateStore
    settings: OAuthSettings
    authorize: InstallationStoreAuthorize


def scopes(settings: Settings) -> list[str]:
    if settings.slack_scopes:
        return [s.strip() for s in settings.slack_scopes.split(",") if s.strip()]
    return list(DEFAULT_SCOPES)


class WorkspaceNotAllowed(BoltError):
    """An install from a workspace that is not in SLACK_ALLOWED_TEAMS."""

    def __init__(self, team: str | None) -> None:
        super().__init__(f"workspace {team} is not in SLACK_ALLOWED_TEAMS")
        self.team = team


class WorkspacePending(WorkspaceNotAllowed):
    """An install from a workspace that is not invited: recorded, waiting for an admin's approval."""


class InvitedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's store that saves only installations of invited workspaces (the gate's allowed ids, or
    approved by an admin). Refusing in `save` means Bolt's callback has exchanged the code but stores
    nothing: no token of a stranger's workspace is kept, and its requests stay unauthorized. With
    `on_request` (set by app.py) such an install is recorded as a request the admins decide."""

    gate: WorkspaceGate | None = None
    on_request: Callable[[str, str | None], str] | None = None  # (workspace id, name) -> its status

    def save(self, installation: Installation) -> None:
        team = installation.team_id or installation.enterprise_id
        if self.gate is not None and not self.gate.admits_installation(installation.team_id, installation.enterprise_id):
            status = self.on_request(str(team), installation.team_name or installation.enterprise_name) \
                if self.on_request is not None and team else "refused"
            log.warning("slack: did not install workspace team=%s enterprise=%s (not invited; request %s)",
                        installation.team_id, installation.enterprise_id, status)
            if status != "approved":
                raise WorkspacePending(team) if status == "pending" else WorkspaceNotAllowed(team)
        super().save(installation)


def _installed(args: SuccessArgs) -> BoltResponse:
    return args.default.success(args)


def _install_failed(args: FailureArgs) -> BoltResponse:
    """A refused workspace gets a page that says so (in English and Chinese); other failures Bolt's page."""
    if isinstance(args.error, WorkspaceNotAllowed):
        pending = isinstance(args.error, WorkspacePending)
        return BoltResponse(status=403, body=install_refused_page(args.error.team, pending=pending),
                            headers={"content-type": "text/html; charset=utf-8"})
    return args.default.failure(args)


def build_oauth(settings: Settings, engine: Engine, client: WebClient, *, gate: WorkspaceGate | None = None) -> OAuthParts:
    assert settings.slack_client_id and settings.slack_client_secret
    installation_store = InvitedInstallationStore(client_id=settings.slack_client_id, engine=engine, logger=log)
    installation_store.gate = gate or WorkspaceGate.from_settings(settings)
    state_store = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine, logger=log)
    installation_store.metadata.create_all(engine)  # checkfirst: a no-op once the tables exist
    state_store.metadata.create_all(engine)
    oauth_settings = OAuthSettings(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret, scopes=scopes(settings),
        installation_store=installation_store, state_store=state_store, logger=log,
        state_expiration_seconds=STATE_EXPIRATION_SECONDS,
        callback_options=CallbackOptions(success=_installed, failure=_install_failed))
    # Cache each workspace's authorization: without it Bolt calls auth.test on every request.
    authorize = InstallationStoreAuthorize(
        logger=log, installation_store=installation_store, client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret, cache_enabled=True, client=client)
    return OAuthParts(installation_store, state_store, oauth_settings, authorize)


def bot_token_for(store: SQLAlchemyInstallationStore, team: str | None) -> str | None:
    """The deliverer's token in OAuth mode: the bot token of `team`'s installation (workspace id, as recorded
    on the recipient's Slack identity); the newest installation's when the team is unknown or has none."""
    if team:
        # An org-wide Grid install keys its people by the enterprise id (workspaces.workspace_of).
        bot = (store.find_bot(enterprise_id=team, team_id=None, is_enterprise_install=True) if team.startswith("E")
               else store.find_bot(enterprise_id=None, team_id=team))
        if bot is not None and bot.bot_token:
            return bot.bot_token
        log.warning("slack: no installation for team %s; using the newest installation's bot token", team)
    return latest_bot_token(store)


def latest_bot_token(store: SQLAlchemyInstallationStore) -> str | None:
    """The bot token of the most recent installation (the fallback when a message's team is unknown)."""
    c = store.bots.c
    stmt = (select(c.bot_token).where(c.client_id == store.client_id, c.bot_token.is_not(None))
            .order_by(desc(c.installed_at)).limit(1))
    with store.engine.connect() as conn:
        return conn.execute(stmt).scalar()
