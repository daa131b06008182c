"""Shared fixtures. Every test talks to a real database: SQLite by default, PostgreSQL when
CHATCRM_TEST_DATABASE_URL points at one. The schema is built once per run with the real Alembic
migrations; after each test every table is emptied (so tests can commit for real, as the app does).
"""
from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from bot.console import ConsoleSession
from cards.i18n import MISSED
from bot.settings import Settings
from bot.wiring import Wiring, build
from crm_core.clock import FrozenClock
from crm_core.config import Config, load_config
from crm_core.db import make_engine
from crm_core.models import Base, User
from crm_core.services.users import user_by_key
from crm_core.uow import UnitOfWork

PG_URL = os.environ.get("CHATCRM_TEST_DATABASE_URL")
# Monday 2026-03-02 09:00 in Asia/Shanghai.
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (skipped on SQLite)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set CHATCRM_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        return PG_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    from crm_core.migrate import upgrade
    eng = make_engine(database_url)
    guard = _one_run_at_a_time(database_url) if eng.dialect.name == "postgresql" else None
    if eng.dialect.name == "postgresql":
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(eng)
    yield eng
    eng.dispose()
    if guard is not None:
        guard.close()


RUN_LOCK = 0x63726D74  # "crmt": the advisory lock a test run holds on its PostgreSQL database
RUN_LOCK_APP = "chatcrm-test-run"  # its connection's name: tests that kill every connection spare it


def _one_run_at_a_time(database_url: str) -> Any:
    """Two test runs pointed at the same PostgreSQL database would empty each other's tables between a
    test's steps. The run holds a session-level advisory lock on its own connection (outside the pool, so
    tests keep every pooled connection); a second run waits here until the first has finished."""
    import psycopg

    url = make_url(database_url).set(drivername="postgresql")
    conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True, application_name=RUN_LOCK_APP)
    conn.execute("SELECT pg_advisory_lock(%s)", (RUN_LOCK,))
    return conn


EXTRA_TABLES: list[str] = [
    "slack_installations", "slack_bots", "slack_oauth_states",  # Slack OAuth stores (bot/slack/oauth.py)
]  # tables outside our metadata that tests fill (platform stores)


def _empty_all(eng: Engine) -> None:
    """Every table emptied, children first, and on PostgreSQL every sequence back at 1 (`D-1` again). DELETE,
    not TRUNCATE: a test leaves a few rows, and TRUNCATE of 45 tables gave each a new file, 150 ms after every
    test (over half of the PostgreSQL run); this is 4 ms."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with eng.begin() as conn:
        existing = set(conn.dialect.get_table_names(conn))
        names += [n for n in EXTRA_TABLES if n in existing]
        if eng.dialect.name == "postgresql":
            conn.execute(text("; ".join(f'DELETE FROM "{n}"' for n in names)))
            conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                              "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"))
        else:
            for n in names:
                conn.execute(text(f'DELETE FROM "{n}"'))


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" in request.fixturenames:
        _empty_all(request.getfixturevalue("engine"))


@pytest.fixture
def config() -> Config:
    return load_config(None)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, chatcrm_api_key="test-key", chatcrm_embedded_workers=False,
                    _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def wiring(settings: Settings, engine: Engine, clock: FrozenClock, config: Config) -> Wiring:
    w = build(settings, clock=clock, config=config, engine=engine)
    w.prepare_database()
    return w


@pytest.fixture
def runner(wiring: Wiring):  # type: ignore[no-untyped-def]
    return wiring.runner


@pytest.fixture
def uow(wiring: Wiring) -> UnitOfWork:
    return wiring.runner.uow()


@pytest.fixture
def user_id(wiring: Wiring) -> Callable[[str], int]:
    def get(key: str) -> int:
        with wiring.session_factory() as s:
            return user_by_key(s, key).id
    return get


@pytest.fixture
def console_bot(wiring: Wiring) -> Callable[[str], ConsoleSession]:
    """console_bot("li").exec("deal D-1") -> the text li would see."""
    return lambda key: ConsoleSession(wiring.runner, key)


@pytest.fixture
def as_user(wiring: Wiring) -> Callable[[str], User]:
    def get(key: str) -> User:
        with wiring.session_factory() as s:
            user = user_by_key(s, key)
            user.identities  # noqa: B018 - loaded while attached: the user is used after its session closes
            return user
    return get


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not re.match(r"\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|PRAGMA)", statement, re.I):
            self.statements.append(statement)


@pytest.fixture
def assert_query_count(engine: Engine) -> Callable[..., Any]:
    """with assert_query_count(5): ... — fails printing every statement when the count differs."""

    @contextmanager
    def counting(expected: int | None = None, *, at_most: int | None = None) -> Iterator[QueryCounter]:
        counter = QueryCounter()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        n = len(counter.statements)
        listing = "\n".join(f"{i + 1}. {s}" for i, s in enumerate(counter.statements))
        if expected is not None:
            assert n == expected, f"expected {expected} queries, ran {n}:\n{listing}"
        if at_most is not None:
            assert n <= at_most, f"expected at most {at_most} queries, ran {n}:\n{listing}"

    return counting


@pytest.fixture
def outbox_rows(wiring: Wiring) -> Callable[..., list[Any]]:
    """The outbox as it stands, optionally filtered by kind (captured_outbox in spirit)."""
    from sqlalchemy import select

    from crm_core.models import OutboxMessage

    def rows(kind: str | None = None) -> list[OutboxMessage]:
        with wiring.session_factory() as s:
            stmt = select(OutboxMessage).order_by(OutboxMessage.id)
            if kind:
                stmt = stmt.where(OutboxMessage.kind == kind)
            return list(s.scalars(stmt))
    return rows


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database beside CHATCRM_TEST_DATABASE_URL's, dropped afterwards (start-up,
    compose and migration tests that must begin from nothing)."""
    assert PG_URL
    name = f"{make_url(PG_URL).database}_tmp_{secrets.token_hex(4)}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()



@pytest.fixture(autouse=True)
def _every_text_from_a_catalog(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test fails when anything it rendered asked a catalog for a text none has: the reader would have seen
    the key itself ('quote.withdrawn' on a closed deal's card). Tests that feed builders arbitrary values on
    purpose say so with @pytest.mark.any_catalog_key."""
    MISSED.clear()
    yield
    missed = sorted(MISSED)
    MISSED.clear()
    if missed and request.node.get_closest_marker("any_catalog_key") is None:
        pytest.fail(f"texts no catalog has (the reader would see the key): {missed}", pytrace=False)
