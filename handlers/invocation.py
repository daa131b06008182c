"""What adapters hand to the runner: platform-neutral, frozen, already resolved to our user."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Invocation:
    actor_id: int
    kind: Literal["command", "action"]
    name: str  # command spec name ("deal set") or action id ("deal.advance")
    args: dict[str, Any] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    platform: str = "console"
    conversation: str | None = None
    idempotency_key: str | None = None
    text: str = ""
    spans: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict, compare=False)  # where in text
    # The idempotency key names a row of the durable inbox (crm_core.inbox) that the adapter claimed: that row,
    # not processed_invocations, records what the request did (Runner.answer, Runner.settle).
    inboxed: bool = False
