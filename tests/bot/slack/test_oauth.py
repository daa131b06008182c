"""Multi-workspace install: /slack/install → Slack → /slack/oauth_redirect, with the installation kept by
slack_sdk's SQLAlchemy stores in our database; then requests from that workspace are authorized."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text as sql

from bot.app import create_app
from bot.processes import build_messengers
from bot.slack.app import slack_messenger
from bot.wiring import build
from cards.model import Card, Section
from crm_core.models import ChatIdentity, Swarm
from crm_core.outbox import enqueue
from crm_core.services.users import user_by_identity
from handlers.ports import Recipient
from scheduler.delivery import deliver_due
from tests.bot.slack.fake_slack import INSTALLED_TOKEN, INSTALLED_TOKEN_2, TEAM, TEAM_2
from tests.bot.slack.harness import SECRET, InlineExecutor, SlackPlayer, blocks_text


@pytest.fixture
def oauth_wiring(settings, fake_slack, engine, clock, config):
    s = settings.model_copy(update={"slack_client_id": "111.222", "slack_client_secret": "client-secret",
                                    "slack_signing_secret": SECRET, "slack_api_url": fake_slack.api_url,
                                    "slack_allowed_teams": f"{TEAM},{TEAM_2}"})
    w = build(s, clock=clock, config=config, engine=engine)
    w.prepare_database()
    w.slack.listener_executor = InlineExecutor()
    return w


@pytest.fixture
def oauth_client(oauth_wiring) -> Iterator[TestClient]:
    # Bolt's state cookie is Secure: the flow only works over https.
    with TestClient(create_app(wiring=oauth_wiring, prepare_database=False), base_url="https://testserver") as tc:
        yield tc


def _install(client: TestClient, code: str = "good-code") -> None:
    page = client.get("/slack/install")
    assert page.status_code == 200 and "slack-app-oauth-state" in page.headers.get("set-cookie", "")
    state = re.search(r"state=([^&\"']+)", page.text).group(1)
    done = client.get(f"/slack/oauth_redirect?code={code}&state={state}")
    assert done.status_code == 200, done.text


def test_a_workspace_installs_and_its_requests_are_then_authorized(oauth_client, fake_slack, oauth_wiring, engine):
    assert fake_slack.methods() == []  # start-up called nobody
    _install(oauth_client)
    assert fake_slack.calls_to("oauth.v2.access")[0]["code"] == "good-code"
    with engine.connect() as conn:
        assert conn.execute(sql("SELECT bot_token FROM slack_bots")).scalar() == INSTALLED_TOKEN
    player = SlackPlayer(oauth_client, fake_slack)
    player.command("U01EMMA", "help")
    assert "chatcrm help" in blocks_text(player.last_response())
    player.command("U01EMMA", "my")
    assert len([c for c in fake_slack.calls if c.method == "auth.test"
                and c.headers.get("authorization") == f"Bearer {INSTALLED_TOKEN}"]) == 2  # install + first request
    # The deliverer's messenger uses the installed bot token.
    slack_messenger(oauth_wiring).send_now(Recipient(user_id=1, platform="slack", external_id="U01EMMA", locale="en"),
                                           Card(title="hi"))
    assert fake_slack.calls[-1].headers["authorization"] == f"Bearer {INSTALLED_TOKEN}"


def test_a_callback_without_the_state_cookie_is_refused(oauth_client, fake_slack):
    r = oauth_client.get("/slack/oauth_redirect?code=good-code&state=forged")
    assert r.status_code == 400
    assert fake_slack.calls_to("oauth.v2.access") == []


def test_requests_from_a_workspace_that_never_installed_are_not_run(oauth_client, fake_slack):
    player = SlackPlayer(oauth_client, fake_slack)
    r = player.command("U01EMMA", "deal new Acme amount=1")
    assert r.status_code == 200
    assert "installation" in (r.text + str(player.responses())).lower()


def _deliver(w, clock, rounds: int = 8) -> None:
    messengers = build_messengers(w)
    for _ in range(rounds):
        stats = deliver_due(w.session_factory, messengers, clock, w.config)
        clock.advance(seconds=5)
        if stats.claimed == 0:
            break


def _bearer_of(fake_slack, method: str, **match: str) -> list[str]:
    return [c.headers.get("authorization", "") for c in fake_slack.calls
            if c.method == method and all(c.body.get(k) == v for k, v in match.items())]


def test_each_workspace_gets_its_messages_with_its_own_bot_token(oauth_client, fake_slack, oauth_wiring, clock):
    _install(oauth_client, "good-code")  # T0001 → INSTALLED_TOKEN
    _install(oauth_client, "good-code-2")  # T0002 (installed last: the newest installation) → INSTALLED_TOKEN_2
    fake_slack.add_user("U02BOB", "Bob Beta", team=TEAM_2)
    player = SlackPlayer(oauth_client, fake_slack)
    player.post(player.command_body("U01EMMA", "my", team=TEAM), "application/x-www-form-urlencoded")
    player.post(player.command_body("U02BOB", "my", team=TEAM_2), "application/x-www-form-urlencoded")
    w = oauth_wiring
    with w.session_factory.begin() as s:
        teams = {i.external_id: i.team for i in s.query(ChatIdentity).filter(
            ChatIdentity.external_id.in_(["U01EMMA", "U02BOB"]))}
        assert teams == {"U01EMMA": TEAM, "U02BOB": TEAM_2}
        for slack_id in ("U01EMMA", "U02BOB"):
            user = user_by_identity(s, "slack", slack_id)
            card = Card(title=f"Hello {slack_id}", locale="en", kind="info", blocks=(Section("a notification"),))
            enqueue(s, dedupe_key=f"hello:{slack_id}", kind="notice", target_type="user", target_id=user.id,
                    payload=card.to_dict(), now=clock.now())
    _deliver(w, clock)
    assert _bearer_of(fake_slack, "chat.postMessage", channel="U01EMMA") == [f"Bearer {INSTALLED_TOKEN}"]
    assert _bearer_of(fake_slack, "chat.postMessage", channel="U02BOB") == [f"Bearer {INSTALLED_TOKEN_2}"]

    # A swarm channel is created in its owner's workspace; later posts there (even from a messenger that
    # did not create it — another deliverer process) and the archive go out with that workspace's token.
    player.post(player.command_body("U01EMMA", "deal new Globex amount=5000 close=2027-01-31", team=TEAM),
                "application/x-www-form-urlencoded")
    player.post(player.command_body("U01EMMA", "swarm D-1", team=TEAM), "application/x-www-form-urlencoded")
    _deliver(w, clock)
    with w.session_factory() as s:
        channel = s.query(Swarm).one().channel
    assert set(_bearer_of(fake_slack, "conversations.create")) == {f"Bearer {INSTALLED_TOKEN}"}
    slack_messenger(w).post_swarm_now(channel, Card(title="later", locale="en", kind="info"))
    assert _bearer_of(fake_slack, "chat.postMessage", channel=channel)[-1] == f"Bearer {INSTALLED_TOKEN}"
    slack_messenger(w).archive_swarm_now(channel)
    assert _bearer_of(fake_slack, "conversations.archive", channel=channel) == [f"Bearer {INSTALLED_TOKEN}"]
    # A DM to somebody whose workspace is unknown falls back to the newest installation.
    slack_messenger(w).send_now(Recipient(user_id=0, platform="slack", external_id="U01SAM", locale="en"),
                                Card(title="hi"))
    assert _bearer_of(fake_slack, "chat.postMessage", channel="U01SAM") == [f"Bearer {INSTALLED_TOKEN_2}"]
