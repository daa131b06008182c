"""`chatcrm serve --workers N`: several web processes on one port, sharing the inbound queue (the inbox) on
PostgreSQL; on SQLite the command refuses, saying why and what to do instead."""
from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine

from crm_core.models import InboxItem, Lead
from tests.bot.slack.harness import SlackPlayer, blocks_text
from tests.reliability.test_kill_after_ack import (  # noqa: F401 - fixtures
    PG_URL, ROOT, Server, count, db, fakes, server, signed, wait_until)


def test_on_sqlite_more_than_one_web_process_is_refused_with_what_to_do(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'one.db'}"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--workers", "2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "SQLite is served by one web process" in done.stderr and "PostgreSQL" in done.stderr
    assert "SQLite 只支持一个 Web 进程" in done.stderr


@pytest.mark.skipif(not PG_URL, reason="several web processes share the inbox on PostgreSQL only")
def test_two_web_processes_answer_commands_each_exactly_once(server: Server, db: tuple[str, Engine],
                                                             fakes) -> None:  # type: ignore[no-untyped-def]
    engine = db[1]
    slack, _ = fakes
    player = SlackPlayer(None, slack)  # type: ignore[arg-type] - only builds bodies here
    server.start(crash_after_ack=False, workers=2)
    # both web processes up before the commands go out (on a loaded machine the second one can start late)
    wait_until("both web processes", lambda: len(set(re.findall(r"Started server process \[(\d+)\]",
                                                                  server.tail()))) == 2)
    names = [f"Worker {chr(ord('A') + i)}" for i in range(12)]
    bodies = [player.command_body("U01EMMA", f'lead add "{n}" company="{n} Ltd"') for n in names]

    def send(body: str) -> str:
        r = server.post("/slack/events", body.encode(), signed(body))
        assert r.status_code == 200, server.tail()
        return blocks_text(r.json()) if r.content else ""  # empty: the budget ran out, response_url follows

    with ThreadPoolExecutor(max_workers=6) as pool:
        inline = list(pool.map(send, bodies))
    late = len([a for a in inline if not a])
    if late:
        wait_until("the answers after the ack", lambda: len(slack.calls_to("response_url")) >= late)
    answers = [a for a in inline if a] + [blocks_text(p) for p in slack.calls_to("response_url")]
    for name in names:  # each command answered exactly once, inline or through its response_url
        assert sum(f"· {name}" in a for a in answers) == 1, (name, answers)
    assert len(answers) == 12
    assert count(engine, Lead) == 12 and count(engine, InboxItem, InboxItem.status == "replied") == 12
    started = set(re.findall(r"Started server process \[(\d+)\]", server.tail()))
    assert len(started) == 2, server.tail()
