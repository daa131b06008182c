"""Builds the process's object graph once: settings → engine, config, clock, runner."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import handlers  # noqa: F401 - registers every command, action and notifier
from bot.settings import Settings
from cards.documents.fonts import configure as configure_font
from crm_core.clock import Clock, SystemClock
from crm_core.config import Config, load_config
from crm_core.db import make_engine, make_session_factory
from crm_core.migrate import startup_lock, upgrade
from crm_core.services.users import sync_users
from handlers.runner import Runner


@dataclass
class Wiring:
    settings: Settings
    config: Config
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    runner: Runner
    extras: dict[str, Any] = field(default_factory=dict)

    def prepare_database(self) -> None:
        """Apply migrations and bring users in line with the configuration (under the start-up lock, so
        processes starting together neither migrate nor insert the configured users twice)."""
        with startup_lock(self.engine):
            upgrade(self.engine)
            with self.session_factory.begin() as session:
                sync_users(session, self.config, self.clock.now())


def build(settings: Settings | None = None, *, clock: Clock | None = None, config: Config | None = None,
          engine: Engine | None = None) -> Wiring:
    settings = settings or Settings()
    configure_font(settings.chatcrm_cjk_font)
    config = config or load_config(settings.chatcrm_config)
    engine = engine or make_engine(settings.database_url)
    clock = clock or SystemClock()
    factory = make_session_factory(engine)
    return Wiring(settings=settings, config=config, engine=engine, session_factory=factory, clock=clock,
                  runner=Runner(factory, config, clock))
