"""/readyz: ready only when the database answers and its schema is at the migration scripts' head(s);
else 503 with a JSON reason an operator can act on. /healthz (liveness) is unchanged beside it."""
from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import text

from bot.app import create_app
from bot.settings import Settings
from bot.wiring import build
from crm_core.db import make_engine
from crm_core.migrate import alembic_config, upgrade


def _client(url: str, clock, config) -> TestClient:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=url, chatcrm_embedded_workers=False)
    return TestClient(create_app(wiring=build(settings, clock=clock, config=config), prepare_database=False),
                      raise_server_exceptions=False)


def _heads() -> list[str]:
    return sorted(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def test_ready_when_migrated_to_head(wiring):  # type: ignore[no-untyped-def]
    client = TestClient(create_app(wiring=wiring, prepare_database=False))
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "database": "ok", "migrations": _heads()}
    assert client.get("/healthz").status_code == 200


def test_a_database_never_migrated_is_not_ready_and_says_what_to_run(tmp_path, clock, config):  # type: ignore[no-untyped-def]
    client = _client(f"sqlite:///{tmp_path / 'fresh.db'}", clock, config)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["reason"] == "migrations not at head"
    assert r.json()["database"] == [] and r.json()["expected"] == _heads()
    assert "chatcrm db upgrade" in r.json()["fix"]
    assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_a_database_behind_the_scripts_is_not_ready_until_upgraded(tmp_path, clock, config):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    eng = make_engine(url)
    upgrade(eng)
    newest = _heads()[-1]
    parent = ScriptDirectory.from_config(alembic_config(url)).get_revision(newest).down_revision
    assert isinstance(parent, str)
    with eng.begin() as conn:  # as if the newest migration had not run yet (an older release's schema)
        conn.execute(text("UPDATE alembic_version SET version_num = :p WHERE version_num = :v"),
                     {"p": parent, "v": newest})
    client = _client(url, clock, config)
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["reason"] == "migrations not at head"
    assert newest not in r.json()["database"] and newest in r.json()["expected"]
    eng.dispose()


@pytest.mark.parametrize("url", ["postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
                                 "sqlite:////nonexistent-dir/chatcrm.db"], ids=["postgres-refused", "sqlite-missing"])
def test_an_unreachable_database_is_not_ready(url, clock, config):  # type: ignore[no-untyped-def]
    r = _client(url, clock, config).get("/readyz")
    assert r.status_code == 503
    assert r.json()["reason"] == "database unreachable" and r.json()["detail"]
    assert r.headers["retry-after"] == "5"
    assert "Traceback" not in r.text
