"""Builds the process's object graph once: settings → engine, config, clock, runner."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import handlers  # noqa: F401 - registers every command, action and notifier
from bot.settings import Settings
from bot.shared import Shared
from cards.builders.routes import template_problems
from cards.documents.fonts import configure as configure_font
from crm_core.clock import Clock, SystemClock
from crm_core.config import Config, load_config
from crm_core.errors import ConfigError
from crm_core.db import make_engine, make_session_factory
from crm_core.migrate import startup_lock, upgrade
from crm_core.services.users import sync_users
from handlers.notify import unit_of_work_factory
from handlers.runner import Runner

if TYPE_CHECKING:  # for readers and checkers; the adapters import bot/shared.py, never this module's types
    from slack_bolt import App

    from bot.slack.context import SlackContext
    from bot.slack.oauth import OAuthParts
    from bot.slack.workspaces import WorkspaceGate
    from bot.wecom.parts import WeComRuntime


@dataclass
class SlackParts:
    """The Slack adapter's pieces, each made once per process (bot/slack/app.py) and then shared: inbox
    recovery answers through `ctx`, the deliverer and recovery sign in with `oauth`."""

    app: App | None = None  # the Bolt app behind /slack/events (mount)
    ctx: SlackContext | None = None
    oauth: OAuthParts | None = None  # OAuth mode only
    workspaces: WorkspaceGate | None = None  # the invited / approved workspaces
    ack_sessions: sessionmaker[Session] | None = None  # a small pool for what happens before an ack
    listener_executor: Executor | None = None  # Bolt's listener threads (tests: an inline executor)
    work_executor: Executor | None = None  # the use cases after the ack (default: the listener executor's)
    send_executor: Executor | None = None  # their posts to Slack (default: inline with tests' inline listener)


@dataclass
class Lifespan:
    """What starts and stops with the web app (bot/app.py runs these in its lifespan)."""

    on_start: list[Callable[[], None]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    embedded_workers: bool = False  # the deliverer and the scheduler run in this process (bot/processes.py)
    inbox_recovery_at_start: bool = False  # requests a dead process acked are finished at start


@dataclass
class Wiring(Shared):
    """The shared parts (bot/shared.py), and each adapter's parts made once per process."""

    slack: SlackParts = field(default_factory=SlackParts)
    wecom: WeComRuntime | None = None  # made on first use when WeCom is configured (bot/wecom/runtime.py)
    lifespan: Lifespan = field(default_factory=Lifespan)

    def prepare_database(self) -> None:
        """Apply migrations and bring users in line with the configuration (under the start-up lock, so
        processes starting together neither migrate nor insert the configured users twice)."""
        with startup_lock(self.engine):
            upgrade(self.engine)
            with self.session_factory.begin() as session:
                sync_users(session, self.config, self.clock.now())


def checked_config(path: Any) -> Config:
    """The configuration file, validated: the schema (crm_core.config) and what only cards/ can check — the
    route templates compile and use known variables. Raises ConfigError listing every problem."""
    config = load_config(path)
    problems = template_problems(config.routes)
    if problems:
        raise ConfigError(problems)
    return config


def build(settings: Settings | None = None, *, clock: Clock | None = None, config: Config | None = None,
          engine: Engine | None = None) -> Wiring:
    settings = settings or Settings()
    configure_font(settings.chatcrm_cjk_font)
    config = config or checked_config(settings.chatcrm_config)
    engine = engine or make_engine(settings.database_url, sqlite_synchronous=settings.chatcrm_sqlite_synchronous)
    clock = clock or SystemClock()
    factory = make_session_factory(engine)
    return Wiring(settings=settings, config=config, engine=engine, session_factory=factory, clock=clock,
                  runner=Runner(unit_of_work_factory(factory, config, clock)))
