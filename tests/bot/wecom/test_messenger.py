"""WeComMessenger against the fake WeCom API: what the outbox deliverer gets when it sends to WeCom."""
from __future__ import annotations

import re

import pytest

from bot.wecom.messenger import WeComMessenger, swarm_chat_id
from bot.wecom.runtime import WeComRuntime
from cards.model import Button, Card, Field, Section
from crm_core.clock import FrozenClock
from handlers.ports import DeliveryError, PlatformRef, Recipient, SwarmSpec
from tests.bot.wecom.conftest import AGENT_ID
from tests.bot.wecom.fake_api import FakeWeCom


def to(userid: str) -> Recipient:
    return Recipient(user_id=1, platform="wecom", external_id=userid, locale="zh_CN")


def approval_card(state: str = "pending") -> Card:
    buttons = (Button("批准", "approval.approve", "A-5", "primary"), Button("驳回", "approval.reject", "A-5", "danger"))
    return Card(title="审批 A-5 · 报价 Q-3", locale="zh_CN", kind="approval", ref="A-5",
                subtitle=None if state == "pending" else "已批准 · 王芳",
                fields=(Field("商机", "D-7 · 大单"), Field("折扣", "25%"), Field("申请人", "李雷")),
                buttons=buttons if state == "pending" else ())


@pytest.fixture
def messenger(wecom_rt: WeComRuntime) -> WeComMessenger:
    return wecom_rt.messenger


class TestSend:
    def test_a_card_with_buttons_is_a_button_interaction_card(self, messenger: WeComMessenger,
                                                              fake_wecom: FakeWeCom) -> None:
        ref = messenger.send_now(to("wangfang"), approval_card())
        [card] = fake_wecom.cards_to("wangfang")
        assert card["card_type"] == "button_interaction"
        assert [b["key"] for b in card["button_list"]] == ["approval.approve|A-5", "approval.reject|A-5"]
        assert re.fullmatch(r"[0-9A-Za-z_\-@]{1,128}", card["task_id"])
        assert ref.extra["task_id"] == card["task_id"] and ref.extra["response_code"].startswith("RCsend")
        assert ref.channel == "wangfang" and ref.message_ref

    def test_task_ids_are_unique(self, messenger: WeComMessenger, fake_wecom: FakeWeCom) -> None:
        for _ in range(5):
            messenger.send_now(to("wangfang"), approval_card())
        assert len({c["task_id"] for c in fake_wecom.cards_to("wangfang")}) == 5

    def test_a_card_without_buttons_is_markdown(self, messenger: WeComMessenger, fake_wecom: FakeWeCom) -> None:
        ref = messenger.send_now(to("lilei"), Card(title="提醒", locale="zh_CN", blocks=(Section("线索 L-1 即将超时"),)))
        assert fake_wecom.texts_to("lilei") == ["**提醒**\n线索 L-1 即将超时"]
        assert ref.extra["kind"] == "markdown"

    def test_too_many_buttons_fall_back_to_markdown_with_commands(self, messenger: WeComMessenger,
                                                                  fake_wecom: FakeWeCom) -> None:
        buttons = tuple(Button(f"推进{i}", "deal.advance", f"D-{i}") for i in range(7))
        messenger.send_now(to("lilei"), Card(title="很多按钮", locale="zh_CN", buttons=buttons))
        assert fake_wecom.cards_to("lilei") == []
        assert "`推进 D-6`" in fake_wecom.texts_to("lilei")[0]

    def test_an_unknown_user_is_a_permanent_failure(self, messenger: WeComMessenger) -> None:
        with pytest.raises(DeliveryError) as exc:
            messenger.send_now(to("nobody"), approval_card())
        assert exc.value.permanent

    @pytest.mark.parametrize("code", [45009, 45033])
    def test_rate_limits_ask_to_retry_after_a_minute(self, messenger: WeComMessenger, fake_wecom: FakeWeCom,
                                                     code: int) -> None:
        messenger.send_now(to("lilei"), Card(title="warm up"))
        fake_wecom.rate_limit(1, code)
        with pytest.raises(DeliveryError) as exc:
            messenger.send_now(to("lilei"), Card(title="x"))
        assert exc.value.retry_after == 60 and not exc.value.permanent
        messenger.send_now(to("lilei"), Card(title="x"))  # the limit has passed

    def test_an_expired_token_is_refreshed_inside_one_delivery(self, messenger: WeComMessenger,
                                                               fake_wecom: FakeWeCom) -> None:
        messenger.send_now(to("lilei"), Card(title="one"))
        fake_wecom.expire_token_once()
        messenger.send_now(to("lilei"), Card(title="two"))
        assert len(fake_wecom.texts_to("lilei")) == 2 and len(fake_wecom.called("gettoken")) == 2


class TestUpdate:
    def test_update_uses_the_send_response_code_and_greys_the_buttons(self, messenger: WeComMessenger,
                                                                      fake_wecom: FakeWeCom) -> None:
        ref = messenger.send_now(to("wangfang"), approval_card())
        messenger.update_now(ref, approval_card("approved"))
        [upd] = fake_wecom.updates()
        assert upd["response_code"] == ref.extra["response_code"] and upd["userids"] == ["wangfang"]
        assert upd["agentid"] == AGENT_ID
        assert upd["template_card"]["task_id"] == ref.extra["task_id"]
        assert upd["template_card"]["replace_text"] == "已批准 · 王芳"
        assert upd["template_card"]["main_title"]["desc"] == "已批准 · 王芳"

    def test_a_click_code_is_preferred_and_each_code_is_used_once(self, messenger: WeComMessenger,
                                                                  fake_wecom: FakeWeCom) -> None:
        ref = messenger.send_now(to("wangfang"), approval_card())
        click = fake_wecom.click(ref.extra["task_id"])
        messenger.cards.add_code(ref.extra["task_id"], click, "click")
        messenger.update_now(ref, approval_card("approved"))
        messenger.update_now(ref, approval_card("approved"))
        assert [u["response_code"] for u in fake_wecom.updates()] == [click, ref.extra["response_code"]]
        again = messenger.update_now(ref, approval_card("approved"))  # no code left: the card stays as it is
        assert again == ref and len(fake_wecom.called("message/update_template_card")) == 2

    def test_after_72_hours_the_new_card_is_sent_as_a_new_message(self, messenger: WeComMessenger,
                                                                   fake_wecom: FakeWeCom, clock: FrozenClock) -> None:
        ref = messenger.send_now(to("wangfang"), approval_card())
        clock.advance(hours=73)
        new = messenger.update_now(ref, approval_card("approved"))
        assert fake_wecom.called("message/update_template_card") == []
        assert new.extra["kind"] == "markdown" and "已批准 · 王芳" in fake_wecom.texts_to("wangfang")[-1]

    def test_a_rate_limited_update_keeps_its_code_for_the_retry(self, messenger: WeComMessenger,
                                                                fake_wecom: FakeWeCom) -> None:
        ref = messenger.send_now(to("wangfang"), approval_card())
        fake_wecom.rate_limit(1)
        with pytest.raises(DeliveryError):
            messenger.update_now(ref, approval_card("approved"))
        messenger.update_now(ref, approval_card("approved"))
        assert [u["response_code"] for u in fake_wecom.updates()] == [ref.extra["response_code"]]

    def test_a_markdown_message_cannot_be_edited_so_the_new_card_is_sent(self, messenger: WeComMessenger,
                                                                         fake_wecom: FakeWeCom) -> None:
        ref = messenger.send_now(to("lilei"), Card(title="旧", locale="zh_CN"))
        messenger.update_now(ref, Card(title="新", locale="zh_CN"))
        assert fake_wecom.texts_to("lilei") == ["**旧**", "**新**"]


def spec(owner: str | None = "lilei", members: tuple[str, ...] = ("wangfang", "zhougong", "liulegal")) -> SwarmSpec:
    card = Card(title="协作群 · D-7 大单", locale="zh_CN", fields=(Field("阶段", "方案报价"), Field("金额", "¥300,000.00")))
    return SwarmSpec(record_type="deal", record_id=7, ref="D-7", title="杭州云图 ERP 大单", topic="方案报价 · ¥300,000",
                     owner_external_id=owner, member_external_ids=members, card=card, locale="zh_CN")


class TestSwarm:
    def test_a_group_chat_is_created_with_a_first_message(self, messenger: WeComMessenger,
                                                          fake_wecom: FakeWeCom) -> None:
        ref = messenger.create_swarm_now(spec())
        assert ref.channel == swarm_chat_id(AGENT_ID, "deal", 7) and re.fullmatch(r"[0-9a-zA-Z]{1,32}", ref.channel)
        chat = fake_wecom.chats[ref.channel]
        assert chat["name"] == "杭州云图 ERP 大单" and chat["owner"] == "lilei"
        assert chat["userlist"] == ["lilei", "wangfang", "zhougong", "liulegal"]
        [first] = fake_wecom.posted_to(ref.channel)
        assert "协作群 · D-7 大单" in first and "方案报价" in first

    def test_a_retry_after_a_failed_first_message_finds_the_group(self, messenger: WeComMessenger,
                                                                  fake_wecom: FakeWeCom) -> None:
        messenger.send_now(to("lilei"), Card(title="warm up"))
        calls = len(fake_wecom.calls)
        fake_wecom._limited = []
        original = fake_wecom._appchat_send
        fake_wecom._appchat_send = lambda q, b: {"errcode": -1, "errmsg": "system busy"}  # type: ignore[method-assign]
        with pytest.raises(DeliveryError) as exc:
            messenger.create_swarm_now(spec())
        assert not exc.value.permanent
        fake_wecom._appchat_send = original  # type: ignore[method-assign]
        ref = messenger.create_swarm_now(spec())
        assert len(fake_wecom.chats) == 1 and len(fake_wecom.posted_to(ref.channel)) == 1
        assert [c.answer["errcode"] for c in fake_wecom.calls[calls:] if c.endpoint == "appchat/create"] == [0, 86215]

    def test_a_group_needs_two_members_with_wecom(self, messenger: WeComMessenger) -> None:
        with pytest.raises(DeliveryError) as exc:
            messenger.create_swarm_now(spec(members=("LILEI",)))
        assert exc.value.permanent

    def test_group_posts_are_markdown_and_buttons_become_commands(self, messenger: WeComMessenger,
                                                                  fake_wecom: FakeWeCom) -> None:
        ref = messenger.create_swarm_now(spec())
        messenger.post_swarm_now(ref.channel, approval_card())
        posted = fake_wecom.posted_to(ref.channel)[-1]
        assert "`批准 A-5`" in posted and "`驳回 A-5 <原因>`" in posted
        assert "在与应用的会话中发送" in posted  # group messages do not reach the app
        assert all(c.body.get("msgtype") == "markdown" for c in fake_wecom.called("appchat/send") if c.body)

    def test_archive_posts_a_closing_note(self, messenger: WeComMessenger, fake_wecom: FakeWeCom) -> None:
        ref = messenger.create_swarm_now(spec())
        messenger.archive_swarm_now(ref.channel)
        assert "本记录已关闭" in fake_wecom.posted_to(ref.channel)[-1]
        assert ref.channel in fake_wecom.chats  # WeCom cannot archive: the group stays

    def test_updating_a_group_message_posts_the_new_card(self, messenger: WeComMessenger,
                                                         fake_wecom: FakeWeCom) -> None:
        ref = messenger.create_swarm_now(spec())
        posted = messenger.post_swarm_now(ref.channel, Card(title="阶段：方案报价"))
        messenger.update_now(posted, Card(title="阶段：商务谈判"))
        assert fake_wecom.posted_to(ref.channel)[-1] == "**阶段：商务谈判**"


def test_platform_ref_round_trips_through_json() -> None:
    import json
    ref = PlatformRef(platform="wecom", channel="wangfang", extra={"task_id": "t", "response_code": "c"})
    assert json.loads(json.dumps(ref.extra)) == ref.extra


def test_a_code_wecom_refuses_is_skipped_for_the_next_one(messenger: WeComMessenger, fake_wecom: FakeWeCom) -> None:
    ref = messenger.send_now(to("wangfang"), approval_card())
    messenger.cards.add_code(ref.extra["task_id"], "RC-unknown-to-wecom", "click")  # newest, but WeCom refuses it
    messenger.update_now(ref, approval_card("approved"))
    assert [u["response_code"] for u in fake_wecom.updates()] == [ref.extra["response_code"]]
