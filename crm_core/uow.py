"""Unit of work: one transaction per user action, owned by the runner (never by services)."""
from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from crm_core.config import Config
from crm_core.db import WRITE_INTENT
from crm_core.events import Event


class UnitOfWork:
    """`with uow:` begins a transaction and commits on success, rolls back on error.

    Services may flush but never commit. Domain events recorded during the work (`uow.emit`) are
    turned into outbox rows by the caller before the commit (handlers.notify.flush_events).
    Entering a UnitOfWork that is already open is refused, so a nested action can never commit
    half of an outer one.
    """

    def __init__(self, session_factory: sessionmaker[Session], config: Config) -> None:
        self._factory = session_factory
        self.config = config
        self.session: Session = None  # type: ignore[assignment]
        self.events: list[Event] = []
        self._open = False
        self.before_commit: list[Any] = []

    def __enter__(self) -> "UnitOfWork":
        if self._open:
            raise RuntimeError("UnitOfWork is already open: one transaction per action")
        self._open = True
        self.events = []
        self.session = self._factory()
        self.session.begin()
        # Procure the connection now, declaring the intent to write (SQLite: BEGIN IMMEDIATE; see crm_core.db).
        self.session.connection(execution_options={WRITE_INTENT: True})
        return self

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def commit(self) -> None:
        for hook in self.before_commit:
            hook(self)
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
        self.events = []

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self.session.close()
            self._open = False
