"""Apply Alembic migrations programmatically (chatcrm db upgrade, serve, tests).

Any number of processes may start together (docs/reliability.md, "Start-up"): on PostgreSQL the
upgrade runs under a session-level advisory lock (`pg_advisory_lock(MIGRATION_LOCK_KEY)`), so one
process migrates while the others wait, then find the schema at heads and do nothing. PostgreSQL
drops the lock when its connection goes away, so a process killed mid-migration blocks nobody (its
migration transaction is rolled back). On SQLite the migration transaction begins IMMEDIATE
(crm_core.db), which serialises the processes the same way.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x63726D6D69677261  # "crmmigra"; the scheduler's leader lock is another key

_held = threading.local()
log = logging.getLogger("chatcrm.migrate")


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


# Until issue 15 every area was its own Alembic branch off 0001 (`upgrade heads`), so a database
# migrated then has one alembic_version row per branch head. The files are now one linear chain;
# this is the old layout (revision -> its old down_revision), used only to read such a database.
LEGACY_PARENTS: dict[str, str | None] = {
    "0001": None, "0002": "0001", "0003": "0001", "0004": "0001", "0006": "0001", "0007": "0001",
    "0008": "0001", "0009": "0001", "0010": "0001", "0011": "0001", "0012": "0002", "0013": "0009",
    "0014": "0001",
}


class MigrationStateError(RuntimeError):
    """alembic_version holds revisions this code does not know: refuse rather than guess."""

    def __init__(self, unknown: list[str]) -> None:
        self.unknown = unknown
        super().__init__(f"alembic_version holds several revisions and some are unknown ({', '.join(unknown)}); "
                         "run the chatcrm version that wrote them, or fix alembic_version by hand")


def chain(cfg: AlembicConfig) -> list[str]:
    """The revisions from the first to the head, in order (the history is one line)."""
    script = ScriptDirectory.from_config(cfg)
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def _legacy_applied(rows: set[str]) -> set[str]:
    applied: set[str] = set()
    for rev in rows:
        cur: str | None = rev
        while cur is not None and cur not in applied:
            applied.add(cur)
            cur = LEGACY_PARENTS[cur]
    return applied


def linearize_legacy_heads(conn: Connection, cfg: AlembicConfig) -> set[str]:
    """A database at the old multiple heads: collapse alembic_version to one row, the newest revision
    of the linear chain whose predecessors are all applied. Returns the revisions after it that the old
    layout had applied already (the upgrade stamps them instead of running them again). A database with
    zero or one row is left alone."""
    if not inspect(conn).has_table("alembic_version"):
        return set()
    rows = set(conn.scalars(text("SELECT version_num FROM alembic_version")))
    if len(rows) < 2:
        return set()
    unknown = sorted(rows - set(LEGACY_PARENTS))
    if unknown:
        raise MigrationStateError(unknown)
    applied = _legacy_applied(rows)
    order = chain(cfg)
    last = None
    for rev in order:
        if rev not in applied:
            break
        last = rev
    assert last is not None  # every legacy row descends from 0001
    conn.execute(text("DELETE FROM alembic_version"))
    conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": last})
    log.warning("alembic_version had %d rows (the old branched history); collapsed to %s", len(rows), last)
    return {rev for rev in order[order.index(last) + 1:] if rev in applied}


def _make_linear(conn: Connection, cfg: AlembicConfig) -> None:
    """Leave alembic_version with at most one row that tells the truth about the schema."""
    cfg.attributes["connection"] = conn
    already = linearize_legacy_heads(conn, cfg)
    if already:  # step through: run what is missing, stamp what the old layout applied
        current = conn.scalar(text("SELECT version_num FROM alembic_version"))
        order = chain(cfg)
        for rev in order[order.index(current) + 1:order.index(max(already, key=order.index)) + 1]:
            (command.stamp if rev in already else command.upgrade)(cfg, rev)


def _upgrade_in(conn: Connection, cfg: AlembicConfig, target: str = "head") -> None:
    _make_linear(conn, cfg)
    command.upgrade(cfg, target)


@contextmanager
def migration_transaction(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` for migrations. On SQLite, foreign keys are off for its duration: a batch table
    rebuild (copy, DROP, rename) must not run the DROP's implicit DELETE, which would cascade into child
    tables (e.g. 0011 rebuilding `leads` would empty `lead_identities`; sqlite.org/lang_altertable.html).
    The pragma only takes effect outside a transaction, so it is set on the driver connection first and
    restored before the connection goes back to the pool; `PRAGMA foreign_key_check` reports leftovers."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    log.warning("after migrating, %d rows reference missing rows (first: %s)", len(broken), broken[0])
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine) -> None:
    """Bring the schema to the head of the (linear) history, one process at a time."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with startup_lock(engine), migration_transaction(engine) as conn:
        _upgrade_in(conn, cfg)


def current(engine: Engine) -> tuple[list[str], str]:
    """(the revisions recorded in the database, the head revision of the code)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return [], head
        rows = sorted(conn.scalars(text("SELECT version_num FROM alembic_version")))
    return rows, head


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision` (or `base`), under the same start-up lock as upgrade."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with startup_lock(engine), migration_transaction(engine) as conn:
        _make_linear(conn, cfg)
        command.downgrade(cfg, revision)
