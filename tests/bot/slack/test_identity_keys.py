"""Slack identities keyed by (platform, team, external_id): migration 0013 on old rows, first contact under
concurrency (one user, one binding), and a stored team is never overwritten."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import IntegrityError

from bot.slack.identity import resolve_user_id
from crm_core.migrate import alembic_config
from crm_core.models import ChatIdentity, User
from crm_core.services.users import sync_users, user_by_identity

MIGRATION_SCHEMA = "mig0013"


@pytest.fixture
def old_engine(engine: Engine, tmp_path) -> Iterator[Engine]:
    """An empty database of the test dialect of its own (PostgreSQL: a schema of its own)."""
    if engine.dialect.name == "postgresql":
        url = engine.url.render_as_string(hide_password=False)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {MIGRATION_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {MIGRATION_SCHEMA}"))
        eng = create_engine(url, connect_args={"options": f"-csearch_path={MIGRATION_SCHEMA}"})
    else:
        eng = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    yield eng
    eng.dispose()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {MIGRATION_SCHEMA} CASCADE"))


def _migrate(eng: Engine, target: str) -> None:
    cfg = alembic_config(eng.url.render_as_string(hide_password=False))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)


def _insert(conn, platform: str, team: str | None, external_id: str, user_id: int = 1) -> None:  # type: ignore[no-untyped-def]
    conn.execute(text("INSERT INTO chat_identities (user_id, platform, external_id, team) "
                      "VALUES (:u, :p, :e, :t)"), {"u": user_id, "p": platform, "e": external_id, "t": team})


def test_0013_keeps_old_rows_and_keys_identities_by_team(old_engine):
    _migrate(old_engine, "0009")  # the schema before: unique (platform, external_id), team recorded by 0009
    with old_engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, key, name, role, tags, away, active, created_at) VALUES "
                          "(1, 'li', 'Li', 'rep', '[]', false, true, '2026-01-01 00:00:00'), "
                          "(2, 'x', 'X', 'rep', '[]', false, true, '2026-01-01 00:00:00')"))
        _insert(conn, "slack", None, "U01LI")
        _insert(conn, "slack", "T0001", "U01EMMA")
        _insert(conn, "wecom", None, "lilei")

    _migrate(old_engine, "heads")

    with old_engine.connect() as conn:
        rows = conn.execute(text("SELECT platform, team, external_id FROM chat_identities ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("slack", None, "U01LI"), ("slack", "T0001", "U01EMMA"),
                                        ("wecom", None, "lilei")]
    with old_engine.begin() as conn:
        _insert(conn, "slack", "T0002", "U01EMMA", user_id=2)  # the same id in another workspace: allowed
    for dup in (("slack", "T0001", "U01EMMA"), ("slack", None, "U01LI"), ("wecom", None, "lilei")):
        with pytest.raises(IntegrityError), old_engine.begin() as conn:
            _insert(conn, *dup, user_id=2)


def test_a_stored_team_is_never_overwritten_and_another_workspace_is_another_person(wiring, clock):
    sf = wiring.session_factory
    emma = resolve_user_id(sf, clock, None, "U01EMMA", team="T0001")
    other = resolve_user_id(sf, clock, None, "U01EMMA", "Someone Else", team="T0002")
    assert emma != other
    assert resolve_user_id(sf, clock, None, "U01EMMA", team="T0001") == emma
    with sf() as s:
        assert s.get(User, emma).key == "emma"
        teams = sorted(s.scalars(select(ChatIdentity.team).where(ChatIdentity.external_id == "U01EMMA")))
        assert teams == ["T0001", "T0002"]
        assert user_by_identity(s, "slack", "U01EMMA", team="T0002").id == other
        assert user_by_identity(s, "slack", "U01EMMA", team="T0001").id == emma


def test_restarting_keeps_the_bound_team(wiring, clock, config):
    sf = wiring.session_factory
    emma = resolve_user_id(sf, clock, None, "U01EMMA", team="T0001")
    with sf.begin() as s:
        sync_users(s, config, clock.now())  # start-up synchronises users from the file again
    with sf() as s:
        assert s.scalar(select(ChatIdentity.team).where(ChatIdentity.external_id == "U01EMMA")) == "T0001"
    assert resolve_user_id(sf, clock, None, "U01EMMA", team="T0001") == emma


@pytest.mark.parametrize("slack_id", ["U01EMMA", "U05NEW"], ids=["configured id binds once", "new user created once"])
def test_simultaneous_first_requests_make_one_user(wiring, clock, slack_id):
    sf = wiring.session_factory
    start = threading.Barrier(6)

    def first_contact(_: int) -> int:
        start.wait()
        return resolve_user_id(sf, clock, None, slack_id, "New Person", team="T0001", binding_team="T0001")

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(first_contact, range(6)))
    assert len(ids) == 1
    with sf() as s:
        rows = s.execute(select(ChatIdentity.team, func.count()).where(ChatIdentity.external_id == slack_id)
                         .group_by(ChatIdentity.team)).all()
    assert [tuple(r) for r in rows] == [("T0001", 1)]
