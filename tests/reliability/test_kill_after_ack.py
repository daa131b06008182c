"""Inbound work is durable: the real `chatcrm serve` dies between the ack and the work, and nothing is lost
or doubled.

Each scenario runs the real app in a subprocess against fake Slack / WeCom servers (local HTTP servers that
record what they got). With the test-only hook CHATCRM_TEST_CRASH_AFTER_ACK=1 (bot/crashpoint.py) the
process records the request in the inbox, sends the ack, and exits with os._exit before doing any work —
as a kill at that instant would. The restarted process (a short inbox lease, so recovery does not wait a
minute) does the work exactly once and delivers the reply exactly once; the platform's retry of the same
request, before or after that, is answered without redoing anything. Requests are signed as the platforms
sign them (Slack's v0 HMAC, WeCom's AES envelope via wechatpy's crypto).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import Engine, func, select

from bot.crashpoint import EXIT_CODE
from crm_core.db import make_engine
from crm_core.migrate import upgrade
from crm_core.models import InboxItem, Lead
from tests.bot.slack.fake_slack import TOKEN, FakeSlack
from tests.bot.slack.harness import FORM, SECRET, SlackPlayer, blocks_text, signed_headers
from tests.bot.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, MEMBERS, SECRET as WECOM_SECRET, TOKEN as WECOM_TOKEN
from tests.bot.wecom.fake_api import FakeWeCom
from tests.bot.wecom.wecom_side import WeComServerSide, text_xml

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("CHATCRM_TEST_DATABASE_URL")
WAIT = 90.0  # seconds: the machine may be busy; every wait below ends as soon as its condition holds


_last_ts = [0]


def signed(body: str) -> dict[str, str]:
    """Slack signs each delivery with the time it is sent; two deliveries in one second would carry the very
    same signature (a replay, refused 401), so each one here gets a timestamp of its own (within Bolt's
    5-minute window: counting up from 4 minutes ago)."""
    _last_ts[0] = max(int(time.time()) - 240, _last_ts[0] + 1)
    return signed_headers(body, FORM, timestamp=_last_ts[0])


def wait_until(what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)  # polling a subprocess, not waiting for time to pass
    raise AssertionError(f"timed out waiting for {what}")


class Server:
    """`chatcrm serve` in a subprocess; its log goes to a file shown when a test fails."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, crash_after_ack: bool, workers: int = 1) -> "Server":
        env = {**self.env, "PORT": str(self.port)}
        if crash_after_ack:
            env["CHATCRM_TEST_CRASH_AFTER_ACK"] = "1"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1",
                                          "--workers", str(workers)],
                                         cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_until("the server to answer /healthz", self._healthy)
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.tail()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def post(self, path: str, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", content=content, headers=headers or {}, timeout=30)

    def died_with(self) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=WAIT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def db(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Engine]]:
    """SQLite: a file of this test's own. PostgreSQL: the suite's database (emptied after the test)."""
    if PG_URL:
        engine: Engine = request.getfixturevalue("engine")
        yield PG_URL, engine
        return
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSlack, FakeWeCom]]:
    slack = FakeSlack().start()
    slack.add_user("U01EMMA", "Emma Jones")
    wecom = FakeWeCom(CORP_ID, WECOM_SECRET, AGENT_ID, MEMBERS).start()
    yield slack, wecom
    slack.stop()
    wecom.stop()


@pytest.fixture
def server(db: tuple[str, Engine], fakes: tuple[FakeSlack, FakeWeCom], tmp_path: Path) -> Iterator[Server]:
    slack, wecom = fakes
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WECOM_", "CHATCRM_"))}
    env.update({"DATABASE_URL": db[0], "PYTHONPATH": str(ROOT), "CHATCRM_EMBEDDED_WORKERS": "1",
                "CHATCRM_INBOX_LEASE_SECONDS": "1",
                "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
                "WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_SECRET": WECOM_SECRET,
                "WECOM_TOKEN": WECOM_TOKEN, "WECOM_AES_KEY": AES_KEY, "WECOM_API_URL": wecom.url})
    srv = Server(env, tmp_path / "serve.log")
    yield srv
    srv.stop()


def count(engine: Engine, model: type, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def inbox_row(engine: Engine, key: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(InboxItem.status, InboxItem.saved, InboxItem.reply_sent_at)
                           .where(InboxItem.key == key)).first()
        return dict(row._mapping) if row else None


def test_a_slack_command_acked_by_a_process_that_died_is_done_once_and_answered_once(server, db, fakes):
    engine = db[1]
    slack, _ = fakes
    player = SlackPlayer(None, slack)  # type: ignore[arg-type] - only builds bodies here
    body = player.command_body("U01EMMA", 'lead add "Kill Test" company="Phoenix Ltd" email=kill@phoenix.example')
    form = dict(parse_qsl(body))
    key = f"slack:cmd:{form['team_id']}:{form['user_id']}:{form['trigger_id']}"

    server.start(crash_after_ack=True)
    ack = server.post("/slack/events", body.encode(), signed(body))
    assert ack.status_code == 200, ack.text
    assert server.died_with() == EXIT_CODE, server.tail()
    # The process died after the ack: the request is in the inbox, nothing was done, nobody was answered.
    assert inbox_row(engine, key) == {"status": "pending", "saved": None, "reply_sent_at": None}, server.tail()
    assert count(engine, Lead) == 0
    assert slack.calls_to("response_url") == []

    server.start(crash_after_ack=False)
    # Slack's retry of the same request (signed anew) is acknowledged; whichever of it and the start-up
    # recovery gets the row does the work — once.
    retry = server.post("/slack/events", body.encode(), signed(body))
    assert retry.status_code == 200
    wait_until("the reply to reach the response_url", lambda: slack.calls_to("response_url"))
    wait_until("the inbox row to be marked replied",
               lambda: (inbox_row(engine, key) or {}).get("status") == "replied")
    assert count(engine, Lead) == 1, server.tail()
    (reply,) = slack.calls_to("response_url")
    text = blocks_text(reply)
    assert "L-1" in text and "Kill Test" in text
    assert "Saved: L-1" in text  # a late answer says what was saved
    assert "not saved" not in text

    # Another retry after the reply went out changes nothing and sends nothing. A fresh command answered
    # after it shows that the retry's turn has passed.
    assert server.post("/slack/events", body.encode(), signed(body)).status_code == 200
    fresh = player.command_body("U01EMMA", "lead list")
    answer = server.post("/slack/events", fresh.encode(), signed(fresh))
    assert answer.status_code == 200
    if answer.content:  # answered in its HTTP response (its work was done within the budget)...
        assert "Phoenix" in blocks_text(answer.json())
        expected = 1
    else:  # ... or, on a crowded machine, after the ack through its response_url
        wait_until("the answer to the next command", lambda: len(slack.calls_to("response_url")) >= 2)
        assert "Phoenix" in blocks_text(slack.calls_to("response_url")[1])
        expected = 2
    assert count(engine, Lead) == 1
    answers = slack.calls_to("response_url")
    assert len(answers) == expected, [blocks_text(a) for a in answers]  # the retry sent nothing more


def test_a_wecom_message_acked_by_a_process_that_died_is_done_once_and_answered_once(server, db, fakes):
    engine = db[1]
    _, wecom = fakes
    side = WeComServerSide(WECOM_TOKEN, AES_KEY, CORP_ID)
    msg_id = "7300000000000099001"
    xml = text_xml(CORP_ID, "lilei", "线索 新建 赵六 company=凤凰科技有限公司", msg_id, create_time=int(time.time()))
    key = f"wecom:msg:{msg_id}"

    def deliver() -> httpx.Response:  # WeCom signs every delivery (a retry too) with the time it is sent
        query, envelope = side.callback(xml, timestamp=str(int(time.time())))
        return server.post(f"/wecom/callback?{query}", envelope)

    def replies() -> list[str]:
        return [str(b) for b in wecom.sent_to("lilei")]

    server.start(crash_after_ack=True)
    ack = deliver()
    assert ack.status_code == 200 and ack.content == b"", ack.text
    assert server.died_with() == EXIT_CODE, server.tail()
    assert inbox_row(engine, key) == {"status": "pending", "saved": None, "reply_sent_at": None}, server.tail()
    assert count(engine, Lead) == 0
    assert replies() == []

    server.start(crash_after_ack=False)
    assert deliver().status_code == 200  # WeCom's retry after the restart
    wait_until("the inbox row to be marked replied",
               lambda: (inbox_row(engine, key) or {}).get("status") == "replied")
    assert count(engine, Lead) == 1, server.tail()
    sent = replies()
    assert len(sent) == 2, sent  # the "saved" notice heading the late answer, then the lead card
    assert "已保存：L-1" in sent[0] and "赵六" in sent[1]

    assert deliver().status_code == 200  # one more retry: answered, nothing redone, nothing re-sent
    assert deliver_and_wait_for_next(server, side, wecom)
    assert count(engine, Lead) == 1
    later = replies()[2:]  # only the answer to the next message (help): neither the notice nor the lead again
    assert later and not any("已保存" in m or "凤凰科技" in m for m in later), later


def deliver_and_wait_for_next(server: Server, side: WeComServerSide, wecom: FakeWeCom) -> bool:
    """A fresh message after the retry; its answer arriving shows the retry's turn has passed."""
    before = len(wecom.sent_to("lilei"))
    xml = text_xml(CORP_ID, "lilei", "帮助", "7300000000000099002", create_time=int(time.time()))
    query, envelope = side.callback(xml, timestamp=str(int(time.time())))
    server.post(f"/wecom/callback?{query}", envelope)
    wait_until("the answer to the next message", lambda: len(wecom.sent_to("lilei")) > before)
    return True
