"""crm_core.data_version on the database the suite runs on: equal answers while nothing is committed, a new
one after a commit by any connection (another process's pool here)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from crm_core.data_version import DataVersion
from crm_core.models import User


def _other_process(engine: Engine) -> Engine:
    return create_engine(engine.url.render_as_string(hide_password=False))


def test_the_version_stays_while_nothing_is_committed_and_moves_with_any_commit(engine: Engine) -> None:
    version = DataVersion(engine)
    first = version.current()
    assert first is not None
    with engine.connect() as conn:  # reading changes nothing
        conn.execute(text("SELECT count(*) FROM deals")).scalar_one()
    assert version.current() == first
    other = _other_process(engine)
    try:
        with Session(other) as session, session.begin():
            session.add(User(key="elsewhere", name="Elsewhere", created_at=datetime(2026, 12, 1, tzinfo=timezone.utc)))
        second = version.current()
        assert second is not None and second != first
        assert version.current() == second  # and stays there
    finally:
        other.dispose()


def test_an_in_memory_database_cannot_tell() -> None:
    assert DataVersion(create_engine("sqlite://")).current() is None
