"""The API client: every call at WECOM_API_URL, a token shared through the database, one refresh at most."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from wechatpy.exceptions import WeChatClientException

from bot.wecom.client import DEFAULT_TIMEOUT, WeComClient
from bot.wiring import Wiring
from crm_core.clock import FrozenClock
from tests.bot.wecom.conftest import AGENT_ID, CORP_ID, SECRET
from tests.bot.wecom.fake_api import FakeWeCom


def make_client(w: Wiring, fake: FakeWeCom, **kw: object) -> WeComClient:
    return WeComClient(CORP_ID, SECRET, api_url=fake.url, session_factory=w.session_factory, clock=w.clock, **kw)  # type: ignore[arg-type]


def send(client: WeComClient, text: str = "hi") -> dict:  # type: ignore[type-arg]
    return client.message.send(AGENT_ID, "lilei", msg={"msgtype": "markdown", "markdown": {"content": text}})


def test_gettoken_goes_to_the_configured_url_and_the_token_rides_every_call(wecom_wiring: Wiring,
                                                                             fake_wecom: FakeWeCom) -> None:
    client = make_client(wecom_wiring, fake_wecom)
    send(client)
    [get] = fake_wecom.called("gettoken")
    assert get.query == {"corpid": CORP_ID, "corpsecret": SECRET}
    assert fake_wecom.ok_calls("message/send")[0].query["access_token"] == "TOKEN1"
    assert client.timeout == DEFAULT_TIMEOUT


def test_processes_share_one_token_through_the_database(wecom_wiring: Wiring, fake_wecom: FakeWeCom) -> None:
    web, worker = make_client(wecom_wiring, fake_wecom), make_client(wecom_wiring, fake_wecom)
    send(web)
    send(worker)
    send(web)
    assert len(fake_wecom.called("gettoken")) == 1
    assert len(fake_wecom.ok_calls("message/send")) == 3


def test_a_token_is_refreshed_shortly_before_it_expires(wecom_wiring: Wiring, fake_wecom: FakeWeCom,
                                                        clock: FrozenClock) -> None:
    client = make_client(wecom_wiring, fake_wecom)
    send(client)
    clock.advance(seconds=7200 - 301)
    send(client)
    assert len(fake_wecom.called("gettoken")) == 1
    clock.advance(seconds=2)
    send(client)
    assert len(fake_wecom.called("gettoken")) == 2


def test_42001_refreshes_the_token_once_and_retries(wecom_wiring: Wiring, fake_wecom: FakeWeCom) -> None:
    client = make_client(wecom_wiring, fake_wecom)
    send(client)
    fake_wecom.expire_token_once()
    assert send(client)["errcode"] == 0
    assert len(fake_wecom.called("gettoken")) == 2
    assert [c.answer["errcode"] for c in fake_wecom.called("message/send")] == [0, 42001, 0]


def test_a_second_token_error_is_not_retried_again(wecom_wiring: Wiring, fake_wecom: FakeWeCom) -> None:
    client = make_client(wecom_wiring, fake_wecom)
    send(client)
    fake_wecom.expire_token_once(times=5)
    with pytest.raises(WeChatClientException) as exc:
        send(client)
    assert exc.value.errcode == 42001
    assert len(fake_wecom.called("gettoken")) == 2  # the first one, and exactly one refresh
    assert len(fake_wecom.called("message/send")) == 3


def test_a_wrong_secret_fails_without_looping(wecom_wiring: Wiring, fake_wecom: FakeWeCom) -> None:
    client = WeComClient(CORP_ID, "wrong", api_url=fake_wecom.url, session_factory=wecom_wiring.session_factory,
                         clock=wecom_wiring.clock)
    with pytest.raises(WeChatClientException) as exc:
        send(client)
    assert exc.value.errcode == 40001 and len(fake_wecom.calls) == 1


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def accept() -> None:
        sock.settimeout(0.05)
        while not stop.is_set():
            try:
                conns.append(sock.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/cgi-bin/"
    stop.set()
    t.join(2)
    for c in conns:
        c.close()
    sock.close()


def test_a_server_that_never_answers_times_out(wecom_wiring: Wiring, silent_server: str) -> None:
    import requests
    client = WeComClient(CORP_ID, SECRET, api_url=silent_server, session_factory=wecom_wiring.session_factory,
                         clock=wecom_wiring.clock, timeout=(0.2, 0.2))
    with pytest.raises(requests.Timeout):
        send(client)
