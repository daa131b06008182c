"""Start-up refuses a half configuration with one line naming what is missing (English, then Chinese),
exit code 2, no traceback — for `chatcrm serve`, `worker` and `scheduler`, before touching the database."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHATCRM = str(Path(sys.executable).with_name("chatcrm"))
PLATFORM_VARS = ("SLACK_", "WECOM_", "CHATCRM_")


def run(tmp_path: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_VARS)}
    db = tmp_path / "never-created.db"
    full = {**base, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{db}", **env}
    proc = subprocess.run([CHATCRM, command], env=full, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert not db.exists(), "refused before touching the database"
    return proc


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert proc.stdout.strip() == ""
    return lines[0]


WECOM_WITHOUT_AGENT = {"WECOM_CORP_ID": "ww1", "WECOM_SECRET": "s", "WECOM_TOKEN": "t", "WECOM_AES_KEY": "k" * 43}


@pytest.mark.parametrize("command", ["serve", "worker", "scheduler"])
def test_slack_token_without_signing_secret(tmp_path: Path, command: str) -> None:
    line = one_line(run(tmp_path, command, SLACK_BOT_TOKEN="xoxb-1"))
    assert "Slack is half configured, missing SLACK_SIGNING_SECRET" in line
    assert "Slack 配置不完整，缺少 SLACK_SIGNING_SECRET" in line


def test_wecom_without_agent_id(tmp_path: Path) -> None:
    line = one_line(run(tmp_path, "serve", **WECOM_WITHOUT_AGENT))
    assert "WeCom is half configured, missing WECOM_AGENT_ID" in line and "缺少 WECOM_AGENT_ID" in line


def test_oauth_half_set_and_wecom_half_set_are_both_named_on_the_one_line(tmp_path: Path) -> None:
    line = one_line(run(tmp_path, "serve", SLACK_SIGNING_SECRET="sec", SLACK_CLIENT_ID="123.456",
                        WECOM_CORP_ID="ww1"))
    assert "Slack OAuth is half configured, missing SLACK_CLIENT_SECRET" in line
    assert "WeCom is half configured, missing WECOM_AGENT_ID, WECOM_SECRET, WECOM_TOKEN, WECOM_AES_KEY" in line


def test_a_signing_secret_alone_asks_for_a_token_or_oauth(tmp_path: Path) -> None:
    line = one_line(run(tmp_path, "worker", SLACK_SIGNING_SECRET="sec"))
    assert "missing SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)" in line


def test_an_invalid_setting_value_is_one_line_too(tmp_path: Path) -> None:
    line = one_line(run(tmp_path, "serve", CHATCRM_LOG_FORMAT="xml"))
    assert "CHATCRM_LOG_FORMAT" in line and "'text' or 'json'" in line and "拒绝启动" in line


@pytest.mark.parametrize("env", [
    {},
    {"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "s"},
    {"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2"},
    {**WECOM_WITHOUT_AGENT, "WECOM_AGENT_ID": "1000002"},
], ids=["nothing", "slack-token", "slack-oauth", "wecom"])
def test_complete_configurations_are_accepted(env: dict[str, str]) -> None:
    assert Settings(_env_file=None, **{k.lower(): v for k, v in env.items()}).missing_variables() == []  # type: ignore[arg-type]


def test_serve_with_json_logs_writes_one_json_object_a_line_with_request_ids(tmp_path: Path) -> None:
    """The real process: CHATCRM_LOG_FORMAT=json reaches every logger (uvicorn's too), and the access line
    of a request carries the request id the caller sent."""
    import json
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    base = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_VARS)}
    env = {**base, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'j.db'}",
           "CHATCRM_LOG_FORMAT": "json", "CHATCRM_EMBEDDED_WORKERS": "0"}
    err = (tmp_path / "stderr.log").open("w")
    proc = subprocess.Popen([CHATCRM, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "stderr.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", headers={"X-Request-Id": "probe-1"}).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.05)  # polling a subprocess, not waiting for time to pass
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        err.close()
    records = [json.loads(line) for line in (tmp_path / "stderr.log").read_text().splitlines() if line.strip()]
    assert records and all({"time", "level", "logger", "message", "request_id"} <= set(r) for r in records)
    assert any(r["logger"] == "uvicorn.access" and r["request_id"] == "probe-1" and "/readyz" in r["message"]
               for r in records)
