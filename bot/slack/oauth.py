"""Multi-workspace install (SLACK_CLIENT_ID / SLACK_CLIENT_SECRET): Bolt's OAuth flow with slack_sdk's
SQLAlchemy installation and state stores, in the CRM's own database (tables slack_installations,
slack_bots, slack_oauth_states — created by the stores themselves, not by our migrations)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, desc, select

from bot.settings import Settings

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
    installation_store: SQLAlchemyInstallationStore
    state_store: SQLAlchemyOAuthStateStore
    settings: OAuthSettings
    authorize: InstallationStoreAuthorize


def scopes(settings: Settings) -> list[str]:
    if settings.slack_scopes:
        return [s.strip() for s in settings.slack_scopes.split(",") if s.strip()]
    return list(DEFAULT_SCOPES)


def build_oauth(settings: Settings, engine: Engine, client: WebClient) -> OAuthParts:
    assert settings.slack_client_id and settings.slack_client_secret
    installation_store = SQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=engine, logger=log)
    state_store = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine, logger=log)
    installation_store.metadata.create_all(engine)  # checkfirst: a no-op once the tables exist
    state_store.metadata.create_all(engine)
    oauth_settings = OAuthSettings(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret, scopes=scopes(settings),
        installation_store=installation_store, state_store=state_store, logger=log,
        state_expiration_seconds=STATE_EXPIRATION_SECONDS)
    # Cache each workspace's authorization: without it Bolt calls auth.test on every request.
    authorize = InstallationStoreAuthorize(
        logger=log, installation_store=installation_store, client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret, cache_enabled=True, client=client)
    return OAuthParts(installation_store, state_store, oauth_settings, authorize)


def bot_token_for(store: SQLAlchemyInstallationStore, team: str | None) -> str | None:
    """The deliverer's token in OAuth mode: the bot token of `team`'s installation (workspace id, as recorded
    on the recipient's Slack identity); the newest installation's when the team is unknown or has none."""
    if team:
        bot = store.find_bot(enterprise_id=None, team_id=team)
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
