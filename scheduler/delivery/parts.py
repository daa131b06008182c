"""What every delivery step works with, built once per Deliverer and taken by both the row-by-row
operations (operations.py) and the batch of messages to people (batch.py)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.pacing import Pacer
from handlers.ports import Messenger
from scheduler.delivery.calls import PlatformCalls
from scheduler.delivery.queue import OutboxQueue
from scheduler.delivery.records import DeliveryRecords


@dataclass(frozen=True)
class DeliveryParts:
    factory: sessionmaker[Session]
    messengers: Mapping[str, Messenger]
    clock: Clock
    config: Config
    queue: OutboxQueue
    records: DeliveryRecords
    calls: PlatformCalls
    pacer: Pacer
