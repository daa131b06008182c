"""Chat workspaces that asked to use the CRM: recorded as pending, decided by an admin.

The process settings invite some workspaces outright (bot/settings.py SLACK_ALLOWED_TEAMS); any other one
that installs is recorded here as `pending` and the admins are asked (event WorkspaceRequested). An
admin approves — the workspace may then install and is served — or refuses."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.errors import InvalidValue, NotFound, RoleForbidden
from crm_core.events import WorkspaceRequested
from crm_core.models import ChatWorkspace, User
from crm_core.uow import UnitOfWork

STATUSES = ("pending", "approved", "refused")
LIST_LIMIT = 50


def workspace_status(session: Session, platform: str, external_id: str) -> str | None:
    return session.scalar(select(ChatWorkspace.status).where(ChatWorkspace.platform == platform,
                                                            ChatWorkspace.external_id == external_id))


def do_request_workspace(uow: UnitOfWork, platform: str, external_id: str, name: str | None,
                         now: datetime) -> ChatWorkspace:
    """Record an install request; a new (or renewed, after nothing was decided) request asks the admins once."""
    ws = uow.session.scalar(select(ChatWorkspace).where(ChatWorkspace.platform == platform,
                                                       ChatWorkspace.external_id == external_id))
    if ws is None:
        ws = ChatWorkspace(platform=platform, external_id=external_id[:32], name=(name or None) and name[:200],
                           status="pending", requested_at=now)
        uow.session.add(ws)
        uow.session.flush()
        uow.emit(WorkspaceRequested(workspace_id=ws.id))
    return ws


def check_admin(actor: User) -> None:
    if not actor.is_admin:
        raise RoleForbidden("forbidden.workspaces")


def access_workspace(uow: UnitOfWork, actor: User, platform: str, external_id: str) -> ChatWorkspace:
    check_admin(actor)
    ws = uow.session.scalar(select(ChatWorkspace).where(ChatWorkspace.platform == platform,
                                                       ChatWorkspace.external_id == external_id.strip()))
    if ws is None:
        raise NotFound(ref=external_id)
    return ws


def do_decide_workspace(uow: UnitOfWork, actor: User, ws: ChatWorkspace, *, approve: bool,
                        now: datetime) -> ChatWorkspace:
    ws.status = "approved" if approve else "refused"
    ws.decided_at = now
    ws.decided_by_id = actor.id
    return ws


def list_workspaces(uow: UnitOfWork, actor: User, platform: str) -> list[ChatWorkspace]:
    check_admin(actor)
    return list(uow.session.scalars(select(ChatWorkspace).where(ChatWorkspace.platform == platform)
                                    .order_by(ChatWorkspace.requested_at.desc(), ChatWorkspace.id.desc())
                                    .limit(LIST_LIMIT)))


def check_workspace_id(value: str) -> str:
    """A Slack team (T…) or enterprise (E…) id, as shown by `workspace list`."""
    v = value.strip().upper()
    if not (2 <= len(v) <= 32 and v[0] in "TE" and v.isalnum()):
        raise InvalidValue("workspace", value, "workspace.id")
    return v
