"""Assignment: the first matching rule names a pool (a tag); round-robin inside it, skipping away reps."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.config import Config
from crm_core.models import AssignmentCursor, User

ALL_REPS = "*all-reps*"


def choose_pool(config: Config, fields: dict[str, str | None]) -> str:
    for rule in config.assignment.rules:
        if all((fields.get(k) or "").lower() == v.lower() for k, v in rule.match.items()):
            return rule.pool_tag
    return ALL_REPS


def pool_members(session: Session, pool: str) -> list[User]:
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    if pool == ALL_REPS:
        return [u for u in users if u.role == "rep"]
    return [u for u in users if u.role == "rep" and pool in (u.tags or [])]


def next_in_pool(session: Session, pool: str, *, exclude: frozenset[int] = frozenset()) -> User | None:
    """The rep after the pool's cursor who is not away (and not excluded); moves the cursor.

    The cursor row is locked (FOR UPDATE on PostgreSQL) so two leads at once go to two reps.
    """
    members = [u for u in pool_members(session, pool) if not u.away and u.id not in exclude]
    if not members and pool != ALL_REPS:
        return next_in_pool(session, ALL_REPS, exclude=exclude)
    if not members:
        return None
    cursor = session.scalar(select(AssignmentCursor).where(AssignmentCursor.pool == pool).with_for_update())
    if cursor is None:
        cursor = AssignmentCursor(pool=pool, last_user_id=None)
        session.add(cursor)
    chosen = members[0]
    if cursor.last_user_id is not None:
        later = [u for u in members if u.id > cursor.last_user_id]
        chosen = later[0] if later else members[0]
    cursor.last_user_id = chosen.id
    session.flush()
    return chosen
