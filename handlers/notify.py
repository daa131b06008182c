"""Domain events → outbox rows, in the same transaction (cosmicpython's collect_new_events, made durable).

Each area registers notifiers with @on(EventType). A notifier writes outbox rows through
`crm_core.outbox.enqueue` with an idempotency key, so a retried action cannot notify twice.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from crm_core.clock import Clock
from crm_core.events import Event
from crm_core.uow import UnitOfWork

Notifier = Callable[[UnitOfWork, Event, datetime], None]
NOTIFIERS: dict[type[Event], list[Notifier]] = {}


def on(event_type: type[Event]) -> Callable[[Notifier], Notifier]:
    def deco(fn: Notifier) -> Notifier:
        NOTIFIERS.setdefault(event_type, []).append(fn)
        return fn
    return deco


def flush_events(uow: UnitOfWork, clock: Clock) -> None:
    """Turn every event recorded so far into outbox rows; events raised by notifiers are handled too."""
    now = clock.now()
    seen = 0
    while seen < len(uow.events):
        event = uow.events[seen]
        seen += 1
        for notifier in NOTIFIERS.get(type(event), []):
            notifier(uow, event, now)
    uow.events = []
