"""Safe start-up: any number of processes may run `chatcrm db upgrade` (or start `serve`, `worker`,
`scheduler`, which migrate too) at the same moment on a fresh database; all succeed, the schema ends at
heads and the configured users exist once."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from crm_core.config import load_config
from crm_core.db import make_engine
from crm_core.migrate import alembic_config
from crm_core.models import User

ROOT = Path(__file__).resolve().parents[2]


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATCRM_", "DATABASE_URL", "SLACK_", "WECOM_"))}
    env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def _upgrade_together(url: str, n: int = 3) -> list[subprocess.CompletedProcess[str]]:
    procs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=_env(url), cwd=ROOT,
                              text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(n)]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def _assert_at_heads(url: str) -> None:
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert set(conn.scalars(text("SELECT version_num FROM alembic_version"))) == heads
            users = conn.scalar(select(func.count(User.id)))
    finally:
        engine.dispose()
    assert users == len(load_config(None).users)


@pytest.mark.postgres
def test_three_processes_upgrading_a_fresh_postgres_database_all_succeed(fresh_pg_url: str) -> None:
    results = _upgrade_together(fresh_pg_url)
    for r in results:
        assert r.returncode == 0, r.stderr
        assert "Database is up to date" in r.stdout
        assert "Traceback" not in r.stderr and "UniqueViolation" not in r.stderr
    _assert_at_heads(fresh_pg_url)


def test_three_processes_upgrading_a_fresh_sqlite_file_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    results = _upgrade_together(url)
    for r in results:
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr and "locked" not in r.stderr
    _assert_at_heads(url)


def test_an_unreachable_database_is_a_short_message_with_an_error_id(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    r = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=_env(url), cwd=ROOT, text=True,
                       capture_output=True, timeout=120)
    assert r.returncode == 1
    assert "the database is unavailable (reference " in r.stderr and "数据库暂时不可用" in r.stderr
    assert "Traceback" not in r.stderr


def test_procfile_migrates_once_at_release_and_web_runs_no_embedded_workers() -> None:
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert lines["release"].strip() == "chatcrm db upgrade"
    assert "CHATCRM_EMBEDDED_WORKERS=0" in lines["web"] and "chatcrm serve" in lines["web"]
    assert lines["worker"].strip() == "chatcrm worker" and lines["scheduler"].strip() == "chatcrm scheduler"
