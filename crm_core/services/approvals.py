"""Multi-level discount approvals: policy from [[approvals.levels]], a guarded state machine.

- A discount above a level's threshold needs that level and every lower one.
- The approver of a level is the requester's nearest manager-chain user whose role rank is at least
  the level's role; when the chain has nobody that senior, an admin (never the requester).
- Consecutive levels that resolve to the same person are merged into one step, so nobody is asked
  to approve the same quote twice in a row (a manager quoting 25 % goes to their director once).
- State: pending at step k → … → approved, or rejected (reason required) at any step; cancelled
  when a newer quote version supersedes the quote first.
- Only the step's designated approver or an admin may decide it, never the requester. A click that
  comes late (already decided, or superseded) changes nothing and raises StaleAction saying why.
- Double submits apply once, even concurrently: the approval row is read with SELECT … FOR UPDATE
  (PostgreSQL) and carries a version column (every engine), so a second writer fails cleanly.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.exc import StaleDataError

from crm_core.company_time import local_time
from crm_core.fields import TEXT_MAX, check_text
from crm_core.config import ROLE_RANK, ApprovalLevel, Config
from crm_core.errors import Conflict, DomainError, ErrorCode, InvalidValue, StaleAction, Term
from crm_core.events import ApprovalCancelled, ApprovalStepDecided, ApprovalStepOpened, ApprovalWithdrawn
from crm_core.models import Approval, ApprovalStep, Deal, Quote, User
from crm_core.queries.people import user_name as _name
from crm_core.services import audit
from crm_core.services.records import load_record
from crm_core.services.permissions import manager_chain
from crm_core.uow import UnitOfWork

class ApprovalForbidden(DomainError):
    """Not this person's step to decide (the message says whose it is)."""

    code = ErrorCode.FORBIDDEN


def levels_needed(config: Config, discount_pct: Decimal) -> list[ApprovalLevel]:
    """Every configured level whose threshold the discount is strictly above, lowest first."""
    return [lv for lv in config.approvals.levels if discount_pct > lv.above_discount]


def resolve_approver(session: Session, requester: User, role: str) -> User:
    """Nearest manager-chain user with rank ≥ role; else an admin other than the requester."""
    need = ROLE_RANK[role]
    for boss in manager_chain(requester, session):
        if boss.active and boss.rank >= need:
            return boss
    admin = session.scalar(select(User).where(User.role == "admin", User.active.is_(True), User.id != requester.id)
                           .order_by(User.id).limit(1))
    if admin is None:
        raise Conflict("approval.nobody", role=Term("role", role), name=requester.name)
    return admin


@dataclass(frozen=True)
class PlannedStep:
    level: int
    role: str
    above_discount: Decimal
    approver: User


def plan_steps(session: Session, config: Config, requester: User, discount_pct: Decimal) -> list[PlannedStep]:
    """The steps an approval will walk through; consecutive levels with the same approver merge."""
    steps: list[PlannedStep] = []
    for lv in levels_needed(config, discount_pct):
        approver = resolve_approver(session, requester, lv.role)
        if steps and steps[-1].approver.id == approver.id:
            steps[-1] = PlannedStep(steps[-1].level, lv.role, lv.above_discount, approver)
        else:
            steps.append(PlannedStep(len(steps) + 1, lv.role, lv.above_discount, approver))
    return steps


def do_request_approval(uow: UnitOfWork, requester: User, quote: Quote, *, now: datetime) -> Approval:
    steps = plan_steps(uow.session, uow.config, requester, Decimal(quote.discount_pct))
    approval = Approval(quote_id=quote.id, deal_id=quote.deal_id, requester_id=requester.id,
                        discount_pct=quote.discount_pct, status="pending", current_level=1,
                        levels_needed=len(steps), created_at=now,
                        steps=[ApprovalStep(level=s.level, role=s.role, above_discount=s.above_discount,
                                            approver_id=s.approver.id, status="pending" if s.level == 1 else "waiting")
                               for s in steps])
    uow.session.add(approval)
    uow.session.flush()
    audit.record(uow.session, actor_id=requester.id, action="approval.request", record_type="approval",
                 record_id=approval.id, now=now, quote_id=quote.id, discount=str(quote.discount_pct),
                 approvers=[s.approver.key for s in steps])
    uow.emit(ApprovalStepOpened(approval_id=approval.id, level=1))
    return approval


def lock_approval(uow: UnitOfWork, approval_id: int) -> Approval:
    return load_record(uow.session, Approval, approval_id, "approval", for_update=True)


def _when(uow: UnitOfWork, at: datetime | None) -> str:
    return local_time(uow.config, at) or "?"


def check_decidable(uow: UnitOfWork, actor: User, approval: Approval) -> ApprovalStep:
    """The open step the actor may decide now, or the error that says what happened instead."""
    s, ref = uow.session, approval.ref
    quote = s.get(Quote, approval.quote_id)
    if approval.status == "cancelled" or (quote is not None and quote.superseded_at is not None):
        newer = s.scalar(select(Quote).where(Quote.deal_id == approval.deal_id, Quote.superseded_at.is_(None)))
        quote_ref = f"Q-{approval.quote_id}"
        if newer is not None:
            raise StaleAction("approval.superseded_by", ref=ref, quote=quote_ref, newer=newer.ref, version=newer.version)
        raise StaleAction("approval.superseded", ref=ref, quote=quote_ref)
    if approval.status == "withdrawn":
        deal = s.get(Deal, approval.deal_id)
        closed = deal.status if deal else "closed"
        raise StaleAction("approval.withdrawn", ref=ref, deal=f"D-{approval.deal_id}", status=Term("status", closed),
                          when=_when(uow, approval.decided_at))
    if approval.status != "pending":
        last = max((st for st in approval.steps if st.decided_at), key=lambda st: st.level, default=None)
        who = _name(s, last.decided_by_id) if last else "?"
        when = _when(uow, last.decided_at if last else approval.decided_at)
        raise StaleAction("approval.decided", ref=ref, status=Term("decision", approval.status), who=who, when=when)
    if actor.id == approval.requester_id:
        raise ApprovalForbidden("approval.own", ref=ref, approver=_name(s, _step(approval).approver_id))
    step = _step(approval)
    mine = [st for st in approval.steps if st.decided_by_id == actor.id and st.level < step.level]
    if mine and actor.id != step.approver_id:
        raise StaleAction("approval.already_yours", ref=ref, level=mine[-1].level, when=_when(uow, mine[-1].decided_at),
                          approver=_name(s, step.approver_id), role=Term("role", step.role))
    if actor.id != step.approver_id and not actor.is_admin:
        raise ApprovalForbidden("approval.not_yours", ref=ref, approver=_name(s, step.approver_id),
                                role=Term("role", step.role), level=step.level, levels=approval.levels_needed)
    return step


def _step(approval: Approval) -> ApprovalStep:
    step = approval.step(approval.current_level)
    if step is None:  # pragma: no cover - steps are created with the approval
        raise RuntimeError(f"approval {approval.id} has no step {approval.current_level}")
    return step


@dataclass(frozen=True)
class Decision:
    approval: Approval
    step: ApprovalStep
    finished: bool  # the approval reached approved or rejected


def do_decide(uow: UnitOfWork, actor: User, approval_id: int, *, approve: bool, text: str | None,
              now: datetime) -> Decision:
    """Approve or reject the approval's open step, once, whoever else is clicking at the same time."""
    approval = lock_approval(uow, approval_id)
    step = check_decidable(uow, actor, approval)
    text = check_text("reason" if not approve else "comment", text, TEXT_MAX, multiline=True)
    if not approve and not text:
        raise InvalidValue("reason", "", "approval.reason", ref=approval.ref)
    step.status = "approved" if approve else "rejected"
    step.decided_by_id, step.decided_at, step.comment = actor.id, now, text
    quote = uow.session.get(Quote, approval.quote_id)
    assert quote is not None
    finished = not approve or step.level >= approval.levels_needed
    if not approve:
        approval.status, approval.reason, approval.decided_at = "rejected", text, now
        quote.status = "rejected"
        for later in approval.steps:
            if later.level > step.level:
                later.status = "cancelled"
    elif finished:
        approval.status, approval.decided_at = "approved", now
        quote.status, quote.approved_at = "approved", now
    else:
        approval.current_level = step.level + 1
        _step(approval).status = "pending"
    ref = approval.ref  # read before the flush: after a failed flush the session cannot load anything
    try:
        uow.session.flush()
    except StaleDataError:
        raise StaleAction("approval.race", ref=ref) from None
    audit.record(uow.session, actor_id=actor.id, action="approval.approve" if approve else "approval.reject",
                 record_type="approval", record_id=approval.id, now=now, level=step.level, role=step.role,
                 quote_id=approval.quote_id, text=text, result=approval.status)
    uow.emit(ApprovalStepDecided(approval_id=approval.id, level=step.level,
                                 decision="approved" if approve else "rejected", actor_id=actor.id))
    if approve and not finished:
        uow.emit(ApprovalStepOpened(approval_id=approval.id, level=approval.current_level))
    return Decision(approval, step, finished)


def do_cancel_for_superseded(uow: UnitOfWork, quote: Quote, *, by_quote: Quote, now: datetime) -> None:
    """The quote was superseded: a pending approval on it stops (its open card gets updated)."""
    approval = uow.session.scalar(select(Approval).where(Approval.quote_id == quote.id)
                                  .with_for_update(of=Approval).execution_options(populate_existing=True))
    if approval is None or approval.status != "pending":
        return
    level = approval.current_level
    approval.status, approval.decided_at = "cancelled", now
    for st in approval.steps:
        if st.status in ("pending", "waiting"):
            st.status = "cancelled"
    audit.record(uow.session, actor_id=by_quote.created_by_id, action="approval.cancel", record_type="approval",
                 record_id=approval.id, now=now, superseded_by=by_quote.id)
    uow.emit(ApprovalCancelled(approval_id=approval.id, level=level, by_quote_id=by_quote.id))


def do_withdraw_for_closed_deal(uow: UnitOfWork, actor: User, deal: Deal, *, now: datetime) -> list[Approval]:
    """The deal was won or lost: its pending approvals are withdrawn (audited) and their open cards retired.

    Their quotes become `withdrawn` too, so `order Q-n` refuses them.
    """
    pending = list(uow.session.scalars(select(Approval).where(Approval.deal_id == deal.id, Approval.status == "pending")
                                       .order_by(Approval.id).with_for_update(of=Approval)
                                       .execution_options(populate_existing=True)))
    for approval in pending:
        level = approval.current_level
        approval.status, approval.decided_at = "withdrawn", now
        for st in approval.steps:
            if st.status in ("pending", "waiting"):
                st.status = "cancelled"
        quote = uow.session.get(Quote, approval.quote_id)
        if quote is not None and quote.status == "pending":
            quote.status = "withdrawn"
        audit.record(uow.session, actor_id=actor.id, action="approval.withdraw", record_type="approval",
                     record_id=approval.id, now=now, deal_id=deal.id, deal_status=deal.status, level=level)
        uow.emit(ApprovalWithdrawn(approval_id=approval.id, level=level, deal_id=deal.id, deal_status=deal.status))
    if pending:
        uow.session.flush()
    return pending


# `my` and the Home tab run these on every call: built once (building a select cost more than running it).
_STEPS_WAITING_ON = (select(ApprovalStep).where(ApprovalStep.approver_id == bindparam("user_id"),
                                                ApprovalStep.status == "pending")
                     .order_by(ApprovalStep.id).limit(bindparam("limit")))
_STEPS_WAITING_COUNT = (select(func.count()).select_from(ApprovalStep)
                        .join(Approval, Approval.id == ApprovalStep.approval_id)
                        .where(ApprovalStep.approver_id == bindparam("user_id"), ApprovalStep.status == "pending",
                               Approval.status == "pending"))
# (the open step is the one just read: the approvals' steps are not read again, in a second query, by selectin)
_PENDING_APPROVALS = (select(Approval).where(Approval.id.in_(bindparam("ids", expanding=True)),
                                             Approval.status == "pending").options(lazyload(Approval.steps)))


def waiting_count(session: Session, user: User) -> int:
    """How many approval steps wait for this user (for a list that shows the first of them, asked when full)."""
    return int(session.scalar(_STEPS_WAITING_COUNT, {"user_id": user.id}) or 0)


def waiting_on(session: Session, user: User, *, limit: int = 20) -> list[tuple[Approval, ApprovalStep]]:
    """Approvals whose open step waits for this user, oldest first (two queries)."""
    steps = list(session.scalars(_STEPS_WAITING_ON, {"user_id": user.id, "limit": limit}))
    if not steps:
        return []
    approvals = {a.id: a for a in session.scalars(_PENDING_APPROVALS, {"ids": [s.approval_id for s in steps]})}
    return [(approvals[s.approval_id], s) for s in steps if s.approval_id in approvals]
