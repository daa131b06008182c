"""Multi-workspace install: /slack/install → Slack → /slack/oauth_redirect, with the installation kept by
slack_sdk's SQLAlchemy stores in our database; then requests from that workspace are authorized."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text as sql

from bot.app import create_app
from bot.slack.app import slack_messenger
from bot.wiring import build
from cards.model import Card
from handlers.ports import Recipient
from tests.bot.slack.fake_slack import INSTALLED_TOKEN
from tests.bot.slack.harness import SECRET, InlineExecutor, SlackPlayer, blocks_text


@pytest.fixture
def oauth_wiring(settings, fake_slack, engine, clock, config):
    s = settings.model_copy(update={"slack_client_id": "111.222", "slack_client_secret": "client-secret",
                                    "slack_signing_secret": SECRET, "slack_api_url": fake_slack.api_url})
    w = build(s, clock=clock, config=config, engine=engine)
    w.prepare_database()
    w.extras["slack_listener_executor"] = InlineExecutor()
    return w


@pytest.fixture
def oauth_client(oauth_wiring) -> Iterator[TestClient]:
    # Bolt's state cookie is Secure: the flow only works over https.
    with TestClient(create_app(wiring=oauth_wiring, prepare_database=False), base_url="https://testserver") as tc:
        yield tc


def _install(client: TestClient) -> None:
    page = client.get("/slack/install")
    assert page.status_code == 200 and "slack-app-oauth-state" in page.headers.get("set-cookie", "")
    state = re.search(r"state=([^&\"']+)", page.text).group(1)
    done = client.get(f"/slack/oauth_redirect?code=good-code&state={state}")
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
