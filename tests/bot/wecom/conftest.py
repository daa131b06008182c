"""WeCom fixtures: a fake WeCom API on 127.0.0.1, an app wired to it, and WeCom's side of the callbacks."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot.app import create_app
from bot.settings import Settings
from bot.wecom.runtime import WeComRuntime, wecom_runtime
from bot.wiring import Wiring, build
from crm_core.clock import FrozenClock
from crm_core.config import Config
from tests.bot.wecom.fake_api import FakeWeCom
from tests.bot.wecom.wecom_side import WeComServerSide, card_event_xml, text_xml

# Tencent's WXBizMsgCrypt sample values (callback/Sample.py), used as this app's credentials.
CORP_ID = "ww1436e0e65a779aee"
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
SECRET = "app-secret-for-tests"
AGENT_ID = 1000002
# WeCom members (userid -> name). All but xiaoming are in the sample configuration.
MEMBERS = {"chenjing": "陈静", "wangfang": "王芳", "lilei": "李雷", "hanmeimei": "韩梅梅", "zhougong": "周工",
           "liulegal": "Liu Legal", "sunkefu": "孙客服", "xiaoming": "小明"}


@pytest.fixture
def fake_wecom() -> Iterator[FakeWeCom]:
    fake = FakeWeCom(CORP_ID, SECRET, AGENT_ID, MEMBERS).start()
    yield fake
    fake.stop()


@pytest.fixture
def wecom_settings(database_url: str, fake_wecom: FakeWeCom) -> Settings:
    return Settings(database_url=database_url, chatcrm_api_key="test-key", chatcrm_embedded_workers=False,
                    wecom_corp_id=CORP_ID, wecom_agent_id=str(AGENT_ID), wecom_secret=SECRET, wecom_token=TOKEN,
                    wecom_aes_key=AES_KEY, wecom_api_url=fake_wecom.url, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def wecom_wiring(wecom_settings: Settings, engine: Engine, clock: FrozenClock, config: Config) -> Wiring:
    w = build(wecom_settings, clock=clock, config=config, engine=engine)
    w.prepare_database()
    return w


@pytest.fixture
def wecom_rt(wecom_wiring: Wiring) -> WeComRuntime:
    rt = wecom_runtime(wecom_wiring)
    assert rt is not None
    return rt


@pytest.fixture
def side() -> WeComServerSide:
    return WeComServerSide(TOKEN, AES_KEY, CORP_ID)


class WeComHarness:
    """Plays WeCom towards the app: encrypted callbacks in, the fake API's records out."""

    def __init__(self, client: TestClient, side: WeComServerSide, fake: FakeWeCom, clock: FrozenClock) -> None:
        self.client, self.side, self.fake, self.clock = client, side, fake, clock
        self._msg_ids = itertools.count(7300000000000000001)
        self._times = itertools.count(1700000000)

    def post(self, xml: str, *, timestamp: int | None = None, **kw: Any) -> httpx.Response:
        """Signed with the app clock's time, as WeCom signs with the time it sends (the app refuses a
        timestamp more than 5 minutes off)."""
        ts = int(self.clock.now().timestamp()) if timestamp is None else timestamp
        query, body = self.side.callback(xml, timestamp=str(ts), **kw)
        return self.client.post(f"/wecom/callback?{query}", content=body)

    def say(self, userid: str, text: str, *, msg_id: str | None = None) -> httpx.Response:
        mid = msg_id or str(next(self._msg_ids))
        return self.post(text_xml(CORP_ID, userid, text, mid, create_time=next(self._times)))

    def click(self, userid: str, task_id: str, key: str, code: str | None = None) -> httpx.Response:
        code = code or self.fake.click(task_id)
        return self.post(card_event_xml(CORP_ID, userid, key, task_id, code, create_time=next(self._times)))

    def last_card(self, userid: str) -> dict[str, Any]:
        cards = self.fake.cards_to(userid)
        assert cards, f"no template card reached {userid}; texts: {self.fake.texts_to(userid)}"
        return cards[-1]

    def last_text(self, userid: str) -> str:
        texts = self.fake.texts_to(userid)
        assert texts, f"no markdown reached {userid}"
        return texts[-1]


def key_of(card: dict[str, Any], action: str) -> str:
    keys = [b["key"] for b in card["button_list"] if b["key"].startswith(action + "|")]
    assert keys, f"no {action} button in {card['button_list']}"
    return keys[0]


@pytest.fixture
def wecom_client(wecom_wiring: Wiring) -> Iterator[TestClient]:
    with TestClient(create_app(wiring=wecom_wiring, prepare_database=False)) as c:
        yield c


@pytest.fixture
def wecom(wecom_client: TestClient, side: WeComServerSide, fake_wecom: FakeWeCom, clock: FrozenClock) -> WeComHarness:
    return WeComHarness(wecom_client, side, fake_wecom, clock)
