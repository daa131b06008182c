"""What every part of a process shares: settings, the team configuration, the database, the clock and the
runner (the one transaction owner). The chat adapters take this, not the whole Wiring (bot/wiring.py), which
also holds the adapters' own parts: so the wiring may name the adapters' types without a circle of imports.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.uow import UnitOfWork
from handlers.runner import Runner


@dataclass
class Shared:
    settings: Settings
    config: Config
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    runner: Runner

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        """A unit of work from the process's one transaction owner: its events become outbox rows on commit."""
        return self.runner.uow(read_only=read_only)
