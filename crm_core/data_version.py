"""Whether anything was committed to the database since a given moment, for the cost of one small query.

- SQLite: `PRAGMA data_version` on a connection changes whenever another connection — of this process or any
  other (the worker, the scheduler, a `chatcrm import`) — has committed to the file since it was last asked.
  A connection of its own, which never writes, therefore sees every commit.
- PostgreSQL: `pg_current_snapshot()` lists which transactions had completed when it was taken (those below
  its xmax, except the ones in progress it names). Two equal snapshots see the same committed data; any
  transaction that wrote and completed in between (in any database of the server, so sometimes one that did
  not touch ours) makes them differ.

Equal answers mean that nothing was committed in between: what was built from the database then still
holds. Ask before reading what is built: a commit during the build then shows at the next question."""
from __future__ import annotations

import sqlite3
import threading

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from crm_core.db import sqlite_path

SNAPSHOT = "SELECT pg_current_snapshot()::text"


class DataVersion:
    def __init__(self, engine: Engine) -> None:
        path = sqlite_path(engine.url.render_as_string(hide_password=False))
        self._path = str(path) if path is not None else None
        self._engine = engine if engine.dialect.name == "postgresql" else None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def current(self) -> int | str | None:
        """A value that differs from any earlier answer once anything was committed since; None where the
        database cannot tell (an in-memory database) or the question failed."""
        if self._engine is not None:
            return self._snapshot(self._engine)
        if self._path is None:
            return None
        try:
            with self._lock:
                if self._conn is None:
                    self._conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
                return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None  # unknown: the caller builds again, as it would without this

    @staticmethod
    def _snapshot(engine: Engine) -> str | None:
        """A pooled connection (0.3 ms here): no connection of its own to keep open or close."""
        try:
            with engine.connect() as conn:
                return str(conn.exec_driver_sql(SNAPSHOT).scalar_one())
        except SQLAlchemyError:
            return None


__all__ = ["DataVersion"]
