"""Slack user id → CRM user. Configured users map by their `slack` id; anybody else becomes a rep the
first time they use the bot, named (and given a language) from `users.info`."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cards.i18n import normalise_locale
from crm_core.clock import Clock
from crm_core.models import ChatIdentity
from crm_core.services.users import create_chat_user

log = logging.getLogger("chatcrm.slack.identity")
PLATFORM = "slack"


@dataclass(frozen=True)
class Profile:
    name: str
    locale: str | None


def team_of(body: dict[str, Any] | None) -> str | None:
    """The workspace (team id) a request comes from: `team_id` of a slash command or an event callback,
    `team.id` of an interaction (buttons, shortcuts, view submissions), else the acting user's `team_id`."""
    body = body or {}
    team = body.get("team_id") or (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
    return str(team)[:32] if team else None


def resolve_user_id(session_factory: sessionmaker[Session], clock: Clock, client: WebClient | None,
                    slack_user_id: str, fallback_name: str | None = None, *, team: str | None = None) -> int:
    """The CRM user id for a Slack user, creating the user on first contact. `team`: the workspace the
    request came from, recorded on the user's Slack identity (the deliverer sends with its bot token)."""
    known = _known(session_factory, slack_user_id)
    if known is not None:
        user_id, stored_team = known
        if team and team != stored_team:
            _record_team(session_factory, slack_user_id, team)
        return user_id
    profile = fetch_profile(client, slack_user_id, fallback_name)
    try:
        with session_factory.begin() as session:
            user = create_chat_user(session, platform=PLATFORM, external_id=slack_user_id, name=profile.name,
                                    now=clock.now(), locale=profile.locale)
            if team:
                for ident in user.identities:
                    if ident.platform == PLATFORM and ident.external_id == slack_user_id:
                        ident.team = team
            return user.id
    except IntegrityError:
        # Two first requests from the same person raced; the other one created the user.
        known = _known(session_factory, slack_user_id)
        if known is None:
            raise
        if team and team != known[1]:
            _record_team(session_factory, slack_user_id, team)
        return known[0]


def _known(session_factory: sessionmaker[Session], slack_user_id: str) -> tuple[int, str | None] | None:
    """(user id, recorded team) of a Slack user we know."""
    with session_factory() as session:
        row = session.execute(select(ChatIdentity.user_id, ChatIdentity.team).where(
            ChatIdentity.platform == PLATFORM, ChatIdentity.external_id == slack_user_id)).first()
        return (int(row[0]), row[1]) if row is not None else None


def _record_team(session_factory: sessionmaker[Session], slack_user_id: str, team: str) -> None:
    """Remember (or correct) the workspace of a Slack user. Best effort: a failure is logged, the request goes on."""
    try:
        with session_factory.begin() as session:
            session.execute(update(ChatIdentity).where(
                ChatIdentity.platform == PLATFORM, ChatIdentity.external_id == slack_user_id).values(team=team))
    except Exception as exc:  # noqa: BLE001 - the request itself must not fail over this bookkeeping
        log.warning("slack: could not record team %s for %s: %s", team, slack_user_id, exc)


def fetch_profile(client: WebClient | None, slack_user_id: str, fallback_name: str | None) -> Profile:
    """Name and language from users.info; the payload's user name (or the id) when Slack cannot tell."""
    fallback = Profile(name=(fallback_name or slack_user_id)[:200], locale=None)
    if client is None:
        return fallback
    try:
        resp = client.users_info(user=slack_user_id, include_locale=True)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("users.info failed for %s (%s); using %r as the name", slack_user_id, exc, fallback.name)
        return fallback
    user: dict[str, Any] = resp.get("user") or {}
    profile: dict[str, Any] = user.get("profile") or {}
    name = (profile.get("real_name") or user.get("real_name") or profile.get("display_name") or user.get("name")
            or fallback.name)
    locale = normalise_locale(user["locale"]) if user.get("locale") else None
    return Profile(name=str(name)[:200], locale=locale)
