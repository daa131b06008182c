"""What every delivery step works with, built once per Deliverer. The row-by-row operations
(operations.py) and the batch of messages to people (batch.py) are DeliveryParts themselves: each is made
from the Deliverer's parts with `DeliveryParts.of`, so the parts are declared (and set up) once."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.pacing import Pacer
from handlers.ports import Messenger
from scheduler.delivery.calls import PlatformCalls
from scheduler.delivery.queue import OutboxQueue
from scheduler.delivery.records import DeliveryRecords


P = TypeVar("P", bound="DeliveryParts")


@dataclass
class DeliveryParts:
    factory: sessionmaker[Session]
    messengers: Mapping[str, Messenger]
    clock: Clock
    config: Config
    queue: OutboxQueue
    records: DeliveryRecords
    calls: PlatformCalls
    pacer: Pacer

    def of(self, step: type[P]) -> P:
        """These parts as a delivery step of class `step` (Operations, BatchSender)."""
        return step(**{f.name: getattr(self, f.name) for f in fields(self)})
