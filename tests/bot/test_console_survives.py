"""The console never dies with a traceback: a command that crashes (here: SQLite's write lock held by
another process longer than the busy timeout) answers with a reference and what was typed, the next
command works, and the log line carries the same reference."""
from __future__ import annotations

import io
import logging
import re
import sqlite3
from pathlib import Path

import pytest

from bot.console import ConsoleSession, repl
from bot.settings import Settings
from bot.wiring import build
from crm_core.db import make_engine


@pytest.mark.parametrize(("user", "typed", "reply"), [("emma", "You typed: ", "Lead L-1 · Ann Lee"),
                                                       ("li", "你输入的是：", "线索 L-1 · Ann Lee")])
def test_a_crashing_command_answers_with_a_reference_and_the_console_goes_on(tmp_path: Path, clock, config,  # type: ignore[no-untyped-def]
                                                                             caplog: pytest.LogCaptureFixture,
                                                                             user: str, typed: str, reply: str) -> None:
    db = tmp_path / "c.db"
    url = f"sqlite:///{db}"
    settings = Settings(database_url=url, chatcrm_embedded_workers=False, _env_file=None)  # type: ignore[call-arg]
    w = build(settings, clock=clock, config=config, engine=make_engine(url, connect_args={"timeout": 0.2}))
    w.prepare_database()
    session = ConsoleSession(w.runner, user, inbox=True)

    other = sqlite3.connect(db, isolation_level=None)  # another process holding the write lock
    other.execute("BEGIN IMMEDIATE")
    out = io.StringIO()
    repl(session, stdin=io.StringIO('lead add "Ann Lee" email=ann@example.com\n'), stdout=out)
    other.execute("ROLLBACK")
    other.close()
    first = out.getvalue()
    assert "Traceback" not in first
    ref = re.search(r"(?:reference|参考编号) ([0-9a-f]{8})", first)
    assert ref, first
    assert typed + 'lead add "Ann Lee" email=ann@example.com' in first  # nothing typed is lost
    assert any(ref.group(1) in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)

    out = io.StringIO()
    repl(session, stdin=io.StringIO('lead add "Ann Lee" email=ann@example.com\n'), stdout=out)
    assert reply in out.getvalue()
    w.engine.dispose()
