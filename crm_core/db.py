"""Engine and session factory. SQLite for the embedded default, PostgreSQL in production.

The transaction policy lives here, once, for every caller (docs/reliability.md, "SQLite under load"):

- Every transaction may write unless it was opened read-only, so on SQLite every transaction begins
  `BEGIN IMMEDIATE`: it takes the single write lock at the start and waits its turn (the busy timeout)
  instead of failing. A deferred transaction that reads and then writes fails at once with "database is
  locked" when another writer committed in between (a WAL snapshot cannot be upgraded), whatever the
  busy timeout — that is the error this policy makes impossible.
- Pure reads say so: `read_only(factory)` / `read_only_engine(engine)` (the `chatcrm_read_only`
  execution option). On SQLite they begin deferred (a WAL snapshot: they never block writers and
  writers never block them) with `PRAGMA query_only` on; on PostgreSQL the transaction is READ ONLY.
  A read that turns into a write therefore fails loudly at its first write, on both databases.
- A connection opened with isolation_level="AUTOCOMMIT" gets no BEGIN at all.
- SQLite has one write lock per file: a second transaction opened by the thread that already holds it
  (a look-up session inside a unit of work) could only wait for itself. It begins read-only instead, so
  it reads at once, and a write through it fails at once rather than hanging for the busy timeout.
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from crm_core.search_index import keep_search_index

READ_ONLY = "chatcrm_read_only"
WRITE_INTENT = "chatcrm_write_intent"  # the default now; kept so existing callers may still say it
CHANGES = "chatcrm_changes"  # connection info: statements run on it that may have changed something
SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for the write lock before giving up

_read_engines: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()
_local = threading.local()  # per thread: {id(engine): {id(dbapi connection) holding the write lock}}


def _writers(engine: Any) -> dict[int, "weakref.ref[Any]"]:
    held: dict[int, dict[int, weakref.ref[Any]]] = _local.__dict__.setdefault("held", {})
    return held.setdefault(id(engine), {})


def _holds_write_lock_elsewhere(engine: Any, me: int) -> bool:
    writers = _writers(engine)
    for key, ref in list(writers.items()):
        other = ref()
        if key == me:
            continue
        if other is None or other.invalidated or not other.in_transaction():
            del writers[key]  # stale: that transaction ended without telling us
            continue
        return True
    return False


SQLITE_SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}


def _count_changes(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    if not statement.startswith("SELECT"):  # anything else may have changed something (BEGIN, PRAGMA: harmless)
        conn.info[CHANGES] = conn.info.get(CHANGES, 0) + 1


def _start_counting(_dbapi_conn: Any, record: Any) -> None:
    record.info[CHANGES] = 0


def track_changes(engine: Engine) -> Engine:
    """Count, per connection, the statements that may have changed something (`changes_so_far`), from the
    moment each connection is opened (the engine's pool events outlive `dispose()`)."""
    event.listen(engine, "connect", _start_counting)
    event.listen(engine, "before_cursor_execute", _count_changes)
    return engine


def changes_so_far(session: Session) -> int | None:
    """How many statements that may have changed something the session's connection has run (a count to
    compare with a later one: equal means nothing was written in between); None when its engine does not
    count them (not built by `make_engine`): then nobody can say, so the caller must assume a change."""
    counted = session.connection().info.get(CHANGES)
    return None if counted is None else int(counted)


def make_engine(url: str, *, sqlite_synchronous: str | None = None, **kwargs: Any) -> Engine:
    """`sqlite_synchronous`: SQLite's `PRAGMA synchronous` for a database file ("full": SQLite's default, every
    commit waits for the disk; "normal": in WAL mode a commit survives the process dying but the last commits
    may be lost if the machine itself loses power — and a commit costs microseconds instead of an fsync)."""
    return track_changes(_make_engine(url, sqlite_synchronous=sqlite_synchronous, **kwargs))


def _make_engine(url: str, *, sqlite_synchronous: str | None = None, **kwargs: Any) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT)
        busy_ms = int(float(connect_args["timeout"]) * 1000)
        on_file = bool(u.database and u.database != ":memory:" and not u.database.startswith("file::memory:"))
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        # The writers of this process queue here, before BEGIN IMMEDIATE: a thread waiting on this lock is
        # woken the moment the holder commits, where SQLite's own busy handler sleeps and retries (1, 2, 5 …
        # 100 ms): 32 writers took turns by luck, and a write's p99 was 1.5 s. Writers of other processes
        # (worker, scheduler) still meet at SQLite's lock, and its busy timeout.
        turnstile = threading.Lock()
        holders: set[int] = set()  # id of each DB-API connection that holds it (one at a time)
        busy_s = float(connect_args["timeout"])

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself, so transactions are real on pysqlite.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # First, so that everything below (switching to WAL needs a lock too) waits instead of failing.
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA foreign_keys=ON")
            if on_file:
                cur.execute("PRAGMA journal_mode=WAL")
                if sqlite_synchronous:
                    cur.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS[sqlite_synchronous]}")
            cur.close()
            record.info["query_only"] = False

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            opts = conn.get_execution_options()
            if opts.get("isolation_level") == "AUTOCOMMIT":
                return
            read_only = bool(opts.get(READ_ONLY, False))
            fairy = conn.connection
            me = id(fairy.dbapi_connection)
            if not read_only and _holds_write_lock_elsewhere(engine, me):
                read_only = True  # this thread already holds the write lock on another connection
            if fairy.info.get("query_only", False) != read_only:
                # Straight on the driver: a pragma is no statement of the transaction (nor of query counts).
                fairy.dbapi_connection.execute(f"PRAGMA query_only={1 if read_only else 0}")
                fairy.info["query_only"] = read_only
            if not read_only and me not in holders and turnstile.acquire(timeout=busy_s):
                holders.add(me)  # (past the timeout: on without it, to SQLite's own wait)
            try:
                conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
            except BaseException:
                _leave(me)
                raise
            if not read_only:
                _writers(engine)[me] = weakref.ref(conn)

        def _leave(me: int) -> None:
            if me in holders:
                holders.discard(me)
                turnstile.release()

        def _ended(end: Any) -> Any:
            """The dialect's COMMIT / ROLLBACK, then the turnstile opens: once SQLite's lock is free (opened
            before, the next writer would meet the lock still held and sleep in SQLite's busy handler)."""
            def do_end(conn: Any) -> None:  # SQLAlchemy hands over its pool proxy of the DB-API connection
                try:
                    end(conn)
                finally:
                    _leave(id(getattr(conn, "dbapi_connection", conn)))
            return do_end

        engine.dialect.do_commit = _ended(engine.dialect.do_commit)  # type: ignore[method-assign]
        engine.dialect.do_rollback = _ended(engine.dialect.do_rollback)  # type: ignore[method-assign]

        def _released(conn: Any, *_: Any) -> None:
            try:
                _writers(engine).pop(id(conn.connection.dbapi_connection), None)
            except Exception:  # noqa: BLE001 - an invalidated connection holds nothing
                pass

        event.listen(engine, "commit", _released)
        event.listen(engine, "rollback", _released)

        @event.listens_for(engine.pool, "checkin")
        def _checked_in(dbapi_conn: Any, _record: Any) -> None:
            _writers(engine).pop(id(dbapi_conn), None)
            _leave(id(dbapi_conn))  # a connection given back without COMMIT or ROLLBACK (invalidated)

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def one_web_process(engine: Engine) -> bool:
    """Whether the web app on `engine` runs as a single process: SQLite's embedded mode (`chatcrm serve`
    refuses `--workers` above 1 there). A process may then keep to itself what several would have to share
    through the database: the signatures it has seen, the Home views it published."""
    return engine.dialect.name == "sqlite"


def insert_or_skip(session: Session, model: Any, *, on: Sequence[str]) -> Any:
    """INSERT … ON CONFLICT (`on`) DO NOTHING for `model`, in the dialect of the session's database. To learn
    whether the row went in, add `.returning(…)`: a skipped row returns nothing (rowcount is -1 on psycopg)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=list(on))


def read_only_engine(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions are read-only: never taking SQLite's write lock,
    READ ONLY on PostgreSQL. A write through it fails."""
    ro = _read_engines.get(engine)
    if ro is None:
        opts: dict[str, Any] = {READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            opts["postgresql_readonly"] = True
        ro = engine.execution_options(**opts)
        _read_engines[engine] = ro
    return ro


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that may write (SQLite: BEGIN IMMEDIATE). Use `read_only(factory)` for pure reads.
    Their flushes keep the search index in step (crm_core.search_index)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    keep_search_index(factory)
    return factory


def read_only(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The read-only twin of a session factory (cached on it): for look-ups that never write."""
    twin = factory.__dict__.get("_chatcrm_read_only")
    if twin is not None:
        return twin  # type: ignore[no-any-return]
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine):
        return factory  # bound to a connection (a test's transaction): that connection's policy applies
    kw = {k: v for k, v in factory.kw.items() if k != "bind"}
    twin = sessionmaker(bind=read_only_engine(bind), **kw)
    factory.__dict__["_chatcrm_read_only"] = twin
    return twin


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        return Path(u.database)
    return None
