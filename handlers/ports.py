"""Ports the outbox deliverer talks through. Platform adapters in bot/ implement `Messenger`;
only process entry points (bot/app.py, bot/processes.py) wire concrete ones in.

Contract for every `*_now` method (the only functions that reach a chat platform, and only the
deliverer calls them): return a `PlatformRef` on success; raise `DeliveryError` on failure —
`retry_after` (seconds) when the platform asked us to wait (HTTP 429, WeCom 45009), `permanent=True`
when retrying cannot help (unknown user, channel archived, invalid request).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from cards.model import Card


@dataclass(frozen=True)
class Recipient:
    user_id: int
    platform: str
    external_id: str  # Slack user id, WeCom userid, console user key
    locale: str
    team: str | None = None  # Slack: the user's workspace (picks the bot token in multi-workspace mode)


@dataclass(frozen=True)
class PlatformRef:
    """Where a message landed, so a later change can update it in place."""

    platform: str
    channel: str | None = None  # Slack channel / DM id, WeCom chatid
    message_ref: str | None = None  # Slack ts, WeCom msgid
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. WeCom task_id, response_code


@dataclass(frozen=True)
class SwarmSpec:
    record_type: str  # deal | ticket
    record_id: int
    ref: str  # "D-7"
    title: str  # human name, e.g. the deal name (may be Chinese)
    topic: str  # stage · amount · close date
    owner_external_id: str | None
    member_external_ids: tuple[str, ...]
    card: Card  # posted (and pinned where the platform can) as the first message
    locale: str = "en"
    team: str | None = None  # Slack: the owner's workspace, where the channel is created


@dataclass(frozen=True)
class SendTag:
    """Marks a message with the outbox row it carries (Slack: message metadata), so a retry after an
    ambiguous failure can look for it instead of posting a second copy."""

    outbox_id: int
    key: str  # the outbox row's dedupe_key


class DeliveryError(Exception):
    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False,
                 ambiguous: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        # True when the platform may have acted anyway (timeout, 5xx, connection dropped after sending).
        self.ambiguous = ambiguous


class Messenger(Protocol):
    platform: str

    def send_now(self, recipient: Recipient, card: Card) -> PlatformRef: ...

    def update_now(self, ref: PlatformRef, card: Card) -> PlatformRef: ...

    def create_swarm_now(self, spec: SwarmSpec) -> PlatformRef: ...

    def post_swarm_now(self, channel: str, card: Card) -> PlatformRef: ...

    def archive_swarm_now(self, channel: str) -> None: ...
