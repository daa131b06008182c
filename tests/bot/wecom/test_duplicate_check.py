"""WeCom's own guard against a second copy: every message/send asks WeCom to drop a repeat of the same
message to the same person within `duplicate_check_interval` (reference/wecom.md, message/send), and the
client gives up on a hung call after WECOM_TIMEOUT seconds instead of waiting forever."""
from __future__ import annotations

from bot.settings import Settings
from bot.wecom.runtime import WeComRuntime, wecom_runtime
from bot.wiring import Wiring, build
from cards.model import Button, Card, Section
from handlers.ports import Recipient
from tests.bot.wecom.fake_api import FakeWeCom


def to(userid: str) -> Recipient:
    return Recipient(user_id=1, platform="wecom", external_id=userid, locale="zh_CN")


def test_markdown_and_card_sends_ask_wecom_to_drop_repeats(wecom_rt: WeComRuntime, fake_wecom: FakeWeCom) -> None:
    wecom_rt.messenger.send_now(to("lilei"), Card(title="提醒", locale="zh_CN", blocks=(Section("线索 L-1 即将超时"),)))
    wecom_rt.messenger.send_now(to("lilei"), Card(title="审批 A-5", locale="zh_CN", kind="approval", ref="A-5",
                                                  buttons=(Button("批准", "approval.approve", "A-5", "primary"),)))
    sent = fake_wecom.sent_to("lilei")
    assert [b["msgtype"] for b in sent] == ["markdown", "template_card"]
    for body in sent:
        assert body["enable_duplicate_check"] == 1
        assert body["duplicate_check_interval"] == 1800


def test_the_interval_and_timeout_come_from_the_settings(wecom_settings: Settings, wecom_wiring: Wiring,
                                                         fake_wecom: FakeWeCom) -> None:
    settings = wecom_settings.model_copy(update={"wecom_duplicate_check_interval": 600, "wecom_timeout": 4.0})
    w = build(settings, clock=wecom_wiring.clock, config=wecom_wiring.config, engine=wecom_wiring.engine)
    rt = wecom_runtime(w)
    assert rt is not None
    assert rt.client.timeout == (3.05, 4.0)
    rt.messenger.send_now(to("wangfang"), Card(title="提醒", locale="zh_CN", blocks=(Section("跟进"),)))
    [body] = fake_wecom.sent_to("wangfang")
    assert body["enable_duplicate_check"] == 1 and body["duplicate_check_interval"] == 600


def test_an_interval_beyond_four_hours_is_capped(wecom_settings: Settings, wecom_wiring: Wiring,
                                                 fake_wecom: FakeWeCom) -> None:
    settings = wecom_settings.model_copy(update={"wecom_duplicate_check_interval": 99999})
    w = build(settings, clock=wecom_wiring.clock, config=wecom_wiring.config, engine=wecom_wiring.engine)
    rt = wecom_runtime(w)
    assert rt is not None
    rt.messenger.send_now(to("wangfang"), Card(title="提醒", locale="zh_CN", blocks=(Section("跟进"),)))
    assert fake_wecom.sent_to("wangfang")[0]["duplicate_check_interval"] == 4 * 3600
