"""compose.yaml and the Dockerfile, proven without a Docker daemon: the compose file is valid by the
Compose Specification's own JSON schema (check-jsonschema's vendored copy), the Dockerfile runs as a
non-root user from the lock file, and the very commands and environment compose.yaml gives its services
run as local processes against one throwaway PostgreSQL database: migrate once, then two web processes,
two workers and two schedulers, all healthy, one scheduler holding the leader lock, and a lead posted to
one web process reaching its owner's console inbox through a worker."""
from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from crm_core.db import make_engine
from scheduler.leader import LOCK_KEY
from tests.ops.conftest import ROOT, child_env

COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
CHATCRM = Path(sys.executable).with_name("chatcrm")
API_KEY = "compose-test-key"
BOUND = 55.0  # seconds from the first start to the lead in the inbox


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, as `docker compose` resolves them."""
    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise AssertionError(f"compose.yaml needs {name}: {arg}")
        return arg or ""
    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", one, value)


def service_env(svc: dict[str, Any], outer: dict[str, str]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: interpolate(str(v), outer) for k, v in env.items()}


def test_compose_yaml_is_valid_by_the_compose_specification_schema() -> None:
    r = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                        str(COMPOSE)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok" in r.stdout


def test_the_schema_check_would_catch_a_mistake(tmp_path: Path) -> None:
    bad = compose()
    bad["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_finished"  # not a condition
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                        str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0


def test_compose_runs_postgres_a_migration_and_two_of_each_process() -> None:
    svcs = compose()["services"]
    assert set(svcs) == {"postgres", "migrate", "web", "worker", "scheduler"}
    pg = svcs["postgres"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert any(v.startswith("pgdata:") for v in pg["volumes"]) and "pgdata" in compose()["volumes"]
    assert svcs["migrate"]["command"] == ["db", "upgrade"] and svcs["migrate"]["restart"] == "no"
    assert svcs["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, command in (("web", "serve"), ("worker", "worker"), ("scheduler", "scheduler")):
        svc = svcs[name]
        assert svc["command"][0] == command
        assert svc["deploy"]["replicas"] == 2, name
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy", name
        env = service_env(svc, {"CHATCRM_API_KEY": API_KEY})
        assert env["CHATCRM_EMBEDDED_WORKERS"] == "0", name
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert "/healthz" in " ".join(svcs["web"]["healthcheck"]["test"])


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, with continuation lines joined and comments dropped."""
    out, buf = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") and not buf:
            continue
        buf += line.rstrip("\\").strip() + " " if line.rstrip().endswith("\\") else line.strip()
        if not line.rstrip().endswith("\\"):
            if buf.strip():
                word, _, rest = buf.strip().partition(" ")
                out.append((word.upper(), rest.strip()))
            buf = ""
    return out


def test_the_dockerfile_is_slim_non_root_runs_chatcrm_and_installs_from_the_lock() -> None:
    ins = dockerfile_instructions()
    froms = [a for i, a in ins if i == "FROM"]
    assert froms and all(f.split()[0] == "python:3.11-slim" for f in froms)
    final = ins[max(n for n, (i, _) in enumerate(ins) if i == "FROM"):]  # the runtime stage
    users = [a for i, a in final if i == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    assert json.loads(dict(final)["ENTRYPOINT"]) == ["chatcrm"]
    runs = [a for i, a in ins if i == "RUN"]
    lock = [r for r in runs if "pip install" in r and "-r" in shlex.split(r)]
    assert lock and "requirements.lock" in lock[0] and "--require-hashes" in lock[0]
    assert any("pip install --no-deps" in r for r in runs)  # the app itself resolves nothing again
    assert [r for r in runs if "pip install" in r].index(lock[0]) == 0  # the lock comes first
    assert any("requirements.lock" in a for i, a in ins if i == "COPY")


# --- the processes compose.yaml names, run locally ------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "X-API-Key": API_KEY})
    with urllib.request.urlopen(req, timeout=10) as r:
        return int(r.status), json.loads(r.read())


@pytest.mark.postgres
def test_the_compose_processes_share_one_database_and_a_lead_flows_through(fresh_pg_url: str, tmp_path: Path) -> None:
    svcs = compose()["services"]
    outer = {"CHATCRM_API_KEY": API_KEY}

    def run_env(name: str, **extra: str) -> dict[str, str]:
        env = service_env(svcs[name], outer)
        env["DATABASE_URL"] = fresh_pg_url  # the throwaway database instead of the `postgres` service
        env.update(extra)
        return child_env(fresh_pg_url, **env)

    started = time.monotonic()
    migrate = subprocess.run([str(CHATCRM), *svcs["migrate"]["command"]], env=run_env("migrate"), cwd=tmp_path,
                             capture_output=True, text=True, timeout=BOUND)
    assert migrate.returncode == 0, migrate.stderr

    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    ports: list[int] = []
    try:
        for name in ("web", "worker", "scheduler"):
            for n in range(svcs[name]["deploy"]["replicas"]):
                extra: dict[str, str] = {}
                command = list(svcs[name]["command"])
                if name == "web":
                    port = _free_port()
                    ports.append(port)
                    command[command.index("--port") + 1] = str(port)  # each replica its own host port
                    extra["PORT"] = str(port)
                log = tmp_path / f"{name}-{n}.log"
                with log.open("wb") as out:
                    p = subprocess.Popen([str(CHATCRM), *command], env=run_env(name, **extra), cwd=tmp_path,
                                         stdout=out, stderr=subprocess.STDOUT)
                procs.append((f"{name}-{n}", p, log))
        assert len(procs) == 6 and len(ports) == 2

        def logs() -> str:
            return "\n".join(f"--- {n} (exit {p.poll()})\n{log.read_text(errors='replace')[-2000:]}"
                             for n, p, log in procs)

        def wait_for(what: str, ok) -> Any:  # type: ignore[no-untyped-def]
            while time.monotonic() - started < BOUND:
                dead = [n for n, p, _ in procs if p.poll() is not None]
                assert not dead, f"{dead} exited while waiting for {what}\n{logs()}"
                got = ok()
                if got:
                    return got
                time.sleep(0.25)  # polling real processes, not the app's clock
            raise AssertionError(f"{what}: not within {BOUND} s\n{logs()}")

        wait_for("both web processes healthy", lambda: all(_get(f"http://127.0.0.1:{p}/healthz") == 200 for p in ports))

        engine = make_engine(fresh_pg_url)
        try:
            key = LOCK_KEY if LOCK_KEY < 2 ** 63 else LOCK_KEY - 2 ** 64
            classid, objid = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF

            def leaders() -> int:
                with engine.connect() as conn:
                    return int(conn.scalar(text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                        "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database() "
                        "AND l.classid::bigint = :c AND l.objid::bigint = :o"), {"c": classid, "o": objid}) or 0)
            wait_for("a scheduler holding the leader lock", lambda: leaders() >= 1)
            assert leaders() == 1  # the other scheduler waits

            status, lead = _post(f"http://127.0.0.1:{ports[0]}/api/leads",
                                 {"name": "Compose Test", "company": "Harbour Freight Ltd", "email": "ct@harbour.example"})
            assert status == 201 and lead["created"], lead

            def delivered() -> bool:
                with engine.connect() as conn:
                    rows = conn.execute(text("SELECT status FROM outbox WHERE record_type = 'lead' AND record_id = :i"),
                                        {"i": lead["id"]}).scalars().all()
                    inbox = conn.scalar(text(
                        "SELECT count(*) FROM console_inbox c JOIN users u ON u.id = c.user_id WHERE u.key = :k"),
                        {"k": lead["owner"]})
                return bool(rows) and all(s == "sent" for s in rows) and bool(inbox)
            wait_for("the lead's notification in its owner's console inbox", delivered)
            assert _get(f"http://127.0.0.1:{ports[1]}/healthz") == 200
            assert all(p.poll() is None for _, p, _ in procs), logs()
        finally:
            engine.dispose()
    finally:
        for _, p, _ in procs:
            p.terminate()
        for _, p, _ in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    assert time.monotonic() - started < BOUND + 15
