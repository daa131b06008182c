"""Domain events: facts recorded by services; handlers turn them into outbox notifications."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class LeadAssigned(Event):
    lead_id: int
    owner_id: int
    previous_owner_id: int | None = None
    reason: str = "new"  # new | reassigned


@dataclass(frozen=True)
class LeadCreated(Event):
    """A new lead was stored (whoever owns it: the notification routes of `lead.new` hear of every one)."""
    lead_id: int


@dataclass(frozen=True)
class LeadUpdatedByDuplicate(Event):
    """A lead typed, posted or imported again was the same person as `lead_id`, which took what it added."""
    lead_id: int
    source: str
    actor_id: int | None = None  # who typed it (None: the web form, the API, an import)
    matched_on: str = ""  # email | phone | name_company
    merge_id: int | None = None


@dataclass(frozen=True)
class DealStageChanged(Event):
    deal_id: int
    from_stage: str | None
    to_stage: str
    actor_id: int | None


@dataclass(frozen=True)
class DealClosed(Event):
    deal_id: int
    won: bool
    actor_id: int | None


@dataclass(frozen=True)
class ActivityLogged(Event):
    activity_id: int
    deal_id: int | None
    lead_id: int | None
    ticket_id: int | None
    actor_id: int


@dataclass(frozen=True)
class SwarmRequested(Event):
    record_type: str  # deal | ticket
    record_id: int
    actor_id: int | None
    reason: str = "stage"


@dataclass(frozen=True)
class Generic(Event):
    """For later areas that want to emit without adding a class first."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TicketOpened(Event):
    ticket_id: int
    owner_id: int
    actor_id: int | None


@dataclass(frozen=True)
class TicketClosed(Event):
    ticket_id: int
    actor_id: int | None


@dataclass(frozen=True)
class RenewalDealCreated(Event):
    contract_id: int
    deal_id: int
    actor_id: int | None  # None: created by the scheduler


# --- quotes, approvals, orders, payments (issue 3 part A) ---

@dataclass(frozen=True)
class QuoteCreated(Event):
    quote_id: int
    deal_id: int
    actor_id: int
    superseded_quote_id: int | None = None


@dataclass(frozen=True)
class ApprovalStepEvent(Event):
    """Something happened to one step (`level`, 1-based) of an approval: the fields every such event starts with
    (its notifiers look up the approval and step from them, handlers/approvals.py)."""

    approval_id: int
    level: int


@dataclass(frozen=True)
class ApprovalStepOpened(ApprovalStepEvent):
    """An approval now waits at `level` for that step's approver."""


@dataclass(frozen=True)
class ApprovalStepDecided(ApprovalStepEvent):
    decision: str  # approved | rejected
    actor_id: int


@dataclass(frozen=True)
class ApprovalCancelled(ApprovalStepEvent):
    """A pending approval stopped because a newer quote version superseded its quote."""

    by_quote_id: int


@dataclass(frozen=True)
class OrderCreated(Event):
    order_id: int
    actor_id: int


@dataclass(frozen=True)
class PaymentRecorded(Event):
    payment_id: int
    order_id: int


@dataclass(frozen=True)
class LeadMerged(Event):
    """A lead was merged into another (by hand) or split back out: both owners hear of it."""

    merge_id: int
    kept_lead_id: int
    merged_lead_id: int | None
    actor_id: int | None
    owner_ids: tuple[int, ...]
    split: bool = False


@dataclass(frozen=True)
class WorkspaceRequested(Event):
    """A chat workspace that is not invited asked to install (crm_core/services/workspaces.py): ask the admins."""
    workspace_id: int
# --- ownership, deal rules, payment flags (issue "Data a team can trust", h3) ---

@dataclass(frozen=True)
class OwnerChanged(Event):
    """One record changed hands: both the old and the new owner are told."""

    record_type: str  # deal | lead
    record_id: int
    old_owner_id: int
    new_owner_id: int
    actor_id: int
    audit_id: int


@dataclass(frozen=True)
class RecordsTransferred(Event):
    """`transfer li wang`: everything open of one person moved to another; one message to each side."""

    from_user_id: int
    to_user_id: int
    actor_id: int
    counts: dict[str, int]
    audit_id: int


@dataclass(frozen=True)
class ApprovalWithdrawn(ApprovalStepEvent):
    """The deal was closed (won or lost) while the approval was pending: its open card is retired."""

    deal_id: int
    deal_status: str  # won | lost


@dataclass(frozen=True)
class PaymentFlagged(Event):
    """A payment beyond the invoice total, or to a cancelled order: accepted, and owner + finance are told."""

    payment_id: int
    order_id: int
    reason: str  # overpaid | cancelled_order


@dataclass(frozen=True)
class TaskAssigned(Event):
    """Someone gave a colleague a task (`task new D-3 "…" @chen`): the assignee is told, with Done / Open."""
    task_id: int
    owner_id: int
    actor_id: int


@dataclass(frozen=True)
class LeadPooled(Event):
    """A lead went to the pool: released by its owner, or moved by a follow-up ladder."""
    lead_id: int
    previous_owner_id: int
    reason: str
    how: str  # released | pooled


@dataclass(frozen=True)
class LeadClaimed(Event):
    lead_id: int
    owner_id: int
    pooled_at: datetime | None = None  # when it had gone to the pool: names the pool card to update


@dataclass(frozen=True)
class TicketSlaBreached(Event):
    """A ticket's respond-by or resolve-by passed while its clock was running (recorded once, in SlaBreach)."""
    ticket_id: int
    clock: str  # respond | resolve
    due_at: datetime
