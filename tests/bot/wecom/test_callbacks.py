"""/wecom/callback end to end through create_app(): encrypted callbacks in, the fake WeCom API records out."""
from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.wiring import Wiring
from crm_core.models import ChatIdentity, Deal, Lead, OutboxMessage, ProcessedInvocation, User, WeComInbound
from tests.bot.wecom.conftest import CORP_ID, WeComHarness, key_of
from tests.bot.wecom.fake_api import FakeWeCom
from tests.bot.wecom.wecom_side import WeComServerSide, enter_agent_xml, text_xml


def count(w: Wiring, model: type) -> int:
    with w.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def nothing_changed(w: Wiring) -> bool:
    return all(count(w, m) == 0 for m in (Lead, Deal, WeComInbound, ProcessedInvocation, OutboxMessage))


class TestUrlVerification:
    def test_answers_the_bare_decrypted_echo(self, wecom: WeComHarness, side: WeComServerSide) -> None:
        r = wecom.client.get(f"/wecom/callback?{side.verify_query('1288432023552776189')}")
        assert r.status_code == 200
        assert r.text == "1288432023552776189"  # no quotes, no newline
        assert r.headers["content-type"].startswith("text/plain")

    def test_echo_with_plus_and_slash_survives_url_encoding(self, wecom: WeComHarness, side: WeComServerSide) -> None:
        for i in range(20):  # enough random ciphertexts to contain '+' and '/'
            echo = f"{i}-echo-{'x' * i}"
            assert wecom.client.get(f"/wecom/callback?{side.verify_query(echo)}").text == echo

    def test_a_bad_signature_is_refused_and_logged(self, wecom: WeComHarness, side: WeComServerSide,
                                                   caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.WARNING, "chatcrm.wecom"):
            r = wecom.client.get(f"/wecom/callback?{side.verify_query('123', bad_signature=True)}")
        assert r.status_code == 401 and r.text == ""
        assert "bad msg_signature" in caplog.text

    def test_missing_parameters_are_a_bad_request(self, wecom: WeComHarness) -> None:
        assert wecom.client.get("/wecom/callback?msg_signature=1&timestamp=2").status_code == 400


class TestRefusedCallbacks:
    def test_bad_signature_401_nothing_changed_logged(self, wecom: WeComHarness, wecom_wiring: Wiring,
                                                      caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.WARNING, "chatcrm.wecom"):
            r = wecom.post(text_xml(CORP_ID, "lilei", "线索 新建 张三", "1"), bad_signature=True)
        assert r.status_code == 401 and r.content == b""
        assert nothing_changed(wecom_wiring) and wecom.fake.called("message/send") == []
        assert "bad msg_signature" in caplog.text

    def test_wrong_corp_id_403_nothing_changed_logged(self, wecom: WeComHarness, wecom_wiring: Wiring,
                                                      caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.WARNING, "chatcrm.wecom"):
            r = wecom.post(text_xml("wwanothercorp", "lilei", "线索 新建 张三", "2"), receiveid="wwanothercorp")
        assert r.status_code == 403
        assert nothing_changed(wecom_wiring) and wecom.fake.calls == []
        assert "another corp id" in caplog.text

    @pytest.mark.parametrize("inner", ["not xml at all", "<xml><MsgType>text</MsgType>", "<xml><Content>x</Content></xml>"])
    def test_malformed_xml_400_nothing_changed_logged(self, wecom: WeComHarness, wecom_wiring: Wiring, inner: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.WARNING, "chatcrm.wecom"):
            r = wecom.post(inner)
        assert r.status_code == 400
        assert nothing_changed(wecom_wiring) and wecom.fake.calls == []
        assert "malformed XML" in caplog.text

    def test_a_malformed_envelope_is_400(self, wecom: WeComHarness, wecom_wiring: Wiring) -> None:
        r = wecom.client.post("/wecom/callback?msg_signature=a&timestamp=1&nonce=2", content=b"<xml><Encrypt>")
        assert r.status_code == 400 and nothing_changed(wecom_wiring)


class TestTextCommands:
    def test_a_chinese_command_is_acknowledged_empty_and_answered_as_markdown(self, wecom: WeComHarness,
                                                                               wecom_wiring: Wiring) -> None:
        r = wecom.say("lilei", "线索 新建 张三 company=杭州云图科技有限公司 phone=13912345678")
        assert r.status_code == 200 and r.content == b""
        card = wecom.last_card("lilei")  # the lead card has buttons: a template card
        assert card["main_title"]["title"].startswith("线索 L-1")
        assert key_of(card, "lead.convert") == "lead.convert|L-1"
        assert count(wecom_wiring, Lead) == 1

    def test_a_reply_without_buttons_is_markdown_in_chinese(self, wecom: WeComHarness) -> None:
        wecom.say("lilei", "帮助")
        wecom.say("lilei", "商机 D-99")
        assert "找不到 D-99" in wecom.last_text("lilei")

    def test_a_replayed_msgid_has_no_second_effect(self, wecom: WeComHarness, wecom_wiring: Wiring,
                                                   caplog: pytest.LogCaptureFixture) -> None:
        wecom.say("lilei", "线索 新建 王五", msg_id="7300000000000000042")
        sent = len(wecom.fake.called("message/send"))
        with caplog.at_level(logging.INFO, "chatcrm.wecom"):
            r = wecom.say("lilei", "线索 新建 王五", msg_id="7300000000000000042")
        assert r.status_code == 200 and r.content == b""
        assert count(wecom_wiring, Lead) == 1
        assert len(wecom.fake.called("message/send")) == sent  # no second reply either
        assert "already handled" in caplog.text

    def test_an_unknown_member_becomes_a_rep_named_from_user_get(self, wecom: WeComHarness,
                                                                 wecom_wiring: Wiring) -> None:
        wecom.say("xiaoming", "我的")
        with wecom_wiring.session_factory() as s:
            user = s.scalar(select(User).join(ChatIdentity).where(ChatIdentity.external_id == "xiaoming"))
            assert user is not None and (user.name, user.role) == ("小明", "rep")
        assert [c.query["userid"] for c in wecom.fake.called("user/get")] == ["xiaoming"]
        assert wecom.fake.sent_to("xiaoming")

    def test_userids_match_case_insensitively(self, wecom: WeComHarness, wecom_wiring: Wiring) -> None:
        wecom.say("LiLei", "我的")
        assert wecom.fake.called("user/get") == []
        with wecom_wiring.session_factory() as s:
            assert s.scalar(select(func.count(User.id)).where(User.key.like("wecom-%"))) == 0

    def test_a_slack_style_slash_prefix_is_accepted(self, wecom: WeComHarness) -> None:
        wecom.say("lilei", "/crm 商机 D-98")
        wecom.say("lilei", "/deal D-97")
        texts = wecom.fake.texts_to("lilei")
        assert "找不到 D-98" in texts[-2] and "找不到 D-97" in texts[-1]

    def test_an_english_user_gets_english(self, wecom: WeComHarness, wecom_wiring: Wiring) -> None:
        with wecom_wiring.session_factory.begin() as s:
            s.scalar(select(User).where(User.key == "li")).locale = "en"
        wecom.say("lilei", "deal D-99")
        assert "D-99 was not found" in wecom.last_text("lilei")

    def test_enter_agent_only_makes_sure_the_user_exists(self, wecom: WeComHarness, wecom_wiring: Wiring) -> None:
        r = wecom.post(enter_agent_xml(CORP_ID, "xiaoming"))
        assert r.status_code == 200 and r.content == b""
        assert wecom.fake.called("message/send") == []
        with wecom_wiring.session_factory() as s:
            assert s.scalar(select(User).where(User.name == "小明")) is not None

    def test_a_reply_that_cannot_be_sent_now_goes_to_the_outbox(self, wecom: WeComHarness, wecom_wiring: Wiring,
                                                                fake_wecom: FakeWeCom) -> None:
        wecom.say("lilei", "我的")  # fetch a token first
        fake_wecom.rate_limit(1, 45009)
        wecom.say("lilei", "商机 D-99", msg_id="7300000000000000777")
        with wecom_wiring.session_factory() as s:
            row = s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
            assert row is not None and row.target_type == "user" and row.status == "pending"
            assert row.dedupe_key == "wecom-reply:wecom:msg:7300000000000000777:0"
            assert "D-99" in str(row.payload)


class TestCardClicks:
    def test_a_click_runs_the_action_with_the_same_checks(self, wecom: WeComHarness, wecom_wiring: Wiring) -> None:
        wecom.say("lilei", "线索 新建 赵六 company=深圳某某科技有限公司")
        card = wecom.last_card("lilei")
        r = wecom.click("lilei", card["task_id"], key_of(card, "lead.convert"))
        assert r.status_code == 200 and r.content == b""
        assert count(wecom_wiring, Deal) == 1
        # han is not the owner: the same click from han changes nothing and han is told why.
        wecom.say("lilei", "线索 新建 孙七 company=广州某某有限公司")
        card2 = wecom.last_card("lilei")
        wecom.click("hanmeimei", card2["task_id"], key_of(card2, "lead.convert"))
        assert count(wecom_wiring, Deal) == 1
        assert wecom.fake.sent_to("hanmeimei")

    def test_a_replayed_click_has_no_second_effect(self, wecom: WeComHarness, wecom_wiring: Wiring) -> None:
        wecom.say("lilei", "线索 新建 周八 company=成都某某有限公司")
        card = wecom.last_card("lilei")
        code = wecom.fake.click(card["task_id"])
        wecom.click("lilei", card["task_id"], key_of(card, "lead.convert"), code)
        sent = len(wecom.fake.calls)
        r = wecom.click("lilei", card["task_id"], key_of(card, "lead.convert"), code)
        assert r.status_code == 200 and count(wecom_wiring, Deal) == 1
        assert len(wecom.fake.calls) == sent

    def test_a_tampered_key_changes_nothing(self, wecom: WeComHarness, wecom_wiring: Wiring) -> None:
        wecom.say("lilei", "线索 新建 吴九 company=武汉某某有限公司")
        card = wecom.last_card("lilei")
        wecom.click("lilei", card["task_id"], "lead.convert|L-999")
        wecom.click("lilei", card["task_id"], "garbage-without-separator")
        assert count(wecom_wiring, Deal) == 0
        assert "L-999" in wecom.last_text("lilei")


def test_routes_answer_404_when_wecom_is_not_configured(wiring: Wiring) -> None:
    with TestClient(create_app(wiring=wiring, prepare_database=False)) as c:
        assert c.get("/wecom/callback?msg_signature=a&timestamp=1&nonce=2&echostr=x").status_code == 404
        assert c.post("/wecom/callback", content=b"<xml/>").status_code == 404


def test_a_picture_gets_a_hint_that_only_text_works(wecom: WeComHarness) -> None:
    xml = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[lilei]]></FromUserName>"
           "<CreateTime>1700000300</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/y]]>"
           "</PicUrl><MediaId><![CDATA[m]]></MediaId><MsgId>7300000000000000999</MsgId><AgentID>1000002</AgentID></xml>")
    assert wecom.post(xml).status_code == 200
    assert "只支持文字命令" in wecom.last_text("lilei")


def test_the_app_refuses_to_start_without_an_agent_id(wecom_settings, engine, clock, config) -> None:  # type: ignore[no-untyped-def]
    from bot.wiring import build
    w = build(wecom_settings.model_copy(update={"wecom_agent_id": None}), clock=clock, config=config, engine=engine)
    with pytest.raises(ValueError, match="WECOM_AGENT_ID"):
        create_app(wiring=w, prepare_database=False)
