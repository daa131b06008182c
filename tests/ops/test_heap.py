"""A served process sets its start-up heap aside from the cyclic garbage collector once it has started
(bot/heap.py): a full collection then walks only what requests made, instead of the ~400 000 objects that
start-up left (a pause of 80–190 ms each, every few seconds under load)."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot import cli


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()  # the rest of the test run collects as before


@pytest.fixture
def served_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> str:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "WECOM_CORP_ID", "CHATCRM_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CHATCRM_EMBEDDED_WORKERS", "0")
    return url


def _frozen_while_serving(app: Any) -> int:
    assert gc.get_freeze_count() == 0  # nothing set aside while the app was only built
    with TestClient(app) as client:  # runs the lifespan, as uvicorn does before the first request
        assert client.get("/healthz").status_code == 200
        return gc.get_freeze_count()


def test_chatcrm_serve_freezes_its_start_up_heap_once_started(served_env, unfrozen, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: served.setdefault("app", app))
    cli.serve(port=8765, host="127.0.0.1", workers=1)
    assert _frozen_while_serving(served["app"]) > 50_000


def test_each_web_process_of_serve_workers_freezes_its_own(served_env, unfrozen) -> None:  # type: ignore[no-untyped-def]
    cli._wiring().prepare_database()  # `serve --workers N` migrates in the parent, before the web processes
    assert _frozen_while_serving(cli.web_process_app()) > 50_000
