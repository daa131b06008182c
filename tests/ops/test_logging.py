"""CHATCRM_LOG_FORMAT=json: one JSON object a line, carrying the id of the HTTP request being served; the
error id a caller or a chat user is shown is that request id, so the id a person reports finds the lines."""
from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.logs import RequestIdFilter, formatter
from handlers import registry
from tests.bot.slack.harness import FORM, blocks_text

KEY = {"X-API-Key": "test-key"}
LEAD = {"name": "Ann Lee", "email": "ann@example.com"}


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What a process started with CHATCRM_LOG_FORMAT=json writes (bot.logs.configure's handler)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.fixture
def crashing_api(wiring, monkeypatch):  # type: ignore[no-untyped-def]
    import bot.api

    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    monkeypatch.setattr(bot.api, "do_create_lead", boom)
    w = wiring
    w.settings = w.settings.model_copy(update={"chatcrm_api_key": "test-key"})
    return TestClient(create_app(wiring=w, prepare_database=False), raise_server_exceptions=False)


def test_a_500_shows_the_request_id_the_json_log_line_carries(crashing_api, json_log):  # type: ignore[no-untyped-def]
    r = crashing_api.post("/api/leads", json=LEAD, headers={**KEY, "X-Request-Id": "req-abc-123"})
    assert r.status_code == 500
    assert r.json() == {"error": "internal error", "error_id": "req-abc-123"}
    assert r.headers["x-request-id"] == "req-abc-123"
    errors = [line for line in lines(json_log) if line["level"] == "ERROR"]
    assert len(errors) == 1
    line = errors[0]
    assert line["request_id"] == "req-abc-123" and "error_id=req-abc-123" in line["message"]
    assert line["logger"] == "chatcrm.app" and line["exc_type"] == "RuntimeError" and "a bug" in line["traceback"]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", line["time"])


def test_without_a_request_id_one_is_made_and_used_everywhere(crashing_api, json_log):  # type: ignore[no-untyped-def]
    r = crashing_api.post("/api/leads", json=LEAD, headers=KEY)
    rid = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{12}", rid) and r.json()["error_id"] == rid
    assert [line["request_id"] for line in lines(json_log) if line["level"] == "ERROR"] == [rid]


def test_an_unusable_request_id_is_replaced_not_echoed(crashing_api):  # type: ignore[no-untyped-def]
    r = crashing_api.post("/api/leads", json=LEAD, headers={**KEY, "X-Request-Id": "x" * 300})
    assert re.fullmatch(r"[0-9a-f]{12}", r.headers["x-request-id"]) and r.json()["error_id"] == r.headers["x-request-id"]


def test_every_response_carries_its_request_id(wiring):  # type: ignore[no-untyped-def]
    client = TestClient(create_app(wiring=wiring, prepare_database=False))
    assert client.get("/healthz", headers={"X-Request-Id": "lb-42"}).headers["x-request-id"] == "lb-42"
    a, b = client.get("/healthz").headers["x-request-id"], client.get("/healthz").headers["x-request-id"]
    assert a != b


def test_a_chat_users_error_reference_is_the_request_id(slack, json_log, monkeypatch):  # type: ignore[no-untyped-def]
    def broken(**_kw):  # type: ignore[no-untyped-def]
        raise RuntimeError("handler bug")

    monkeypatch.setitem(registry.COMMANDS, "help", replace(registry.COMMANDS["help"], fn=broken,
                                                           wants=frozenset()))
    r = slack.post(slack.command_body("U01EMMA", "help"), FORM, extra_headers={"X-Request-Id": "slack-req-7"})
    assert r.status_code == 200
    assert "slack-req-7" in blocks_text(slack.last_response())
    runner_lines = [line for line in lines(json_log) if line["logger"] == "chatcrm.runner"]
    assert runner_lines and runner_lines[0]["request_id"] == "slack-req-7"
    assert "ref=slack-req-7" in runner_lines[0]["message"] and runner_lines[0]["exc_type"] == "RuntimeError"


def test_text_format_is_the_default(settings):  # type: ignore[no-untyped-def]
    assert settings.chatcrm_log_format == "text"
    record = logging.LogRecord("chatcrm.x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    assert formatter("text").format(record).endswith("INFO chatcrm.x: hello world")


def test_the_reference_survives_the_hop_to_slacks_thread_pools(slack_wiring, fake_slack, json_log, monkeypatch):  # type: ignore[no-untyped-def]
    """In production Bolt runs listeners, and the work after the ack, on thread pools: still the request id."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.bot.slack.harness import SlackPlayer

    def broken(**_kw):  # type: ignore[no-untyped-def]
        raise RuntimeError("handler bug")

    monkeypatch.setitem(registry.COMMANDS, "help", replace(registry.COMMANDS["help"], fn=broken,
                                                           wants=frozenset()))
    w = slack_wiring
    pools = [ThreadPoolExecutor(max_workers=2), ThreadPoolExecutor(max_workers=2)]
    w.slack.listener_executor, w.slack.work_executor = pools
    try:
        with TestClient(create_app(wiring=w, prepare_database=False), base_url="https://testserver") as client:
            player = SlackPlayer(client, fake_slack)
            r = player.post(player.command_body("U01EMMA", "help"), FORM, extra_headers={"X-Request-Id": "pool-req-9"})
            assert r.status_code == 200
            posted = fake_slack.wait_for("response_url", 1, timeout=10)
    finally:
        for pool in pools:
            pool.shutdown(wait=True)
    assert "pool-req-9" in json.dumps(posted[-1], ensure_ascii=False)
    runner_lines = [line for line in lines(json_log) if line["logger"] == "chatcrm.runner"]
    assert runner_lines and runner_lines[0]["request_id"] == "pool-req-9"
