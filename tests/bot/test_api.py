"""POST /api/leads: API key, validation, dedupe, assignment; /healthz."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from crm_core.models import Lead, OutboxMessage


@pytest.fixture
def client(wiring):  # type: ignore[no-untyped-def]
    with TestClient(create_app(wiring=wiring)) as c:
        yield c


KEY = {"X-API-Key": "test-key"}


def test_health_reports_the_database(client):  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_a_web_form_lead_is_created_assigned_by_rule_and_its_owner_notified(client, wiring):  # type: ignore[no-untyped-def]
    r = client.post("/api/leads", json={"name": "周杰", "company": "杭州云图科技有限公司", "phone": "139 1234 5678",
                                        "region": "east", "source": "web"}, headers=KEY)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ref"] == "L-1" and body["created"] is True and body["owner"] in ("li", "han")
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "lead.assigned")) == 1


def test_a_duplicate_is_answered_200_with_the_existing_lead(client, wiring):  # type: ignore[no-untyped-def]
    client.post("/api/leads", json={"name": "A", "email": "a@acme.com"}, headers=KEY)
    r = client.post("/api/leads", json={"name": "A again", "email": "A@ACME.com", "source": "ads"}, headers=KEY)
    assert r.status_code == 200 and r.json()["created"] is False and r.json()["duplicate_matched_on"] == "email"
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 1


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_without_the_right_key_nothing_is_created(client, wiring, headers):  # type: ignore[no-untyped-def]
    r = client.post("/api/leads", json={"name": "A"}, headers=headers)
    assert r.status_code == 401
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 0


@pytest.mark.parametrize("body,field", [({"name": "A", "email": "nope"}, "email"), ({"name": "A", "phone": "12"}, "phone"),
                                        ({"name": "A", "source": "fax"}, "source")])
def test_invalid_fields_are_422_with_a_message_naming_the_field(client, body, field):  # type: ignore[no-untyped-def]
    r = client.post("/api/leads", json=body, headers=KEY)
    assert r.status_code == 422
    assert field in r.json()["message"] and r.json()["message_zh"]


def test_docs_and_openapi_are_served(client):  # type: ignore[no-untyped-def]
    assert client.get("/docs").status_code == 200
    assert "/api/leads" in client.get("/openapi.json").json()["paths"]
