"""Whether anything was committed to the database since a given moment, for the cost of one PRAGMA.

SQLite's `PRAGMA data_version` on a connection changes whenever another connection — of this process or any
other (the worker, the scheduler, a `chatcrm import`) — has committed to the file since it was last asked.
A connection of its own, which never writes, therefore sees every commit. Equal answers mean that nothing
was committed in between: what was built from the database then still holds.

PostgreSQL has no such counter (None: nobody can say, so callers build again)."""
from __future__ import annotations

import sqlite3
import threading

from sqlalchemy import Engine

from crm_core.db import sqlite_path


class DataVersion:
    def __init__(self, engine: Engine) -> None:
        path = sqlite_path(engine.url.render_as_string(hide_password=False))
        self._path = str(path) if path is not None else None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def current(self) -> int | None:
        """A number that differs from any earlier answer once anything was committed since; None where the
        database cannot tell (PostgreSQL, an in-memory database) or the question failed."""
        if self._path is None:
            return None
        try:
            with self._lock:
                if self._conn is None:
                    self._conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
                return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None  # unknown: the caller builds again, as it would without this


__all__ = ["DataVersion"]
