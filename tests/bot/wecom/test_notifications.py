"""Nudges and digests from the scheduler reach people on WeCom through the deliverer: a WeCom-only user
on WeCom, a user with Slack and WeCom once, on their primary platform."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from bot.processes import build_messengers
from bot.settings import Settings
from bot.wiring import Wiring, build
from cards.model import Card, Section
from crm_core.clock import FrozenClock
from crm_core.config import Config
from crm_core.models import User
from crm_core.outbox import enqueue
from scheduler.delivery import deliver_due
from tests.bot.slack.fake_slack import TOKEN as SLACK_TOKEN
from tests.bot.slack.fake_slack import FakeSlack
from tests.bot.wecom.fake_api import FakeWeCom


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def both(wecom_settings: Settings, fake_slack: FakeSlack, engine: Engine, clock: FrozenClock,
         config: Config) -> Wiring:
    s = wecom_settings.model_copy(update={"slack_bot_token": SLACK_TOKEN, "slack_signing_secret": "x",
                                          "slack_api_url": fake_slack.api_url})
    w = build(s, clock=clock, config=config, engine=engine)
    w.prepare_database()
    return w


def nudge(w: Wiring, key: str, text: str, kind: str = "nudge.lead_sla") -> None:
    with w.session_factory.begin() as s:
        user = s.scalar(select(User).where(User.key == key))
        assert user is not None
        card = Card(title="提醒", locale="zh_CN", blocks=(Section(text),), kind="nudge")
        enqueue(s, dedupe_key=f"test:{key}:{text}", kind=kind, target_type="user", target_id=user.id,
                payload=card.to_dict(), now=w.clock.now())


def test_the_deliverer_has_a_wecom_messenger_when_wecom_is_configured(wecom_wiring: Wiring) -> None:
    messengers = build_messengers(wecom_wiring)
    assert set(messengers) == {"console", "wecom"} and messengers["wecom"].platform == "wecom"


def test_a_wecom_only_user_gets_nudges_and_digests_on_wecom(both: Wiring, fake_wecom: FakeWeCom,
                                                            fake_slack: FakeSlack) -> None:
    nudge(both, "zhou", "线索 L-3 即将超时")
    nudge(both, "zhou", "今日待办：3 项", kind="digest.daily")
    deliver_due(both.session_factory, build_messengers(both), both.clock, both.config)
    texts = fake_wecom.texts_to("zhougong")
    assert len(texts) == 1 and "线索 L-3 即将超时" in texts[0] and "今日待办" in texts[0]  # merged into one message
    assert fake_slack.calls == [] or all(c.method != "chat.postMessage" for c in fake_slack.calls)


@pytest.mark.parametrize("primary,on_wecom", [("wecom", 1), ("slack", 0), (None, 0)])
def test_a_user_on_both_platforms_gets_each_message_once_on_the_primary(both: Wiring, fake_wecom: FakeWeCom,
                                                                        fake_slack: FakeSlack, clock: FrozenClock,
                                                                        primary: str | None, on_wecom: int) -> None:
    with both.session_factory.begin() as s:
        s.scalar(select(User).where(User.key == "li")).primary_platform = primary
    nudge(both, "li", "商机 D-2 已 14 天没有进展")
    messengers = build_messengers(both)
    for _ in range(2):  # a second pass sends nothing more
        deliver_due(both.session_factory, messengers, clock, both.config)
        clock.advance(seconds=5)
    assert len(fake_wecom.texts_to("lilei")) == on_wecom
    slack_posts = [c for c in fake_slack.calls if c.method == "chat.postMessage"]
    assert len(slack_posts) == 1 - on_wecom
