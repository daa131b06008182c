"""crm_core.db's one transaction policy: sessions may write (SQLite: BEGIN IMMEDIATE) unless opened
read-only; a read-only session cannot write; a look-up inside a unit of work never waits for itself;
a long reader never blocks a writer."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from crm_core.db import make_engine, read_only
from crm_core.models import User


def _rename(factory, key: str, name: str) -> None:  # type: ignore[no-untyped-def]
    with factory.begin() as s:
        s.scalars(select(User).where(User.key == key)).one().name = name


def test_a_read_only_session_cannot_write(wiring):  # type: ignore[no-untyped-def]
    with pytest.raises(DBAPIError, match="(?i)read.?only"):
        _rename(read_only(wiring.session_factory), "li", "changed")
    with wiring.session_factory() as s:
        assert s.scalar(select(User.name).where(User.key == "li")) == "李雷"


def test_a_lookup_inside_a_unit_of_work_answers_at_once_and_cannot_write(wiring):  # type: ignore[no-untyped-def]
    with wiring.runner.uow() as uow:
        uow.session.scalars(select(User).where(User.key == "li")).one().name = "Li Lei"
        uow.session.flush()
        # A plain session from the same thread: on SQLite the write lock is ours already, so it reads.
        with wiring.session_factory() as other:
            assert other.scalar(select(func.count(User.id))) > 0
        if wiring.engine.dialect.name == "sqlite":
            with pytest.raises(DBAPIError, match="(?i)read.?only"):
                _rename(wiring.session_factory, "emma", "nested")
    with wiring.session_factory() as s:
        assert s.scalar(select(User.name).where(User.key == "li")) == "Li Lei"


def test_a_long_reader_never_blocks_a_writer(wiring):  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def write() -> None:
        try:
            _rename(wiring.session_factory, "li", "written meanwhile")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    with read_only(wiring.session_factory)() as reader:
        before = reader.scalar(select(User.name).where(User.key == "li"))
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(20)
        assert not writer.is_alive() and errors == []
        # The reader keeps its snapshot on SQLite (and reads committed data on PostgreSQL).
        assert reader.scalar(select(func.count(User.id))) > 0
    assert before == "李雷"
    with read_only(wiring.session_factory)() as s:
        assert s.scalar(select(User.name).where(User.key == "li")) == "written meanwhile"


def test_every_transaction_that_may_write_begins_immediate_on_sqlite(wiring, engine):  # type: ignore[no-untyped-def]
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's locking")
    from sqlalchemy import event
    begins: list[str] = []

    def seen(conn, cursor, statement, *_):  # type: ignore[no-untyped-def]
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with wiring.session_factory() as s:
            s.scalar(select(func.count(User.id)))
        with wiring.runner.uow() as uow:
            uow.session.scalar(select(func.count(User.id)))
        with read_only(wiring.session_factory)() as s:
            s.scalar(select(func.count(User.id)))
        with engine.connect() as conn:
            conn.scalar(select(func.count(User.id)))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert begins == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE", "BEGIN", "BEGIN IMMEDIATE"]


@pytest.mark.parametrize(("setting", "pragma"), [(None, 2), ("full", 2), ("normal", 1)])
def test_sqlite_synchronous_is_what_the_operator_chose(tmp_path, setting, pragma):  # type: ignore[no-untyped-def]
    """CHATCRM_SQLITE_SYNCHRONOUS: full (SQLite's default, 2) unless the operator chose normal (1)."""
    from sqlalchemy import text as sql

    from crm_core.db import make_engine
    engine = make_engine(f"sqlite:///{tmp_path / 'sync.db'}", sqlite_synchronous=setting)
    with engine.connect() as conn:
        assert conn.execute(sql("PRAGMA synchronous")).scalar() == pragma
        assert conn.execute(sql("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_writers_of_one_process_take_turns_and_a_failed_turn_gives_it_back(tmp_path):  # type: ignore[no-untyped-def]
    """SQLite writers of one process queue on a turnstile before BEGIN IMMEDIATE (woken when the holder ends,
    not by SQLite's sleeping busy handler). A turn ended by COMMIT, by ROLLBACK, by an exception or by a
    failed BEGIN is given back: the next writer starts at once, where a turnstile kept would make it wait out
    the whole busy timeout (2 s here)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}", connect_args={"timeout": 2})
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")

    def write(n: int) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO t VALUES ({n})")

    def other_thread_writes_at_once(n: int) -> float:
        took: list[float] = []

        def run() -> None:
            started = time.perf_counter()
            write(n)
            took.append(time.perf_counter() - started)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(10)
        return took[0]

    with engine.connect() as conn:  # COMMIT, the connection still held: the turn ends with the COMMIT
        conn.begin()
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        conn.commit()
        assert other_thread_writes_at_once(2) < 1.0
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:  # ROLLBACK after an exception
            conn.exec_driver_sql("INSERT INTO t VALUES (3)")
            raise RuntimeError("the handler failed")
    assert other_thread_writes_at_once(4) < 1.0
    with engine.connect() as conn:  # a transaction begun and given back to the pool unfinished
        conn.begin()
        conn.exec_driver_sql("INSERT INTO t VALUES (5)")
    assert other_thread_writes_at_once(6) < 1.0
    # 32 writers of one process at once: every write lands
    threads = [threading.Thread(target=write, args=(100 + i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t WHERE n >= 100").scalar() == 32
        assert sorted(r[0] for r in conn.exec_driver_sql("SELECT n FROM t WHERE n < 100")) == [1, 2, 4, 6]
    engine.dispose()
