"""Who may see and change what: a rep their own records, a manager their team's, admin everything."""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.errors import Forbidden, InvalidValue, Term
from crm_core.models import User


def team_ids(session: Session, manager: User) -> set[int]:
    """The manager and everybody below them in the manager chain (one query for all users)."""
    rows = session.execute(select(User.id, User.manager_id)).all()
    children: dict[int | None, list[int]] = {}
    for uid, mid in rows:
        children.setdefault(mid, []).append(uid)
    return chain_below(children, manager.id)


def chain_below(children: Mapping[int | None, list[int]], manager_id: int) -> set[int]:
    """`manager_id` and everybody below them, given each manager's direct reports."""
    seen, stack = {manager_id}, [manager_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def visible_owner_ids(session: Session, actor: User) -> set[int] | None:
    """Owner ids whose records the actor may see; None means everything (admin)."""
    if actor.is_admin:
        return None
    if actor.rank == 0:
        return {actor.id}
    return team_ids(session, actor)


def can_access(session: Session, actor: User, owner_id: int, *more_owner_ids: int) -> bool:
    """Whether the actor may see the records of `owner_id`, or of any of `more_owner_ids` (a ticket or a contract
    is seen through its own owner or its account's)."""
    visible = visible_owner_ids(session, actor)
    return visible is None or owner_id in visible or any(o in visible for o in more_owner_ids)


def require_access(session: Session, actor: User, owner_id: int, what: str, **data: object) -> None:
    """Forbidden(what, **data) unless the actor may see the owner's records (`what`: a message code)."""
    if not can_access(session, actor, owner_id):
        raise Forbidden(what, **data)


def manager_chain(user: User, session: Session) -> list[User]:
    """The user's managers, nearest first (cycles cut)."""
    chain: list[User] = []
    seen = {user.id}
    current = user
    while current.manager_id is not None and current.manager_id not in seen:
        mgr = session.get(User, current.manager_id)
        if mgr is None:
            break
        chain.append(mgr)
        seen.add(mgr.id)
        current = mgr
    return chain


LIST_SCOPES = ("mine", "team", "all")
SCOPE = "scope"


def lists_others(actor: User) -> bool:
    """Whether the actor may list records beyond their own (`team`, `all`): managers and admins."""
    return actor.is_admin or actor.rank > 0


def list_owner_ids(session: Session, actor: User, scope: str) -> frozenset[int] | None:
    """Whose records a list in `scope` shows; None: everyone's.

    mine: the actor's own. team: the actor and everybody below them in the manager chain (admins: everyone).
    all: every record the actor may open — everyone's for an admin, the whole team for a manager, director or
    VP (access allows no more). Reps may list only their own: `team` and `all` are refused, not quietly
    narrowed, so a rep never mistakes their own list for the team's."""
    if scope == "mine":
        return frozenset({actor.id})
    if scope not in LIST_SCOPES:
        raise InvalidValue(SCOPE, scope, "list.scope")
    if not lists_others(actor):  # the scope as a term: the reader sees the word they typed
        raise InvalidValue(SCOPE, Term("list_scope", scope), "list.scope_rep")
    visible = visible_owner_ids(session, actor)
    return None if visible is None else frozenset(visible)
