"""Slack user id → CRM user. Configured users map by their `slack` id; anybody else becomes a rep the
first time they use the bot, named (and given a language) from `users.info`."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cards.i18n import normalise_locale
from crm_core.clock import Clock
from crm_core.services.users import create_chat_user, user_by_identity

log = logging.getLogger("chatcrm.slack.identity")
PLATFORM = "slack"


@dataclass(frozen=True)
class Profile:
    name: str
    locale: str | None


def resolve_user_id(session_factory: sessionmaker[Session], clock: Clock, client: WebClient | None,
                    slack_user_id: str, fallback_name: str | None = None) -> int:
    """The CRM user id for a Slack user, creating the user on first contact."""
    known = _known(session_factory, slack_user_id)
    if known is not None:
        return known
    profile = fetch_profile(client, slack_user_id, fallback_name)
    try:
        with session_factory.begin() as session:
            user = create_chat_user(session, platform=PLATFORM, external_id=slack_user_id, name=profile.name,
                                    now=clock.now(), locale=profile.locale)
            return user.id
    except IntegrityError:
        # Two first requests from the same person raced; the other one created the user.
        known = _known(session_factory, slack_user_id)
        if known is None:
            raise
        return known


def _known(session_factory: sessionmaker[Session], slack_user_id: str) -> int | None:
    with session_factory() as session:
        user = user_by_identity(session, PLATFORM, slack_user_id)
        return user.id if user is not None else None


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
