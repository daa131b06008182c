"""PostgreSQL connection killed mid-run: the app recovers on the next request, no acknowledged write is lost."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from bot.app import create_app
from crm_core.models import Lead
from tests.conftest import RUN_LOCK_APP

KEY = {"X-API-Key": "test-key"}


@pytest.mark.postgres
def test_killing_every_app_connection_loses_no_acknowledged_write(wiring, engine):  # type: ignore[no-untyped-def]
    acknowledged: list[str] = []
    with TestClient(create_app(wiring=wiring)) as client:
        for round_ in range(3):
            for i in range(5):
                r = client.post("/api/leads", json={"name": f"r{round_}-{i}", "email": f"r{round_}x{i}@example.com"},
                                headers=KEY)
                assert r.status_code == 201, r.text
                acknowledged.append(r.json()["ref"])
            # Kill every other backend on this database, the pooled connections of the app included.
            with engine.connect() as conn:
                killed = conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> :run"),
                    {"run": RUN_LOCK_APP}).scalar_one()
                conn.commit()
            assert killed >= 0
            assert client.get("/healthz").json()["database"] == "ok"
        r = client.post("/api/leads", json={"name": "after", "email": "after@example.com"}, headers=KEY)
        assert r.status_code == 201
        acknowledged.append(r.json()["ref"])
    with wiring.session_factory() as s:
        stored = {f"L-{i}" for i in s.scalars(select(Lead.id))}
        assert set(acknowledged) <= stored
        assert s.scalar(select(func.count(Lead.id))) == len(acknowledged)
