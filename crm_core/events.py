"""Domain events: facts recorded by services; handlers turn them into outbox notifications."""
from __future__ import annotations

from dataclasses import dataclass, field
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
class LeadUpdatedByDuplicate(Event):
    lead_id: int
    source: str


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
