"""Assignment: the first matching rule names a pool (a tag); round-robin inside it, skipping away reps."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.config import Config
from crm_core.db import insert_or_skip
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


def after_cursor(members: Sequence[User], last_user_id: int | None) -> User:
    """The member after the cursor in id order, wrapping around."""
    if last_user_id is not None:
        for user in members:
            if user.id > last_user_id:
                return user
    return members[0]


def locked_cursor(session: Session, pool: str) -> AssignmentCursor:
    """The pool's cursor row, created if missing, locked (FOR UPDATE on PostgreSQL) until the transaction ends.

    The row is created with INSERT … ON CONFLICT DO NOTHING, so the first leads of a fresh database, arriving at
    once, all find one row instead of racing to insert it (which was a unique violation, answered 500).
    """
    session.execute(insert_or_skip(session, AssignmentCursor, on=("pool",)).values(pool=pool, last_user_id=None))
    cursor = session.scalar(select(AssignmentCursor).where(AssignmentCursor.pool == pool)
                            .with_for_update().execution_options(populate_existing=True))
    assert cursor is not None
    return cursor


def next_in_pool(session: Session, pool: str, *, exclude: frozenset[int] = frozenset()) -> User | None:
    """The rep after the pool's cursor who is not away (and not excluded); moves the cursor.

    The cursor row is locked (FOR UPDATE on PostgreSQL) so two leads at once go to two reps.
    """
    members = [u for u in pool_members(session, pool) if not u.away and u.id not in exclude]
    if not members and pool != ALL_REPS:
        return next_in_pool(session, ALL_REPS, exclude=exclude)
    if not members:
        return None
    cursor = locked_cursor(session, pool)
    chosen = after_cursor(members, cursor.last_user_id)
    cursor.last_user_id = chosen.id
    session.flush()
    return chosen


class BatchAssigner:
    """Round-robin for many leads in one transaction: pools and cursors are read once, written once."""

    def __init__(self, session: Session, config: Config) -> None:
        self.session = session
        self.config = config
        self._members: dict[str, list[User]] = {}
        self._cursors: dict[str, AssignmentCursor] = {}

    def assign(self, fields: dict[str, str | None]) -> User | None:
        pool = choose_pool(self.config, fields)
        members = self._available(pool)
        if not members and pool != ALL_REPS:
            pool, members = ALL_REPS, self._available(ALL_REPS)
        if not members:
            return None
        cursor = self._cursor(pool)
        chosen = after_cursor(members, cursor.last_user_id)
        cursor.last_user_id = chosen.id
        return chosen

    def _available(self, pool: str) -> list[User]:
        if pool not in self._members:
            self._members[pool] = [u for u in pool_members(self.session, pool) if not u.away]
        return self._members[pool]

    def _cursor(self, pool: str) -> AssignmentCursor:
        if pool not in self._cursors:
            self._cursors[pool] = locked_cursor(self.session, pool)
        return self._cursors[pool]
