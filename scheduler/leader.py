"""Who fires the scheduled jobs: on PostgreSQL the one process holding an advisory lock; the others
stand by and try again on every tick, so one takes over within a tick (≤ 30 s) when the holder dies —
PostgreSQL releases a session's advisory locks when its connection goes away. On SQLite the single
process always fires.
"""
from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("chatcrm.scheduler.leader")

LOCK_KEY = 0x63726D7363686564  # "crmsched": one lock per database


class Leader(Protocol):
    def is_leader(self) -> bool: ...

    def release(self) -> None: ...


class AlwaysLeader:
    """SQLite: one process, it fires."""

    def is_leader(self) -> bool:
        return True

    def release(self) -> None:
        return None


class AdvisoryLockLeader:
    """Holds `pg_try_advisory_lock(LOCK_KEY)` on a dedicated connection while it lives."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY, name: str = "scheduler") -> None:
        self.engine = engine
        self.key = key if key < 2 ** 63 else key - 2 ** 64
        self.name = name
        self._conn: Connection | None = None

    @property
    def backend_pid(self) -> int | None:
        if self._conn is None:
            return None
        return int(self._conn.scalar(text("SELECT pg_backend_pid()")) or 0)

    def is_leader(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # noqa: BLE001 - the connection (and with it the lock) is gone
                log.warning("%s: lost the leadership connection; trying to take the lock again", self.name)
                self._drop()
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except Exception:  # noqa: BLE001 - the database is unreachable: nobody can lead from here
            log.exception("%s: cannot reach the database to take the scheduler lock", self.name)
            return False
        try:
            got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}))
        except Exception:  # noqa: BLE001
            log.exception("%s: pg_try_advisory_lock failed", self.name)
            conn.invalidate()
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        log.info("%s: holds the scheduler lock; this process fires the jobs", self.name)
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        except Exception:  # noqa: BLE001 - closing the connection releases it anyway
            log.warning("%s: unlocking failed; dropping the connection instead", self.name)
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.invalidate()  # never back to the pool: its session might still hold the lock
            conn.close()
        except Exception:  # noqa: BLE001
            log.warning("%s: closing the old leadership connection failed", self.name, exc_info=True)


def leader_for(engine: Engine, name: str = "scheduler") -> Leader:
    if engine.dialect.name == "postgresql":
        return AdvisoryLockLeader(engine, name=name)
    return AlwaysLeader()
