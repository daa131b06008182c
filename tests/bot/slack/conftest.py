"""Fixtures for the Slack scenarios: a fake Slack Web API in its own thread, the real app from
create_app() configured for Slack, and a player that signs and sends what Slack would."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot.app import create_app
from bot.settings import Settings
from bot.wiring import Wiring, build
from crm_core.clock import FrozenClock
from crm_core.config import Config
from tests.bot.slack.fake_slack import TOKEN, FakeSlack
from tests.bot.slack.harness import SECRET, InlineExecutor, SlackPlayer

SLACK_IDS = {"U01CHEN": "陈静", "U01WANG": "王芳", "U01LI": "李雷", "U01HAN": "韩梅梅", "U01SAM": "Sam Taylor",
             "U01EMMA": "Emma Jones", "U01TOM": "Tom Baker", "U01LAW": "Liu Legal", "U01SUP": "孙客服"}


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    for uid, name in SLACK_IDS.items():
        fake.add_user(uid, name, locale="zh-CN" if not name.isascii() else "en-US")
    yield fake
    fake.stop()
    assert fake.violations == [], "the app sent Slack something it refuses (Block Kit / view limits)"


@pytest.fixture
def slack_settings(settings: Settings, fake_slack: FakeSlack) -> Settings:
    return settings.model_copy(update={"slack_bot_token": TOKEN, "slack_signing_secret": SECRET,
                                       "slack_api_url": fake_slack.api_url})


@pytest.fixture
def slack_wiring(slack_settings: Settings, engine: Engine, clock: FrozenClock, config: Config) -> Wiring:
    w = build(slack_settings, clock=clock, config=config, engine=engine)
    w.prepare_database()
    w.slack.listener_executor = InlineExecutor()
    return w


@pytest.fixture
def slack_api(slack_wiring: Wiring) -> Iterator[TestClient]:
    with TestClient(create_app(wiring=slack_wiring, prepare_database=False), base_url="https://testserver") as tc:
        yield tc


@pytest.fixture
def slack(slack_api: TestClient, fake_slack: FakeSlack) -> SlackPlayer:
    return SlackPlayer(slack_api, fake_slack)
