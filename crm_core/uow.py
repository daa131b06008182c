"""Unit of work: one transaction per user action, owned by the runner (never by services).

Every unit of work that may change state comes from one `UnitOfWorkFactory`, built once by the
composition root (bot/wiring.py) with the event flush (handlers.notify) as its before-commit step: so
*every* `with uow:` turns the domain events it recorded into outbox rows in the same transaction, and
no caller has to remember to. A unit committed with events nobody turned into rows refuses to commit
(`UnflushedEvents`): a notification can never be lost silently.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.db import WRITE_INTENT, read_only as read_only_factory
from crm_core.events import Event

Hook = Callable[["UnitOfWork"], None]
T = TypeVar("T")


# Tables no view shows (the request's inbox row, the outbox, the replies of processed invocations, the audit
# trail): writing them keeps what `UnitOfWork.memo` built.
BOOKKEEPING = frozenset({"inbox", "outbox", "processed_invocations", "audit_log"})


class UnflushedEvents(RuntimeError):
    """A unit of work was about to commit a state change without the outbox rows of its events."""


class UnitOfWork:
    """`with uow:` begins a transaction and commits on success, rolls back on error.

    Services may flush but never commit. Domain events recorded during the work (`uow.emit`) are
    turned into outbox rows by the `before_commit` steps (the factory's event flush). Entering a
    UnitOfWork that is already open is refused, so a nested action can never commit half of an outer
    one. `read_only=True`: a pure read (SQLite: no write lock; PostgreSQL: READ ONLY); a write fails.
    """

    def __init__(self, session_factory: sessionmaker[Session], config: Config, *,
                 before_commit: Sequence[Hook] = (), clock: Clock | None = None, read_only: bool = False) -> None:
        self._factory = session_factory
        self.config = config
        self.clock = clock  # the time the unit's events are stamped with (None: the flush's own clock)
        self.read_only = read_only
        self.session: Session = None  # type: ignore[assignment]
        self.events: list[Event] = []
        self._open = False
        self.before_commit: list[Hook] = list(before_commit)
        self._memo: dict[Hashable, Any] = {}

    def reader(self) -> "UnitOfWork":
        """A read-only unit of work over the same database and configuration (the reading half of a job
        that reads a lot, then writes briefly)."""
        return UnitOfWork(self._factory, self.config, clock=self.clock, read_only=True)

    def __enter__(self) -> "UnitOfWork":
        if self._open:
            raise RuntimeError("UnitOfWork is already open: one transaction per action")
        self._open = True
        self.events = []
        self._memo = {}
        if self.read_only:
            self.session = read_only_factory(self._factory)()
            self.session.begin()
            self.session.connection()
            return self
        self.session = self._factory()
        event.listen(self.session, "after_flush", self._forget)
        event.listen(self.session, "do_orm_execute", self._forget_on_write)
        self.session.begin()
        # Procure the connection now, declaring the intent to write (SQLite: BEGIN IMMEDIATE; see crm_core.db).
        self.session.connection(execution_options={WRITE_INTENT: True})
        return self

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def hold_loaded(self) -> None:
        """Keep every row this unit loads until it ends (SQLAlchemy's strong-referencing recipe): the session's
        identity map is weak, so a row the handler let go of — the approval it decided, the requester — would
        be read again by the event flush. For units the size of one request, not for batch jobs."""
        refs: set[object] = set()
        self.session.info["held"] = refs

        def hold(_session: Session, instance: object) -> None:
            refs.add(instance)

        for name in ("loaded_as_persistent", "pending_to_persistent", "detached_to_persistent"):
            event.listen(self.session, name, hold)

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """`build()`, once per unit of work while nothing changes: a view (a quote, an approval) that the reply
        and the notifications both show is built once. Any flush or bulk write, or a pending change, forgets
        what was built, so a view never shows state older than the session's."""
        s = self.session
        if any(getattr(obj, "__tablename__", None) not in BOOKKEEPING for obj in (*s.new, *s.dirty, *s.deleted)):
            self._memo.clear()
            return build()
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]  # type: ignore[no-any-return]

    def _forget(self, session: Session, _context: Any) -> None:
        changed = (*session.new, *session.dirty, *session.deleted)
        if any(getattr(obj, "__tablename__", None) not in BOOKKEEPING for obj in changed):
            self._memo.clear()

    def _forget_on_write(self, state: ORMExecuteState) -> None:
        if state.is_select:
            return
        mapper = state.bind_mapper  # an ORM statement's entity; a plain table statement names its table
        table = mapper.local_table if mapper is not None else getattr(state.statement, "table", None)
        if getattr(table, "name", None) not in BOOKKEEPING:
            self._memo.clear()

    def commit(self) -> None:
        for hook in self.before_commit:
            hook(self)
        if self.events:
            raise UnflushedEvents(
                f"refusing to commit {len(self.events)} event(s) without their outbox rows "
                f"({', '.join(sorted({type(e).__name__ for e in self.events}))}): open units of work through "
                "the UnitOfWorkFactory built in bot/wiring.py")
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
            self.events = []
            self._memo = {}
            self.session.info.pop("held", None)
            self.session.close()
            self._open = False


class UnitOfWorkFactory:
    """The one owner of transactions: every unit of work of chat, REST, CLI, demo, import, jobs and modals
    comes from here, with the same before-commit steps (the event flush, injected by the composition root,
    since crm_core may not import handlers)."""

    def __init__(self, session_factory: sessionmaker[Session], config: Config, clock: Clock, *,
                 before_commit: Sequence[Hook] = ()) -> None:
        self.session_factory = session_factory
        self.config = config
        self.clock = clock
        self.before_commit = tuple(before_commit)

    def with_clock(self, clock: Clock) -> "UnitOfWorkFactory":
        """The same owner on another clock (the demo settles its history at a frozen "now")."""
        return UnitOfWorkFactory(self.session_factory, self.config, clock, before_commit=self.before_commit)

    def __call__(self, *, read_only: bool = False, clock: Clock | None = None) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.config, before_commit=self.before_commit,
                          clock=clock or self.clock, read_only=read_only)
