"""One linear migration history: one head, every step reversible, and a database migrated with the old
branched layout (one alembic_version row per branch head) upgrades to the single head."""
from __future__ import annotations

import subprocess
import sys

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from crm_core.db import make_engine
from crm_core.migrate import LEGACY_PARENTS, alembic_config, chain, upgrade
from crm_core.models import Base
from tests.ops.conftest import ROOT, child_env

EXPECTED = ["0001", "0002", "0003", "0004", "0006", "0007", "0008", "0009", "0010", "0011", "0012", "0013", "0014",
            "0015", "0016", "0017", "0018", "0019", "0020", "0021", "0022"]
HEAD = EXPECTED[-1]
LAST_LEGACY = "0014"  # the newest revision of the old branched layout
# what `upgrade heads` left in alembic_version with the old layout: every revision no other one named as parent
OLD_HEADS = sorted(set(LEGACY_PARENTS) - {p for p in LEGACY_PARENTS.values() if p})


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "db", *args], env=child_env(url), cwd=ROOT,
                          text=True, capture_output=True, timeout=120)


def _versions(url: str) -> list[str]:
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            return sorted(conn.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        eng.dispose()


def _tables(url: str) -> set[str]:
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            return set(inspect(conn).get_table_names()) - {"alembic_version"}
    finally:
        eng.dispose()


def test_the_history_is_one_line_with_one_head(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path / 'x.db'}"))
    assert script.get_heads() == [HEAD]
    assert chain(alembic_config("sqlite://")) == EXPECTED
    for rev in script.walk_revisions():
        assert rev.branch_labels == set() and not rev.dependencies, rev.revision
        assert not rev.is_merge_point and not rev.is_branch_point, rev.revision
    assert OLD_HEADS == ["0003", "0004", "0006", "0007", "0008", "0010", "0011", "0012", "0013", "0014"]


def test_every_step_downgrades_and_upgrades_again_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'round.db'}"
    cfg = alembic_config(url)
    eng = make_engine(url)
    try:
        upgrade(eng)
        full = _tables(url)
        assert {t.name for t in Base.metadata.sorted_tables} <= full
        seen = {EXPECTED[-1]: full}
        for rev, prev in zip(reversed(EXPECTED), reversed(["base", *EXPECTED[:-1]])):
            with eng.begin() as conn:
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, prev)
            assert _versions(url) == ([] if prev == "base" else [prev])
            seen[prev] = _tables(url)
        assert seen["base"] == set()
        for rev in EXPECTED:  # and up again, one step at a time: each step gives back the same tables
            with eng.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, rev)
            assert _versions(url) == [rev]
            assert _tables(url) == seen[rev], rev
    finally:
        eng.dispose()


def _set_versions(url: str, rows: list[str]) -> None:
    eng = make_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
        for r in rows:
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": r})
    eng.dispose()


def test_a_database_at_the_old_heads_upgrades_to_the_one_head(fresh_url: str) -> None:
    eng = make_engine(fresh_url)
    with eng.begin() as conn:  # as far as the branched layout went; later revisions then run normally
        cfg = alembic_config(fresh_url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, LAST_LEGACY)
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO users (id, key, name, role, tags, away, active, created_at) VALUES "
                          "(90, 'old', 'Old', 'rep', '[]', false, true, '2026-01-01 00:00:00')"))
    eng.dispose()
    _set_versions(fresh_url, OLD_HEADS)  # what `upgrade heads` left with the branched layout

    before = _cli(fresh_url, "current")
    assert before.returncode == 3 and "old branched history" in before.stdout, before

    r = _cli(fresh_url, "upgrade")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert _versions(fresh_url) == [HEAD]
    after = _cli(fresh_url, "current")
    assert after.returncode == 0 and after.stdout.startswith(f"{HEAD} (head)"), after
    eng = make_engine(fresh_url)
    with eng.connect() as conn:  # nothing was dropped or run twice
        assert conn.scalar(text("SELECT name FROM users WHERE id = 90")) == "Old"
    eng.dispose()


def test_a_migrated_database_is_the_schema_the_models_declare(fresh_url: str) -> None:
    """What `chatcrm db upgrade` builds and what the code expects are the same tables, columns, indexes and
    keys: a model change without its migration (an index forgotten) fails here, not in production."""
    eng = make_engine(fresh_url)
    try:
        upgrade(eng)
        with eng.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        eng.dispose()


def _apply_one(url: str, rev: str) -> None:
    """Run one migration's upgrade() outside the chain, as the branched layout could."""
    module = ScriptDirectory.from_config(alembic_config(url)).get_revision(rev).module
    eng = make_engine(url)
    with eng.begin() as conn:
        with Operations.context(MigrationContext.configure(conn, opts={"render_as_batch": True})):
            module.upgrade()
    eng.dispose()


def test_old_heads_with_a_gap_run_what_is_missing_and_skip_what_ran(fresh_url: str) -> None:
    # the branched layout could have 0014 (a branch off 0001) without 0012 and 0013
    eng = make_engine(fresh_url)
    cfg = alembic_config(fresh_url)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0011")
    eng.dispose()
    _apply_one(fresh_url, "0014")
    _set_versions(fresh_url, ["0002", "0003", "0004", "0006", "0007", "0008", "0009", "0010", "0011", "0014"])

    r = _cli(fresh_url, "upgrade")
    assert r.returncode == 0, r.stderr
    assert _versions(fresh_url) == [HEAD]
    assert {t.name for t in Base.metadata.sorted_tables} <= _tables(fresh_url)


def test_unknown_revisions_in_an_old_database_are_refused_and_nothing_changes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    _set_versions(url, ["0013", "9999"])
    r = _cli(url, "upgrade")
    assert r.returncode != 0
    assert "9999" in r.stderr and "Traceback" not in r.stderr
    assert _versions(url) == ["0013", "9999"]


def test_downgrade_needs_yes_and_names_a_revision(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'down.db'}"
    assert _cli(url, "upgrade").returncode == 0
    r = _cli(url, "downgrade", "0013")
    assert r.returncode == 2 and "--yes" in r.stderr and "请先停止" in r.stderr
    assert _versions(url) == [HEAD]
    r = _cli(url, "downgrade", "0005", "--yes")
    assert r.returncode == 2 and "0005" in r.stderr and "Traceback" not in r.stderr
    r = _cli(url, "downgrade", "0013", "--yes")
    assert r.returncode == 0, r.stderr
    assert _versions(url) == ["0013"]
    r = _cli(url, "current")
    assert r.returncode == 3 and f"behind head {HEAD}" in r.stdout
    assert _cli(url, "upgrade").returncode == 0
    assert _cli(url, "current").returncode == 0


def test_alembic_ini_at_the_top_reads_database_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    r = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], env=child_env(url), cwd=ROOT,
                       text=True, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "alembic", "current"], env=child_env(url), cwd=ROOT,
                       text=True, capture_output=True, timeout=120)
    assert f"{HEAD} (head)" in r.stdout, r


@pytest.mark.parametrize("how", ["chatcrm", "alembic"])
def test_a_table_rebuild_on_sqlite_keeps_the_rows_that_reference_it(tmp_path, how: str) -> None:  # type: ignore[no-untyped-def]
    # 0011 rebuilds `leads` on SQLite (copy, DROP, rename); with foreign keys on, the DROP would empty
    # lead_identities (ON DELETE CASCADE) — every key of every lead gone without a word.
    url = f"sqlite:///{tmp_path / 'rebuild.db'}"
    eng = make_engine(url)
    cfg = alembic_config(url)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
        conn.execute(text("INSERT INTO users (id, key, name, role, tags, away, active, created_at) VALUES "
                          "(1, 'li', 'Li', 'rep', '[]', 0, 1, '2026-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO leads (id, name, company, company_key, email, source, tags, score, status, "
                          "owner_id, assigned_at, reassign_count, duplicate_hits, created_at, updated_at) VALUES "
                          "(1, 'Ann', 'Acme', 'acme', 'ann@acme.com', 'chat', '[]', 0, 'open', 1, "
                          "'2026-01-01 00:00:00', 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO lead_identities (kind, value, lead_id) VALUES ('email', 'ann@acme.com', 1)"))
    eng.dispose()
    if how == "chatcrm":
        r = _cli(url, "upgrade")
    else:
        r = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], env=child_env(url), cwd=ROOT,
                           text=True, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    eng = make_engine(url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT kind, value, lead_id FROM lead_identities")).all() == [
            ("email", "ann@acme.com", 1)]
        assert conn.scalar(text("SELECT fields FROM leads WHERE id = 1")) in ("{}", {})
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # a pooled connection has them back on
    eng.dispose()
