"""Discount approvals: approve / reject (commands and card buttons), the notifications each step
writes to the outbox, and the `my` section listing approvals waiting on me.

Who may decide: only the open step's designated approver, or an admin; never the requester. A
late click (already decided, superseded quote) changes nothing and says what happened.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from cards.builders.common import list_card
from cards.builders.quotes import approval_card, quote_card, t
from cards.i18n import translator
from cards.format import local_time, money_or_dash as fmt_money, pct as fmt_pct
from cards.model import Button, Card, Reply, Section
from crm_core.clock import Clock
from crm_core.errors import NotFound
from crm_core.events import (ApprovalCancelled, ApprovalStepDecided, ApprovalStepEvent, ApprovalStepOpened,
                             ApprovalWithdrawn, Event)
from crm_core.models import Approval, ApprovalStep, Deal, Quote, User
from crm_core.queries.people import user_name
from crm_core.outbox import enqueue
from crm_core.services.approvals import check_decidable, do_decide, waiting_count, waiting_on
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.help import MY_SECTIONS
from handlers.invocation import Invocation
from handlers.notify import on
from handlers.presentation.quotes import NOBODY, approval_view, quote_view, role_name
from handlers.registry import action, command
from handlers.swarm import swarm_line

t_chat = translator("chat")
MY_LIMIT = 10
MY_BUTTONS = 5


def _then(locale: str, first: str, second: str) -> str:
    """Two sentences in a row: a space between them in English, none in Chinese."""
    return t_chat(locale, "then", first=first, second=second)


def _with_next_step(uow: UnitOfWork, approval: Approval, locale: str, note: str) -> str:
    """`note`, then who decides next when the approval still waits on someone."""
    nxt = approval.current_step
    if nxt is None:
        return note
    return _then(locale, note, t(locale, "approval.next", role=role_name(locale, nxt.role),
                                 approver=user_name(uow.session, nxt.approver_id, NOBODY)))


def _decision_note(uow: UnitOfWork, approval: Approval, level: int, locale: str) -> str:
    step = approval.step(level)
    assert step is not None
    if step.status == "rejected":
        return t(locale, "approval.you_rejected", ref=approval.ref, reason=step.comment or "")
    note = t(locale, "approval.you_approved", level=level, ref=approval.ref)
    if approval.status == "approved":
        return _then(locale, note, t(locale, "approval.done", ref=approval.ref, quote=f"Q-{approval.quote_id}"))
    return _with_next_step(uow, approval, locale, note)


def _decide(uow: UnitOfWork, clock: Clock, actor: User, locale: str, approval_id: int, *, approve: bool,
            text: str | None) -> Reply:
    decision = do_decide(uow, actor, approval_id, approve=approve, text=text, now=clock.now())
    a, level = decision.approval, decision.step.level
    note = _decision_note(uow, a, level, locale)
    return Reply(cards=(approval_card(locale, approval_view(uow, a, level), actionable=False, notes=(note,)),),
                 replace_original=True)


@command("approve")
@action("approval.approve", value=("approval",))
def approve_command(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _decide(uow, clock, actor, locale, inv.args["approval"].id, approve=True, text=inv.args.get("comment"))


@command("reject")
@action("approval.reject", value=("approval",))
def reject_command(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    """With a reason (typed, or collected by a Slack / WeCom form) it rejects; without, it says what to type."""
    ref = inv.args["approval"]
    reason = str(inv.args.get("reason") or "").strip()
    if reason:
        return _decide(uow, clock, actor, locale, ref.id, approve=False, text=reason)
    approval = uow.session.get(Approval, ref.id)
    if approval is None:
        raise NotFound(ref=str(ref))
    check_decidable(uow, actor, approval)  # a stale or foreign click says so now, not after typing a reason
    body = t(locale, "approval.reject_how.body", ref=approval.ref,
             requester=user_name(uow.session, approval.requester_id, NOBODY))
    card = Card(title=t(locale, "approval.reject_how", ref=approval.ref), locale=locale, blocks=(Section(body),),
                kind="prompt", ref=approval.ref)
    return Reply(cards=(card,), form={"type": "reject", "ref": approval.ref})


# --- notifications ------------------------------------------------------------------------------

def _step_ref(approval_id: int, level: int) -> str:
    return f"approval:{approval_id}:step:{level}"


E = TypeVar("E", bound=ApprovalStepEvent)
StepNotifier = Callable[[UnitOfWork, E, datetime, Approval, ApprovalStep, str], None]


def on_step(event_type: type[E]) -> Callable[[StepNotifier[E]], StepNotifier[E]]:
    """Register a notifier of an approval-step event, called with the approval and the step the event names and
    the approver's language; not called when either is gone (nothing to tell then)."""
    def deco(fn: StepNotifier[E]) -> StepNotifier[E]:
        @on(event_type)
        def notifier(uow: UnitOfWork, event: Event, now: datetime) -> None:
            assert isinstance(event, event_type)
            approval = uow.session.get(Approval, event.approval_id)
            step = approval.step(event.level) if approval else None
            if approval is None or step is None:
                return
            fn(uow, event, now, approval, step, locale_of(uow.session.get(User, step.approver_id), uow.config))
        return fn
    return deco


@on_step(ApprovalStepOpened)
def ask_approver(uow: UnitOfWork, event: ApprovalStepOpened, now: datetime, approval: Approval, step: ApprovalStep,
                 locale: str) -> None:
    view = approval_view(uow, approval, step.level)
    note = t(locale, "approval.ask", requester=view.requester, discount=view.discount_pct,
             deal=f"{view.quote.deal_ref} {view.quote.deal_name}", level=step.level, levels=approval.levels_needed,
             role=role_name(locale, step.role))
    ref_key = _step_ref(approval.id, step.level)
    enqueue(uow.session, dedupe_key=f"{ref_key}:ask", kind="approval.request", target_type="user",
            target_id=step.approver_id, payload=approval_card(locale, view, actionable=True, notes=(note,)).to_dict(),
            now=now, record_type="approval", record_id=approval.id, ref_key=ref_key)
    c = uow.config.company.locale
    swarm_line(uow, approval.deal_id, key=f"{ref_key}:swarm", kind="approval.request", now=now,
               text=t(c, "approval.requested_swarm", quote=view.quote.ref, discount=view.discount_pct,
                      total=view.quote.total, ref=approval.ref, approver=view.approver))


def _replace_approver_card(uow: UnitOfWork, approval: Approval, step: ApprovalStep, locale: str, note: str,
                           now: datetime) -> None:
    """The approver's card for this step, updated in place without buttons, with one line saying why
    (decided, superseded, withdrawn): the one update the three notifiers below share."""
    ref_key = _step_ref(approval.id, step.level)
    enqueue(uow.session, dedupe_key=f"{ref_key}:update", kind="approval.request", op="update", target_type="user",
            target_id=step.approver_id, ref_key=ref_key, now=now, record_type="approval", record_id=approval.id,
            payload=approval_card(locale, approval_view(uow, approval, step.level), actionable=False,
                                  notes=(note,)).to_dict())


@on_step(ApprovalStepDecided)
def tell_about_decision(uow: UnitOfWork, event: ApprovalStepDecided, now: datetime, approval: Approval,
                        step: ApprovalStep, a_loc: str) -> None:
    ref_key = _step_ref(approval.id, step.level)
    who, at = user_name(uow.session, event.actor_id, NOBODY), local_time(uow.config, step.decided_at) or ""
    # 1. The approver's card for this step is replaced in place: who decided, and when.
    decided = t(a_loc, "approval.decided_by", decision=t(a_loc, f"decision.{event.decision}"), who=who, at=at)
    _replace_approver_card(uow, approval, step, a_loc, decided, now)
    # 2. The requester hears about every decision.
    requester = uow.session.get(User, approval.requester_id)
    r_loc = locale_of(requester, uow.config)
    quote = uow.session.get(Quote, approval.quote_id)
    assert quote is not None
    notes = [_requester_note(uow, approval, step.level, r_loc, who)]
    enqueue(uow.session, dedupe_key=f"{ref_key}:requester", kind="approval.decided", target_type="user",
            target_id=approval.requester_id, now=now, record_type="approval", record_id=approval.id,
            payload=quote_card(r_loc, quote_view(uow, quote), notes=notes).to_dict())
    # 3. The deal's swarm channel, if it has one.
    c = uow.config.company.locale
    swarm_line(uow, approval.deal_id, key=f"{ref_key}:decided:swarm", kind="approval.decided", now=now,
               text=_requester_note(uow, approval, step.level, c, who))


def _requester_note(uow: UnitOfWork, approval: Approval, level: int, locale: str, who: str) -> str:
    step = approval.step(level)
    assert step is not None
    quote_ref, deal_ref = f"Q-{approval.quote_id}", f"D-{approval.deal_id}"
    if step.status == "rejected":
        return _then(locale, t(locale, "approval.step_rejected", ref=approval.ref, who=who, reason=step.comment or ""),
                     t(locale, "approval.quote_rejected", quote=quote_ref, deal=deal_ref))
    note = t(locale, "approval.step_approved", ref=approval.ref, level=level, role=role_name(locale, step.role), who=who)
    if approval.status == "approved":
        return _then(locale, note, t(locale, "approval.quote_approved", quote=quote_ref))
    return _with_next_step(uow, approval, locale, note)


@on_step(ApprovalCancelled)
def retire_open_card(uow: UnitOfWork, event: ApprovalCancelled, now: datetime, approval: Approval,
                     step: ApprovalStep, locale: str) -> None:
    """The quote was superseded: the approver's open card loses its buttons and says why."""
    note = t(locale, "approval.superseded", quote=f"Q-{approval.quote_id}", new=f"Q-{event.by_quote_id}")
    _replace_approver_card(uow, approval, step, locale, note, now)


@on_step(ApprovalWithdrawn)
def retire_card_of_closed_deal(uow: UnitOfWork, event: ApprovalWithdrawn, now: datetime, approval: Approval,
                               step: ApprovalStep, locale: str) -> None:
    """The deal was won or lost: the approver's open card is updated in place, without buttons, saying why."""
    note = t(locale, "approval.withdrawn", ref=approval.ref, deal=f"D-{event.deal_id}",
             status=t(locale, f"deal.{event.deal_status}"))
    _replace_approver_card(uow, approval, step, locale, note, now)


# --- `my`: approvals waiting on me --------------------------------------------------------------

# `my` and the Home tab run these on every call: built once (building a select cost more than running it). The
# lines show columns only: no quote lines (a selectin query of their own), no joins of a deal's account, contact, owner.
_QUOTES_IN = select(Quote).where(Quote.id.in_(bindparam("ids", expanding=True))).options(lazyload(Quote.lines))
_DEALS_IN = (select(Deal).where(Deal.id.in_(bindparam("ids", expanding=True)))
             .options(lazyload(Deal.account), lazyload(Deal.contact), lazyload(Deal.owner)))
_NAMES_IN = select(User.id, User.name).where(User.id.in_(bindparam("ids", expanding=True)))


def approvals_waiting_on_me(uow: UnitOfWork, actor: User, locale: str, clock: Clock) -> Card | None:
    """A bounded number of queries whatever the number of rows (quotes, deals, requesters in one go each)."""
    rows = waiting_on(uow.session, actor, limit=MY_LIMIT + 1)  # one more: whether to count the rest
    more = waiting_count(uow.session, actor) - MY_LIMIT if len(rows) > MY_LIMIT else 0
    rows = rows[:MY_LIMIT]
    if not rows and actor.rank == 0:
        return None
    s = uow.session
    quotes: dict[int, Quote] = {}
    deals: dict[int, Deal] = {}
    names: dict[int, str] = {}
    if rows:  # a manager with nothing waiting sees the empty card without three reads of nothing
        quotes = {q.id: q for q in s.scalars(_QUOTES_IN, {"ids": [a.quote_id for a, _ in rows]})}
        deals = {d.id: d for d in s.scalars(_DEALS_IN, {"ids": [a.deal_id for a, _ in rows]})}
        names = dict(s.execute(_NAMES_IN, {"ids": [a.requester_id for a, _ in rows]}).all())
    lines, buttons = [], []
    for approval, step in rows:
        quote, deal = quotes[approval.quote_id], deals[approval.deal_id]
        lines.append(f"{approval.ref} · {quote.ref} · {deal.ref} {deal.name} · {fmt_pct(approval.discount_pct)}%"
                     f" · {fmt_money(quote.total, quote.currency)} · {names.get(approval.requester_id, '—')}"
                     f" · {step.level}/{approval.levels_needed}")
        if len(buttons) < MY_BUTTONS:
            buttons.append(Button(f"{t(locale, 'btn.approve')} {approval.ref}", "approval.approve", approval.ref,
                                  "primary"))
    card = list_card(locale, t(locale, "approval.mine.title"), lines,
                     hint=t(locale, "approval.mine.more", n=more) if more > 0 else None)
    return Card(title=card.title, locale=locale, blocks=card.blocks, buttons=tuple(buttons), kind="list")


if approvals_waiting_on_me not in MY_SECTIONS:
    MY_SECTIONS.append(approvals_waiting_on_me)
