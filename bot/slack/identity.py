"""Slack user id → CRM user. Configured users map by their `slack` id; anybody else becomes a rep the
first time they use the bot, named (and given a language) from `users.info`."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload, sessionmaker

from cards.i18n import normalise_locale
from crm_core.clock import Clock
from crm_core.db import WRITE_INTENT, read_only
from crm_core.models import ChatIdentity, User
from crm_core.services.users import create_chat_user

log = logging.getLogger("chatcrm.slack.identity")
PLATFORM = "slack"


@dataclass(frozen=True)
class Profile:
    name: str
    locale: str | None
    timezone: str | None = None  # users.info `tz`, an IANA name: times are shown in it when not the company's


def team_of(body: dict[str, Any] | None) -> str | None:
    """The workspace (team id) a request comes from: `team_id` of a slash command or an event callback,
    `team.id` of an interaction (buttons, shortcuts, view submissions), else the acting user's `team_id`;
    an org-wide Enterprise Grid request that names no team is keyed by its enterprise id."""
    body = body or {}
    team = (body.get("team_id") or (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
            or body.get("enterprise_id") or (body.get("enterprise") or {}).get("id"))
    return str(team)[:32] if team else None


def resolve_user_id(session_factory: sessionmaker[Session], clock: Clock, client: WebClient | None,
                    slack_user_id: str, fallback_name: str | None = None, *, team: str | None = None,
                    binding_team: str | None = None) -> int:
    """The CRM user id of Slack user `slack_user_id` of workspace `team`, creating the user on first contact.

    Users are keyed by (workspace, user id): the same id in another workspace is another person, and a
    stored team is never overwritten. A configured id (stored without a team) is bound, once, to the first
    workspace it is seen in — when `binding_team` is given (the single workspace; OAuth: the first allowed
    one), only to that workspace; elsewhere the id is a new person."""
    known = _known(session_factory, slack_user_id, team)
    if known is not None:
        return known
    if team is not None and binding_team in (None, team):
        bound = _bind(session_factory, slack_user_id, team)
        if bound is not None:
            return bound
    profile = fetch_profile(client, slack_user_id, fallback_name)
    try:
        with session_factory.begin() as session:
            session.connection(execution_options={WRITE_INTENT: True})  # SQLite: BEGIN IMMEDIATE, waits its turn
            user = create_chat_user(session, platform=PLATFORM, external_id=slack_user_id, name=profile.name,
                                    now=clock.now(), locale=profile.locale, team=team,
                                    timezone=profile.timezone)
            return user.id
    except IntegrityError:
        # Two first requests from the same person raced; the other one created (or bound) the user.
        known = _known(session_factory, slack_user_id, team)
        if known is None:
            raise
        return known


def _user_of_identity(team_is: Any) -> Any:
    # The user row itself, not only its id: the request's one read of its actor (handlers.runner then finds
    # it in the session's identity map), without its manager, which few requests need (loaded when asked).
    return (select(User).join(ChatIdentity, ChatIdentity.user_id == User.id)
            .where(ChatIdentity.platform == PLATFORM, ChatIdentity.external_id == bindparam("external_id"), team_is)
            .options(lazyload(User.manager)))


# Every request asks this first: the statements are built once (building one cost more than running it).
_USER_IN_TEAM = _user_of_identity(ChatIdentity.team == bindparam("team"))
_USER_WITHOUT_TEAM = _user_of_identity(ChatIdentity.team.is_(None))


def known_user_id(session: Session, slack_user_id: str, team: str | None) -> int | None:
    """The user of this Slack id in this workspace (team None: the identity stored without a team), in the
    caller's session (the request's own unit of work: handlers.runner.ActorLookup). One statement reads the
    identity and the user: the user stays in the session, so reading the actor next costs none."""
    if team is None:
        user = session.scalar(_USER_WITHOUT_TEAM, {"external_id": slack_user_id})
    else:
        user = session.scalar(_USER_IN_TEAM, {"external_id": slack_user_id, "team": team})
    return None if user is None else user.id


def _known(session_factory: sessionmaker[Session], slack_user_id: str, team: str | None) -> int | None:
    with read_only(session_factory)() as session:
        return known_user_id(session, slack_user_id, team)


def _bind(session_factory: sessionmaker[Session], slack_user_id: str, team: str) -> int | None:
    """Bind a configured Slack id (no team yet) to `team`; the user id, or None when there is none to bind.
    The UPDATE only matches a row still without a team, so of two racing first requests exactly one binds."""
    with session_factory.begin() as session:
        session.connection(execution_options={WRITE_INTENT: True})
        user_id = session.scalar(update(ChatIdentity).where(
            ChatIdentity.platform == PLATFORM, ChatIdentity.external_id == slack_user_id,
            ChatIdentity.team.is_(None)).values(team=team).returning(ChatIdentity.user_id))
    if user_id is not None:
        log.info("slack: configured id %s bound to workspace %s", slack_user_id, team)
    return user_id


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
    tz = user.get("tz")
    return Profile(name=str(name)[:200], locale=locale, timezone=str(tz)[:64] if tz else None)
