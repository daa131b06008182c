"""Soak: `chatcrm serve` (embedded deliverer + scheduler), two console users typing, a CSV import and the
REST API all write to one SQLite file at the same time. Nobody may ever see "database is locked" or a
traceback, every console command gets its answer, and every acknowledged write is in the database.

This is the scenario of the issue "Nothing lost, nothing doubled, nobody let in" (the deliverer logged
`sqlite3.OperationalError: database is locked` within seconds and `chatcrm console` died with it); it
runs in the normal suite, bounded to well under a minute. It is about SQLite's single writer, so it is
skipped when the suite runs on PostgreSQL.
"""
from __future__ import annotations

import csv
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from crm_core.db import make_engine
from crm_core.models import Activity, Deal, Lead, User

pytestmark = pytest.mark.skipif(bool(os.environ.get("CHATCRM_TEST_DATABASE_URL")),
                                reason="SQLite locking soak: runs on the SQLite run of the suite")

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "soak-key"
ROUNDS = 10          # per console user: ROUNDS x (lead add, log, deal set)
IMPORT_ROWS = 300
API_LEADS = 40
BAD = ("database is locked", "Traceback", "OperationalError")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def soak_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "WECOM_", "CHATCRM_", "DATABASE_URL", "PORT"))}
    env.update(PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
               DATABASE_URL=f"sqlite:///{tmp_path / 'soak.db'}", CHATCRM_EMBEDDED_WORKERS="1",
               CHATCRM_API_KEY=API_KEY, PORT=str(_free_port()), PYTHONUNBUFFERED="1")
    return env


class Server:
    """`chatcrm serve` with its output collected by a thread (so the pipe never fills)."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(_cli("serve", "--host", "127.0.0.1"), env=env, cwd=cwd, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if "Uvicorn running on" in line:
                self.ready.set()
        self.ready.set()  # exited: let the waiter see it

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.reader.join(10)
        return "".join(self.lines)


@pytest.fixture
def server(soak_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    demo = subprocess.run(_cli("demo", "--leads", "20"), env=soak_env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    srv = Server(soak_env, tmp_path)
    try:
        assert srv.ready.wait(60) and srv.proc.poll() is None, "".join(srv.lines)
        yield srv
    finally:
        srv.stop()


def _deal_of(db_url: str, user_key: str) -> str:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            deal_id = conn.scalar(select(Deal.id).join(User, User.id == Deal.owner_id)
                                  .where(User.key == user_key, Deal.status == "open").order_by(Deal.id).limit(1))
    finally:
        engine.dispose()
    assert deal_id is not None, f"the demo gave {user_key} no open deal"
    return f"D-{deal_id}"


def _console_script(user: str, deal: str) -> tuple[str, int]:
    lines = []
    for i in range(ROUNDS):
        lines.append(f'lead add "Soak {user} {i}" email=soak-{user}-{i}@example.com company="Soak {user} Co {i}"')
        lines.append(f"log {deal} call soak-{user}-note-{i}")
        lines.append(f"deal set {deal} amount={100000 + i}")
    return "\n".join(lines) + "\n", len(lines)


def _replies(output: str) -> int:
    """Cards that answer a command: a card header not announced as an incoming message (`>> …`)."""
    count, previous = 0, ""
    for line in output.splitlines():
        if line.startswith("== ") and not previous.startswith(">> "):
            count += 1
        if line.strip():
            previous = line
    return count


def _write_csv(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "company", "email", "phone"])
        for i in range(IMPORT_ROWS):
            writer.writerow([f"Imported {i}", f"Import Co {i}", f"imported-{i}@example.com", f"+86138{i:08d}"])


def test_everyone_writing_at_once_never_sees_locked(server: Server, soak_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    users = ["li", "tom"]  # a Chinese and an English rep, each with an open deal in the 20-lead demo
    deals = {u: _deal_of(soak_env["DATABASE_URL"], u) for u in users}
    csv_path = tmp_path / "leads.csv"
    _write_csv(csv_path)
    base = f"http://127.0.0.1:{soak_env['PORT']}"

    consoles = {}
    scripts = {}
    for u in users:
        scripts[u] = _console_script(u, deals[u])
        consoles[u] = subprocess.Popen(_cli("console", "--as", u), env=soak_env, cwd=tmp_path, text=True,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    importer = subprocess.Popen(_cli("import", "leads", str(csv_path), "--batch-size", "25", "--no-progress"),
                                env=soak_env, cwd=tmp_path, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def post(i: int) -> tuple[int, str]:
        r = httpx.post(f"{base}/api/leads", headers={"X-API-Key": API_KEY}, timeout=60,
                       json={"name": f"Api {i}", "email": f"api-{i}@example.com", "company": f"Api Co {i}"})
        return r.status_code, r.text

    with ThreadPoolExecutor(4) as pool:
        api_results = pool.map(post, range(API_LEADS))
        outputs = {u: p.communicate(scripts[u][0], timeout=120) for u, p in consoles.items()}
        imp_out, imp_err = importer.communicate(timeout=120)
        api_results = list(api_results)
    log = server.stop()

    problems = []
    for name, text in [("server", log), ("import", imp_out + imp_err)] + \
            [(f"console {u}", out + err) for u, (out, err) in outputs.items()]:
        for bad in BAD:
            if bad in text:
                problems.append(f"{name}: {bad}: …{text[max(0, text.find(bad) - 300):text.find(bad) + 300]}…")
    assert not problems, "\n\n".join(problems)

    assert importer.returncode == 0, imp_out + imp_err
    assert f"read {IMPORT_ROWS} rows: {IMPORT_ROWS} new leads" in imp_out
    assert [code for code, _ in api_results] == [201] * API_LEADS, api_results
    for u in users:
        out, err = outputs[u]
        assert consoles[u].returncode == 0, err
        assert _replies(out) == scripts[u][1], out
        assert "Something went wrong" not in out and "出错了" not in out, out

    engine = make_engine(soak_env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            emails = set(conn.scalars(select(Lead.email)))
            notes = list(conn.scalars(select(Activity.text).where(Activity.text.like("soak-%"))))
    finally:
        engine.dispose()
    expected = {f"imported-{i}@example.com" for i in range(IMPORT_ROWS)}
    expected |= {f"api-{i}@example.com" for i in range(API_LEADS)}
    expected |= {f"soak-{u}-{i}@example.com" for u in users for i in range(ROUNDS)}
    assert expected - emails == set()
    assert sorted(notes) == sorted(f"soak-{u}-note-{i}" for u in users for i in range(ROUNDS))
    assert not re.search(r"Reference: \w+|参考编号", "".join(o for o, _ in outputs.values()))
