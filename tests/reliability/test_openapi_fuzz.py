"""schemathesis against the REST API's own /openapi.json: whatever it sends, never a 500."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis")


@pytest.fixture
def api_schema(wiring):  # type: ignore[no-untyped-def]
    from bot.app import create_app
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(wiring=wiring))


def test_no_generated_request_makes_the_rest_api_fail(api_schema):  # type: ignore[no-untyped-def]
    operations = [op.ok() for op in api_schema.get_all_operations()]
    assert any(op.path == "/api/leads" for op in operations)
    failures: list[str] = []
    for operation in operations:
        if operation.method.upper() != "POST":
            continue

        @settings(max_examples=60, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):  # type: ignore[no-untyped-def]
            for headers in ({"X-API-Key": "test-key"}, {}):
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.path} {case.body!r} -> {response.status_code}")

        run()
    assert failures == []
