"""The reliability suite reuses the Slack and WeCom scenario fixtures (the real app from create_app(), the
fake platform servers, the signing players); only the fake Slack is swapped for one that can fail on
purpose (chaos.ChaosSlack) — it behaves exactly like the shared fake until a test sets its `chaos` hook."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from crm_core.clock import FrozenClock
from tests.bot.slack.conftest import SLACK_IDS, slack, slack_api, slack_settings, slack_wiring  # noqa: F401
from tests.bot.wecom.conftest import (fake_wecom, side, wecom, wecom_client, wecom_rt, wecom_settings,  # noqa: F401
                                      wecom_wiring)
from tests.reliability.chaos import ChaosSlack


@pytest.fixture
def fake_slack(clock: FrozenClock) -> Iterator[ChaosSlack]:
    fake = ChaosSlack().start()
    fake.clock = clock
    for uid, name in SLACK_IDS.items():
        fake.add_user(uid, name, locale="zh-CN" if not name.isascii() else "en-US")
    yield fake
    fake.stop()
    assert fake.violations == [], "the app sent Slack something it refuses (Block Kit / view limits)"
