"""The one "who is that?" lookup: a user id → the name people see, or a placeholder."""
from __future__ import annotations

from sqlalchemy.orm import Session

from crm_core.models import User

UNKNOWN = "?"


def user_name(session: Session, user_id: int | None, missing: str = UNKNOWN) -> str:
    """The display name of user `user_id`; `missing` when there is no id or no such user."""
    user = session.get(User, user_id) if user_id is not None else None
    return user.name if user is not None else missing
