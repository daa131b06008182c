"""Apply Alembic migrations programmatically (chatcrm db upgrade, serve, tests).

Any number of processes may start together (docs/reliability.md, "Start-up"): on PostgreSQL the
upgrade runs under a session-level advisory lock (`pg_advisory_lock(MIGRATION_LOCK_KEY)`), so one
process migrates while the others wait, then find the schema at heads and do nothing. PostgreSQL
drops the lock when its connection goes away, so a process killed mid-migration blocks nobody (its
migration transaction is rolled back). On SQLite the migration transaction begins IMMEDIATE
(crm_core.db), which serialises the processes the same way.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x63726D6D69677261  # "crmmigra"; the scheduler's leader lock is another key

_held = threading.local()


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _signed(key: int) -> int:
    return key if key < 2 ** 63 else key - 2 ** 64


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """Hold the start-up lock (PostgreSQL: an advisory lock on a connection of its own) for the block.

    Re-entrant within a thread, so `upgrade()` inside a block that already holds it does not wait for
    itself. On SQLite it is a no-op: every transaction that may write begins IMMEDIATE."""
    if engine.dialect.name != "postgresql" or getattr(_held, "depth", 0):
        _held.depth = getattr(_held, "depth", 0) + 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    key = _signed(MIGRATION_LOCK_KEY)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    except BaseException:
        conn.invalidate()  # never back to the pool still holding the lock
        raise
    finally:
        conn.close()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision of every branch (`heads`), one process at a time."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with startup_lock(engine), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
