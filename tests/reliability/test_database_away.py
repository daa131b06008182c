"""The database away: the web app answers 503 with an error id (also in the log), never a bare 500;
any other unhandled error answers 500 with an error id in JSON."""
from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text

from bot.app import create_app
from bot.settings import Settings
from bot.wiring import build
from crm_core.models import Lead

KEY = {"X-API-Key": "test-key"}
LEAD = {"name": "Ann Lee", "email": "ann@example.com"}


def _app_on(url: str, clock, config):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=url, chatcrm_api_key="test-key", chatcrm_embedded_workers=False,
                        _env_file=None)  # type: ignore[call-arg]
    return create_app(wiring=build(settings, clock=clock, config=config), prepare_database=False)


def _logged(caplog: pytest.LogCaptureFixture, ref: str) -> bool:
    return any(ref in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("url", ["postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
                                 "sqlite:////nonexistent-dir/chatcrm.db"], ids=["postgres-refused", "sqlite-missing"])
def test_an_unreachable_database_answers_503_with_an_error_id(url, clock, config, caplog):  # type: ignore[no-untyped-def]
    client = TestClient(_app_on(url, clock, config), raise_server_exceptions=False)
    r = client.post("/api/leads", json=LEAD, headers=KEY)
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["error"] == "database unavailable" and re.fullmatch(r"[0-9a-f]{12}", body["error_id"])
    assert r.headers["retry-after"] == "5"
    assert _logged(caplog, body["error_id"])
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["database"] == "unreachable" and _logged(caplog, health.json()["error_id"])


def test_any_other_crash_answers_500_with_an_error_id_not_a_traceback(wiring, monkeypatch, caplog):  # type: ignore[no-untyped-def]
    import bot.api

    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    monkeypatch.setattr(bot.api, "do_create_lead", boom)
    client = TestClient(create_app(wiring=wiring), raise_server_exceptions=False)
    r = client.post("/api/leads", json=LEAD, headers=KEY)
    assert r.status_code == 500
    assert r.json()["error"] == "internal error" and "Traceback" not in r.text and "a bug" not in r.text
    assert _logged(caplog, r.json()["error_id"])


@pytest.mark.postgres
def test_a_connection_killed_mid_request_answers_503_then_the_app_recovers(wiring, engine, caplog):  # type: ignore[no-untyped-def]
    killed: list[int] = []

    def kill_own_backend(conn, cursor, statement, *_):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO LEADS") and not killed:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
                other.commit()
            killed.append(pid)

    client = TestClient(create_app(wiring=wiring), raise_server_exceptions=False)
    event.listen(engine, "before_cursor_execute", kill_own_backend)
    try:
        r = client.post("/api/leads", json=LEAD, headers=KEY)
    finally:
        event.remove(engine, "before_cursor_execute", kill_own_backend)
    assert killed
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "database unavailable" and _logged(caplog, r.json()["error_id"])
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 0  # refused, so not half-stored
    assert client.get("/healthz").status_code == 200
    again = client.post("/api/leads", json=LEAD, headers=KEY)
    assert again.status_code == 201, again.text
