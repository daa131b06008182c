"""Which chat workspaces may use the CRM: `workspace list|approve|refuse` (工作区 列表|批准|拒绝), the
Approve / Refuse buttons of the card the admins get when a workspace that is not invited installs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from cards.builders.workspaces import (WorkspaceRow, workspace_decided_card, workspace_list_card,
                                       workspace_request_card)
from cards.model import Reply
from cards.format import local_time
from crm_core.clock import Clock
from crm_core.events import Event, WorkspaceRequested
from crm_core.models import ChatWorkspace, User
from crm_core.outbox import enqueue
from crm_core.services.users import locale_of
from crm_core.services.workspaces import (access_workspace, check_workspace_id, do_decide_workspace,
                                          list_workspaces)
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.notify import on
from handlers.registry import action, command

PLATFORM = "slack"  # the only platform whose workspaces install themselves (OAuth)


def _row(uow: UnitOfWork, ws: ChatWorkspace) -> WorkspaceRow:
    return WorkspaceRow(team=ws.external_id, name=ws.name, status=ws.status,
                        requested=local_time(uow.config, ws.requested_at) or "")


@command("workspace list", writes=False)
def workspace_list(uow: UnitOfWork, actor: User, locale: str) -> Reply:
    return Reply(cards=(workspace_list_card(locale, [_row(uow, ws) for ws in list_workspaces(uow, actor, PLATFORM)]),))


def _decide(uow: UnitOfWork, clock: Clock, actor: User, locale: str, raw: str, *, approve: bool,
            replace_original: bool = False) -> Reply:
    ws = access_workspace(uow, actor, PLATFORM, check_workspace_id(raw))
    do_decide_workspace(uow, actor, ws, approve=approve, now=clock.now())
    return Reply(cards=(workspace_decided_card(locale, ws.external_id, ws.status),), replace_original=replace_original)


@command("workspace approve")
@action("workspace.approve", value=("workspace",))
def workspace_approve(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    # a click answers in place of the card it was on; a typed command has no card to replace
    return _decide(uow, clock, actor, locale, str(inv.args["workspace"]), approve=True,
                   replace_original=inv.kind == "action")


@command("workspace refuse")
@action("workspace.refuse", value=("workspace",))
def workspace_refuse(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _decide(uow, clock, actor, locale, str(inv.args["workspace"]), approve=False,
                   replace_original=inv.kind == "action")


@on(WorkspaceRequested)
def ask_admins(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """Every active admin gets the request card, once per request."""
    assert isinstance(event, WorkspaceRequested)
    ws = uow.session.get(ChatWorkspace, event.workspace_id)
    if ws is None:
        return
    for admin in uow.session.scalars(select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id)):
        card = workspace_request_card(locale_of(admin, uow.config), _row(uow, ws))
        enqueue(uow.session, dedupe_key=f"workspace-requested:{ws.id}:{admin.id}", kind="workspace.requested",
                target_type="user", target_id=admin.id, payload=card.to_dict(), now=now)
