"""Users: synchronised from the configuration, created on first contact from a chat platform."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.config import Config
from crm_core.errors import NotFound
from crm_core.models import ChatIdentity, User

PLATFORMS = ("slack", "wecom")


def sync_users(session: Session, config: Config, now: datetime) -> None:
    """Upsert every configured user by key; managers and chat identities follow the file."""
    existing = {u.key: u for u in session.scalars(select(User))}
    for uc in config.users:
        user = existing.get(uc.key)
        if user is None:
            user = User(key=uc.key, name=uc.name, created_at=now, tags=[])
            session.add(user)
            existing[uc.key] = user
        user.name = uc.name
        user.role = uc.role
        user.email = uc.email
        user.locale = uc.locale
        if uc.timezone:  # the configuration's zone wins; else the one Slack told us (bot/slack/identity.py)
            user.timezone = uc.timezone
        user.tags = list(uc.tags)
        user.away = uc.away
        user.primary_platform = uc.primary
    session.flush()
    for uc in config.users:
        user = existing[uc.key]
        user.manager_id = existing[uc.manager].id if uc.manager else None
        for platform in PLATFORMS:
            _set_identity(session, user, platform, getattr(uc, platform))
    session.flush()


def _set_identity(session: Session, user: User, platform: str, external_id: str | None) -> None:
    current = next((i for i in user.identities if i.platform == platform), None)
    if external_id is None:
        if current is not None:
            user.identities.remove(current)
        return
    if current is not None and current.external_id == external_id:
        return
    # The id may belong to an auto-created user: the configuration wins (and keeps the workspace it was seen in).
    others = [o for o in session.scalars(select(ChatIdentity).where(
        ChatIdentity.platform == platform, ChatIdentity.external_id == external_id)) if o.user_id != user.id]
    teams = {o.team for o in others}
    for other in others:
        session.delete(other)
    session.flush()
    team = teams.pop() if len(teams) == 1 else None
    if current is not None:
        current.external_id = external_id
        current.team = team
    else:
        user.identities.append(ChatIdentity(platform=platform, external_id=external_id, team=team))


def user_by_key(session: Session, key: str) -> User:
    user = session.scalar(select(User).where(User.key == key))
    if user is None:
        raise NotFound(ref=key)
    return user


def user_by_identity(session: Session, platform: str, external_id: str, *, team: str | None = None) -> User | None:
    """The user with this chat id; with `team`, only the one of that workspace (or a configured id not yet
    bound to one) — a Slack id never finds a user of another workspace."""
    stmt = select(User).join(ChatIdentity).where(ChatIdentity.platform == platform,
                                                 ChatIdentity.external_id == external_id)
    if team is not None:
        stmt = stmt.where((ChatIdentity.team == team) | ChatIdentity.team.is_(None)).order_by(
            ChatIdentity.team.is_(None))
    return session.scalars(stmt.limit(1)).first()


def create_chat_user(session: Session, *, platform: str, external_id: str, name: str, now: datetime,
                     locale: str | None = None, team: str | None = None, timezone: str | None = None) -> User:
    """A chat user not in the configuration becomes a rep the first time they use the bot."""
    base = f"{platform}-{external_id}".lower()[:60]
    key = base
    n = 1
    while session.scalar(select(User.id).where(User.key == key)) is not None:
        n += 1
        key = f"{base}-{n}"
    user = User(key=key, name=name or external_id, role="rep", created_at=now, tags=[], locale=locale, timezone=timezone)
    user.identities.append(ChatIdentity(platform=platform, external_id=external_id, team=team))
    session.add(user)
    session.flush()
    return user


def locale_of(user: User | None, config: Config) -> str:
    if user is not None and user.locale:
        return user.locale
    return config.company.locale
