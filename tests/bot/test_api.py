"""POST /api/leads: API key, validation, dedupe, assignment; /healthz."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from crm_core.models import Lead, OutboxMessage, User
from crm_core.services.users import locale_of


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


def test_an_error_body_carries_its_code_and_both_sentences_from_the_catalogs(client):  # type: ignore[no-untyped-def]
    r = client.post("/api/leads", json={"name": "A", "email": "nope"}, headers=KEY)
    assert r.status_code == 422 and r.json() == {
        "error": "invalid", "code": "lead.email",
        "message": "email “nope” is not valid: use an address like name@example.com",
        "message_zh": "邮箱「nope」无效：请使用 name@example.com 这样的邮箱"}


def test_docs_and_openapi_are_served(client):  # type: ignore[no-untyped-def]
    assert client.get("/docs").status_code == 200
    assert "/api/leads" in client.get("/openapi.json").json()["paths"]


# --- leads are people (issue "Data a team can trust") ---------------------------------------------

def test_another_person_at_the_same_company_is_a_new_lead_that_names_the_first(client, wiring):  # type: ignore[no-untyped-def]
    first = client.post("/api/leads", json={"name": "Carol King", "company": "Initech Ltd"}, headers=KEY)
    r = client.post("/api/leads", json={"name": "Dan Brown", "company": "INITECH"}, headers=KEY)
    assert first.status_code == 201 and r.status_code == 201, r.text
    assert r.json()["ref"] == "L-2" and r.json()["same_company_as"] == "L-1"
    again = client.post("/api/leads", json={"name": "dan  brown", "company": "Initech, Ltd.", "phone": "13800138000"},
                        headers=KEY)
    assert again.status_code == 200 and again.json()["ref"] == "L-2" and again.json()["duplicate_matched_on"] == "name"
    assert again.json()["merge_id"] is not None
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 2


def test_a_differing_value_is_reported_back_not_dropped(client):  # type: ignore[no-untyped-def]
    client.post("/api/leads", json={"name": "A", "email": "a@acme.com", "phone": "13800138000"}, headers=KEY)
    r = client.post("/api/leads", json={"name": "A", "email": "a@acme.com", "phone": "13900139000"}, headers=KEY)
    assert r.status_code == 200 and r.json()["differences"] == {"phone": "+8613900139000"}


def _post_in_threads(client, bodies):  # type: ignore[no-untyped-def]
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(bodies))

    def post(body):  # type: ignore[no-untyped-def]
        barrier.wait()
        return client.post("/api/leads", json=body, headers=KEY)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def _twenty_posts_of_one_person_leave_one_lead(client, wiring):  # type: ignore[no-untyped-def]
    bodies = [{"name": "Ann Lee", "email": f"{'ANN' if i % 2 else 'ann'}@acme.com", "company": "Acme",
               "region": "east", "source": "web"} for i in range(20)]
    responses = _post_in_threads(client, bodies)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 19 + [201], [r.text for r in responses if r.status_code >= 500]
    assert {r.json()["ref"] for r in responses} == {"L-1"}
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 1


def test_twenty_simultaneous_posts_of_one_person_leave_one_lead_and_no_500(client, wiring):  # type: ignore[no-untyped-def]
    _twenty_posts_of_one_person_leave_one_lead(client, wiring)


@pytest.mark.postgres
def test_twenty_simultaneous_posts_of_one_person_on_postgres(client, wiring, engine):  # type: ignore[no-untyped-def]
    assert engine.dialect.name == "postgresql"
    _twenty_posts_of_one_person_leave_one_lead(client, wiring)


def test_twenty_simultaneous_first_posts_on_a_fresh_database_all_succeed(client, wiring):  # type: ignore[no-untyped-def]
    responses = _post_in_threads(client, [{"name": f"P{i}", "email": f"p{i}@x.com", "region": "east"}
                                          for i in range(20)])
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses if r.status_code != 201]
    assert sorted(r.json()["owner"] for r in responses) == ["han"] * 10 + ["li"] * 10
# --- limits and picklists (docs/fields.md) -------------------------------------------------------

def lead_count(wiring) -> int:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.scalar(select(func.count(Lead.id)))


@pytest.mark.parametrize("body,field", [
    ({"name": "A\x00B"}, "name"), ({"name": "A", "company": "x" * 100_000}, "company"),
    ({"name": "A", "tags": ["ok", "b\x00d"]}, "tags"), ({"name": "A", "email": "a" * 321}, "email"),
    ({"name": "A", "tags": [f"t{i}" for i in range(21)]}, "tags"), ({"name": "A", "fields": {"level": "a\x1b"}}, "fields"),
])
def test_control_characters_and_oversized_strings_are_422_with_json(client, wiring, body, field):  # type: ignore[no-untyped-def]
    r = client.post("/api/leads", json=body, headers=KEY)
    assert r.status_code in (413, 422), r.text
    if r.status_code == 422:
        assert any(field in str(e["loc"]) for e in r.json()["detail"])
    assert lead_count(wiring) == 0


def test_a_body_over_64_kib_is_413_before_parsing(client, wiring):  # type: ignore[no-untyped-def]
    r = client.post("/api/leads", content=b'{"name": "' + b"x" * 70_000 + b'"}', headers={**KEY,
                    "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_large" and r.json()["message_zh"]
    r = client.post("/api/leads", content=iter([b'{"name": "', b"x" * 70_000, b'"}']),  # chunked, no length
                    headers={**KEY, "Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/leads", content=b"{}", headers={**KEY, "Content-Length": "99999999999999999999"})
    assert r.status_code == 413
    assert lead_count(wiring) == 0


def test_a_body_under_the_limit_passes_through(client, wiring):  # type: ignore[no-untyped-def]
    r = client.post("/api/leads", content=iter([b'{"name": "Chunk', b'ed"}']),
                    headers={**KEY, "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert lead_count(wiring) == 1


def test_picklist_aliases_and_declared_fields_work_over_rest(client, wiring):  # type: ignore[no-untyped-def]
    r = client.post("/api/leads", json={"name": "王五", "source": "展会", "region": "华东", "fields": {"level": "重点"}},
                    headers=KEY)
    assert r.status_code == 201, r.text
    with wiring.session_factory() as s:
        lead = s.scalar(select(Lead))
        assert (lead.source, lead.region, lead.fields) == ("event", "east", {"level": "a"})


@pytest.mark.parametrize("body,words", [({"name": "A", "region": "mars"}, "east (East)"),
                                        ({"name": "A", "fields": {"colour": "red"}}, "Unknown field"),
                                        ({"name": "A", "company": "x" * 300 + "\u2028"}, "company")])
def test_values_the_configuration_does_not_allow_are_422(client, wiring, body, words):  # type: ignore[no-untyped-def]
    r = client.post("/api/leads", json=body, headers=KEY)
    assert r.status_code == 422, r.text
    assert words in r.text
    assert lead_count(wiring) == 0


@pytest.mark.parametrize("body", [{"external_id": "p1", "order_id": 10 ** 30, "amount": "5"},
                                  {"external_id": "p1", "order_id": 1, "amount": "1e400"},
                                  {"external_id": "p\x00", "order_id": 1, "amount": "5"}])
def test_payment_numbers_out_of_range_are_422(client, body):  # type: ignore[no-untyped-def]
    r = client.post("/api/payments", json=body, headers=KEY)
    assert r.status_code == 422, r.text


def test_every_problem_of_a_lead_is_in_one_answer(client, wiring):  # type: ignore[no-untyped-def]
    """The first problem's code (what a client branches on) and a sentence for each problem, in both languages."""
    r = client.post("/api/leads", json={"name": "A", "email": "nope", "phone": "12"}, headers=KEY)
    assert r.status_code == 422 and r.json()["code"] == "lead.email"
    assert r.json()["message"].split("\n")[0].startswith("email “nope”")
    assert r.json()["message"].split("\n")[1].startswith("phone “12”")
    assert "邮箱「nope」无效" in r.json()["message_zh"] and "电话「12」" in r.json()["message_zh"]
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 0


def test_a_lead_that_comes_in_again_tells_its_owner_once_a_day(client, wiring, outbox_rows):  # type: ignore[no-untyped-def]
    """The web form posting a known person again updated the lead silently: a returning lead is a sign of
    interest its owner wants to hear of, and only once a day however often the form is sent."""
    first = client.post("/api/leads", json={"name": "Ann Lee", "email": "ann@acme.com", "source": "web"}, headers=KEY)
    assert first.status_code == 201
    for _ in range(3):
        again = client.post("/api/leads", json={"name": "Ann Lee", "email": "ANN@acme.com", "source": "web",
                                                "phone": "13800138000"}, headers=KEY)
        assert again.status_code == 200 and again.json()["created"] is False
    (row,) = outbox_rows("lead.duplicate")
    with wiring.session_factory() as s:
        owner = s.get(User, row.target_id)
        assert owner.id == s.scalar(select(Lead.owner_id))
        chinese = locale_of(owner, wiring.config).startswith("zh")
    said = "又通过「官网」提交了一次（邮箱相同）" if chinese else "came in again through Website (same email)"
    assert said in str(row.payload), row.payload
