"""Events API: App Home, retried deliveries, url_verification, ssl_check; acks inside 3 s."""
from __future__ import annotations

import functools
import json
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from bot.app import create_app
from crm_core.models import Deal, ProcessedInvocation, SeenSignature, Task
from crm_core.services.users import user_by_identity
from tests.bot.slack.harness import FORM, SlackPlayer, blocks_text


def test_app_home_shows_deals_by_stage_tasks_due_and_approvals_waiting(slack, fake_slack, clock):
    slack.command("U01EMMA", "deal new Acme amount=250000 close=2027-03-31")
    slack.command("U01EMMA", "deal new Globex amount=1000")
    slack.command("U01EMMA", "deal set D-2 contact=Bob")
    slack.command("U01EMMA", "advance D-2")
    slack.command("U01EMMA", "quote D-1 PRO x10 discount=15")  # waits on Sam (manager)
    clock.advance(days=3)  # the stage tasks fall due
    r = slack.home_opened("U01EMMA")
    assert r.status_code == 200
    home = fake_slack.homes["U01EMMA"]
    assert home["type"] == "home"
    text = blocks_text(home)
    assert "My open deals (2)" in text and "*Qualify* (1)" in text and "*Discovery* (1)" in text
    assert "D-1 · Acme" in text and "Tasks due" in text and "Confirm budget and timeline" in text
    slack.home_opened("U01SAM")
    sam = blocks_text(fake_slack.homes["U01SAM"])
    assert "A-1" in sam  # approvals waiting on me


def test_a_long_list_of_overdue_tasks_shows_the_oldest_and_says_there_are_more(slack, slack_wiring, fake_slack,
                                                                                 clock):  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", "help")  # Emma's first request makes her a user
    with slack_wiring.session_factory.begin() as s:
        emma = user_by_identity(s, "slack", "U01EMMA")
        assert emma is not None
        s.add_all(Task(title=f"Call back customer {i:02d}", owner_id=emma.id, due_date=date(2026, 1, 1) + timedelta(days=i),
                       created_at=clock.now()) for i in range(45))
    slack.home_opened("U01EMMA")
    text = blocks_text(fake_slack.homes["U01EMMA"])
    assert "Call back customer 00" in text and "Call back customer 29" in text  # the 30 oldest
    assert "Call back customer 30" not in text
    assert "… and 15 more due." in text
    with slack_wiring.session_factory.begin() as s:  # all but 30 done: nothing more to tell of
        for task in s.scalars(select(Task).where(Task.title >= "Call back customer 30")):
            task.done_at = clock.now()
    slack.home_opened("U01EMMA")
    assert "Call back customer 29" in blocks_text(fake_slack.homes["U01EMMA"])
    assert "more due" not in blocks_text(fake_slack.homes["U01EMMA"])


def test_more_open_deals_than_the_home_tab_lists_are_counted_and_pointed_to(slack, slack_wiring, fake_slack,
                                                                              clock):  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", "deal new Acme amount=1000")
    with slack_wiring.session_factory.begin() as s:
        first = s.get(Deal, 1)
        assert first is not None
        s.add_all(Deal(name=f"Acme expansion {i:02d}", account_id=first.account_id, owner_id=first.owner_id,
                       stage=first.stage, stage_entered_at=clock.now(), created_at=clock.now(), updated_at=clock.now())
                  for i in range(64))
    slack.home_opened("U01EMMA")
    text = blocks_text(fake_slack.homes["U01EMMA"])
    assert "My open deals (65)" in text  # all of them, where it said 60
    assert "The 60 most recently changed; `/crm deal list` shows them all." in text


def test_a_retried_event_is_handled_once(slack, fake_slack):
    slack.home_opened("U01EMMA", event_id="Ev42")
    r = slack.home_opened("U01EMMA", event_id="Ev42", retry_num=1)
    assert r.status_code == 200
    assert len(fake_slack.calls_to("views.publish")) == 1


def test_the_messages_tab_publishes_nothing(slack, fake_slack):
    slack.event({"type": "app_home_opened", "user": "U01EMMA", "channel": "D01EMMA", "tab": "messages",
                 "event_ts": "1700000003.000400"})
    assert fake_slack.calls_to("views.publish") == []


def test_an_event_that_does_nothing_writes_nothing_before_or_after_its_ack(slack, slack_wiring, fake_slack):  # type: ignore[no-untyped-def]
    """Most events a workspace sends do nothing here (a 👍 anywhere, the Messages tab): they are acked without
    a write — no event_id claimed, no wait for a commit — and only an event that works claims its id."""
    writes: list[str] = []

    def seen(_conn, _cursor, sql: str, *_args) -> None:  # type: ignore[no-untyped-def]
        verb = sql.split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):  # on PostgreSQL too: no signature claimed (replay.py)
            writes.append(sql)

    event.listen(slack_wiring.engine, "before_cursor_execute", seen)
    try:
        thumbs = {"type": "reaction_added", "user": "U01LI", "reaction": "thumbsup", "item_user": "U01EMMA",
                  "item": {"type": "message", "channel": "C0GENERAL", "ts": "1700000100.000200"},
                  "event_ts": "1700000200.000300"}
        assert slack.event(thumbs).status_code == 200
        assert slack.event({"type": "app_home_opened", "user": "U01EMMA", "channel": "D01EMMA", "tab": "messages",
                            "event_ts": "1700000003.000400"}).status_code == 200
        assert writes == []
    finally:
        event.remove(slack_wiring.engine, "before_cursor_execute", seen)
    with slack_wiring.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessedInvocation)) == 0
        # nor their signatures (PostgreSQL claims those through a pool of its own, unseen by `seen` above)
        assert s.scalar(select(func.count()).select_from(SeenSignature)) == 0
    slack.home_opened("U01EMMA", event_id="Ev7")  # its work (the view published again) harms nobody if repeated
    with slack_wiring.session_factory() as s:
        assert s.get(ProcessedInvocation, "slack:event:Ev7") is None  # so its id is remembered, not written


def test_url_verification_echoes_the_challenge_when_signed(slack):
    body = json.dumps({"token": "vtok", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"})
    r = slack.post(body, "application/json")
    assert r.status_code == 200 and r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
    assert slack.post(body, "application/json", secret="nope").status_code == 401


def test_ssl_check_is_answered(slack):
    assert slack.post("token=vtok&ssl_check=1", FORM).status_code == 200


def test_approving_from_the_home_tab_answers_by_dm_and_refreshes_home(slack, fake_slack):
    slack.command("U01EMMA", "deal new Acme amount=250000")
    slack.command("U01EMMA", "quote D-1 PRO x10 discount=15")
    slack.click("U01SAM", "approval.approve", "A-1", home=True)
    dm = fake_slack.dm_messages("U01SAM")[-1]
    assert "A-1" in blocks_text(dm)
    assert "U01SAM" in fake_slack.homes


def test_every_request_is_acked_well_inside_3_seconds_and_the_work_follows(slack_wiring, fake_slack):
    """With Bolt's real thread pool: the ack returns at once although answering takes 2 s."""
    slack_wiring.slack.listener_executor = ThreadPoolExecutor(max_workers=2)
    fake_slack.delays["response_url"] = 2.0
    with TestClient(create_app(wiring=slack_wiring, prepare_database=False), base_url="https://testserver") as tc:
        player = SlackPlayer(tc, fake_slack)
        started = time.monotonic()
        r = player.command("U01EMMA", "help")
        took = time.monotonic() - started
        assert r.status_code == 200 and took < 1.5
        fake_slack.wait_for("response_url", timeout=10)
    slack_wiring.slack.listener_executor.shutdown(wait=True)


def test_slack_routes_answer_404_when_slack_is_not_configured(wiring):
    with TestClient(create_app(wiring=wiring, prepare_database=False), base_url="https://testserver") as tc:
        assert tc.post("/slack/events", content=b"x=1", headers={"Content-Type": FORM}).status_code == 404
        assert tc.get("/slack/install").status_code == 404
        assert tc.get("/slack/oauth_redirect").status_code == 404


def test_install_routes_answer_404_in_single_workspace_mode(slack_api):
    assert slack_api.get("/slack/install").status_code == 404
    assert slack_api.get("/slack/oauth_redirect?code=x&state=y").status_code == 404


def test_block_kit_in_every_reply_passed_slacks_server_side_limits(slack, fake_slack):
    for text in ["help", "my", "pipeline", "deal list team", "lead list", "renewals", "帮助"]:
        slack.command("U01WANG", text)
    assert len(slack.responses()) == 7
    assert all(r["blocks"] for r in slack.responses())


class HeldWork(Executor):
    """The work after the ack, held until the test runs it: what a busy work pool looks like, without threads."""

    def __init__(self) -> None:
        self.held: list[Any] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.held.append(functools.partial(fn, *args, **kwargs))
        return Future()

    def run_all(self) -> int:
        ran, self.held = self.held, []
        for task in ran:
            task()
        return len(ran)


def test_opening_the_home_tab_again_while_a_view_waits_builds_one_view_with_the_latest(
        slack_wiring, fake_slack) -> None:  # type: ignore[no-untyped-def]
    work = HeldWork()
    slack_wiring.slack.work_executor = work
    with TestClient(create_app(wiring=slack_wiring, prepare_database=False), base_url="https://testserver") as tc:
        slack = SlackPlayer(tc, fake_slack)
        slack.command("U01EMMA", "deal new Acme amount=250000")  # answered inline: no work left held
        work.run_all()
        for n in range(3):  # Emma clicks Home, Messages, Home, … while the work pool is busy
            assert slack.home_opened("U01EMMA", event_id=f"EvE{n}").status_code == 200
        assert slack.home_opened("U01LI", event_id="EvL1").status_code == 200
        slack.command("U01EMMA", "deal new Globex amount=1000")  # after her last opening
        assert fake_slack.calls_to("views.publish") == []
        assert len(work.held) == 3  # Emma's view once, Li's, and the command's work
        work.held.pop()()  # the command's work first: Globex is made after her openings, before her view is built
        work.run_all()
        published = [c["user_id"] for c in fake_slack.calls_to("views.publish")]
        assert sorted(published) == ["U01EMMA", "U01LI"]  # one view each, not three for Emma
        assert "D-2 · Globex" in blocks_text(fake_slack.homes["U01EMMA"])  # built when it ran: the latest
        slack.command("U01EMMA", "deal new Initech amount=500")
        work.run_all()
        assert slack.home_opened("U01EMMA", event_id="EvE9").status_code == 200  # her view was built: a new one
        assert work.run_all() == 1
        assert [c["user_id"] for c in fake_slack.calls_to("views.publish")].count("U01EMMA") == 2
        assert "Initech" in blocks_text(fake_slack.homes["U01EMMA"])


def _homes_published(fake_slack, user: str) -> int:  # type: ignore[no-untyped-def]
    return [c["user_id"] for c in fake_slack.calls_to("views.publish")].count(user)


def test_opening_the_home_tab_again_with_nothing_changed_sends_slack_nothing(
        slack, slack_wiring, fake_slack, clock) -> None:  # type: ignore[no-untyped-def]
    # Nothing committed since: nothing is built or sent, whatever the database. Something committed that her
    # view does not show: SQLite serves one web process, so the view it last published is the one she has;
    # with several processes (PostgreSQL) another may have published a different one since, so it is sent.
    only_publisher = slack_wiring.engine.dialect.name == "sqlite"
    slack.command("U01EMMA", "deal new Acme amount=250000")
    slack.home_opened("U01EMMA", event_id="EvH1")
    slack.home_opened("U01EMMA", event_id="EvH2")
    assert _homes_published(fake_slack, "U01EMMA") == 1
    slack.command("U01LI", "deal new Initech amount=1000")  # not on her Home
    slack.home_opened("U01EMMA", event_id="EvH3")
    assert _homes_published(fake_slack, "U01EMMA") == (1 if only_publisher else 2)
    slack.command("U01EMMA", "deal new Globex amount=1000")  # something on her Home changed
    slack.home_opened("U01EMMA", event_id="EvH4")
    assert _homes_published(fake_slack, "U01EMMA") == (2 if only_publisher else 3)
    assert "Globex" in blocks_text(fake_slack.homes["U01EMMA"])
    assert _homes_published(fake_slack, "U01LI") == 0  # another person's view is their own
    clock.advance(minutes=6)  # remembered views go stale: whatever Slack lost comes back
    slack.home_opened("U01EMMA", event_id="EvH5")
    assert _homes_published(fake_slack, "U01EMMA") == (3 if only_publisher else 4)


def test_a_home_view_slack_refused_is_published_at_the_next_opening(slack, fake_slack) -> None:  # type: ignore[no-untyped-def]
    fake_slack.fail("views.publish", "internal_error", status=500)
    slack.home_opened("U01EMMA", event_id="EvF1")
    assert "U01EMMA" not in fake_slack.homes
    slack.home_opened("U01EMMA", event_id="EvF2")
    assert "U01EMMA" in fake_slack.homes


class Recorded(Executor):
    """Runs each task at once, noting in `order` when it was handed over."""

    def __init__(self, order: list[str]) -> None:
        self.order = order

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.order.append("work started")
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_an_events_work_starts_only_once_its_response_has_gone(slack_wiring, fake_slack) -> None:  # type: ignore[no-untyped-def]
    """The Home tab built, a 📌 looked up: started during the dispatch, that work competed for the one core (the
    GIL) with the very response it follows, and held up the next request's ack."""
    order: list[str] = []
    slack_wiring.slack.work_executor = Recorded(order)
    app = create_app(wiring=slack_wiring, prepare_database=False)

    async def marking(scope: Any, receive: Any, send: Any) -> None:
        async def sent(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                order.append("response sent")
        await app(scope, receive, sent)

    with TestClient(marking, base_url="https://testserver") as tc:  # type: ignore[arg-type]
        slack = SlackPlayer(tc, fake_slack)
        slack.command("U01EMMA", "deal new Acme amount=250000")
        order.clear()
        assert slack.home_opened("U01EMMA", event_id="EvAfter1").status_code == 200
        assert order == ["response sent", "work started"]
        assert "Acme" in blocks_text(fake_slack.homes["U01EMMA"])  # and it did its work
        order.clear()
        assert slack.event({"type": "reaction_added", "user": "U01EMMA", "reaction": "pushpin",
                            "item": {"type": "message", "channel": "C0NOSWARM", "ts": "1.000100"}},
                           event_id="EvAfter2").status_code == 200
        assert order == ["response sent", "work started"]


def test_opening_the_home_tab_again_with_nothing_committed_does_not_even_build_it(
        slack, slack_wiring, fake_slack, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Switching to the Home tab and back (Slack sends app_home_opened each time) costs one PRAGMA (SQLite) or
    one snapshot read (PostgreSQL) while nothing was committed since the view was built; a commit from any
    connection — another process's too — or a minute passing builds it again."""
    from sqlalchemy import create_engine, text
    from bot.slack import home
    builds: list[str] = []
    real = home.home_view

    def counted(ctx: Any, actor: Any) -> dict[str, Any]:
        view = real(ctx, actor)  # a first contact raises here once, before the user is made
        builds.append("built")
        return view
    monkeypatch.setattr(home, "home_view", counted)
    sole_publisher = slack_wiring.engine.dialect.name == "sqlite"
    slack.command("U01EMMA", "deal new Acme amount=250000")
    slack.home_opened("U01EMMA", event_id="EvV1")
    slack.home_opened("U01EMMA", event_id="EvV2")
    assert len(builds) == 1 and _homes_published(fake_slack, "U01EMMA") == 1
    slack.home_opened("U01LI", event_id="EvV3")  # another person's view is built for them
    assert len(builds) == 2
    # A commit by another process (the worker, an import, another web process): seen at the next opening.
    other = create_engine(slack_wiring.engine.url.render_as_string(hide_password=False))
    with other.begin() as conn:
        conn.execute(text("UPDATE deals SET name = 'Acme renamed elsewhere' WHERE name = 'Acme'"))
    other.dispose()
    slack.home_opened("U01EMMA", event_id="EvV4")
    assert len(builds) == 3 and "renamed elsewhere" in blocks_text(fake_slack.homes["U01EMMA"])
    published = _homes_published(fake_slack, "U01EMMA")
    clock.advance(seconds=61)  # what only time changes (a task due becoming overdue) shows within a minute
    slack.home_opened("U01EMMA", event_id="EvV5")
    assert len(builds) == 4
    # The same view again: one web process (SQLite) knows Slack shows it; with several (PostgreSQL), another
    # may have published a different one since, so it is published again.
    assert _homes_published(fake_slack, "U01EMMA") == published + (0 if sole_publisher else 1)
