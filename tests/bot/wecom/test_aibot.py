"""`@bot 记录 <text>` in a WeCom group logs the text to the group's deal — through the AI bot (智能机器人)
callback, encrypted and shaped as WeCom sends it (developer.work.weixin.qq.com/document/path/100719, 101033):
a JSON envelope `{"encrypt"}`, the WXBizMsgCrypt cipher with an EMPTY receiveid, the @-mention left in
text.content. WeCom's side is tests/bot/wecom/wecom_side.py (cryptography + stdlib); the app decrypts and
encrypts with wechatpy. The answer is a passive reply: an encrypted, signed, finished stream."""
from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.app import create_app
from bot.console import ConsoleSession
from bot.settings import Settings
from bot.wecom.aibot import strip_mentions
from bot.wiring import Wiring, build
from crm_core.clock import FrozenClock
from crm_core.config import Config
from crm_core.models import Activity, AuditEntry, GroupLink, Swarm
from crm_core.services.users import user_by_key
from handlers.conversation import GroupLog, group_link_request, group_log_request
from tests.bot.wecom.wecom_side import WeComServerSide

TOKEN = "aibotTokenForTests"
AES_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # base64 of bytes 0..31, "=" dropped: 43 characters
GROUP = "wrkSFfCgAAtJ1yKQ6Ejn4IzK9gjhPIzg"  # the deal's group chat, as the AI bot names it
OTHER_GROUP = "wrkSFfCgAAxOtherGroupChat0000001"
MENTION = "@CRM助手"


@pytest.fixture
def aibot_wiring(database_url: str, engine: Engine, clock: FrozenClock, config: Config) -> Wiring:
    """The AI bot alone: no self-built app variables (they are independent)."""
    settings = Settings(database_url=database_url, chatcrm_embedded_workers=False, wecom_aibot_token=TOKEN,
                        wecom_aibot_aes_key=AES_KEY, _env_file=None)  # type: ignore[call-arg]
    w = build(settings, clock=clock, config=config, engine=engine)
    w.prepare_database()
    return w


class AIBot:
    """Plays WeCom towards /wecom/aibot, and opens its passive replies."""

    def __init__(self, client: TestClient, clock: FrozenClock) -> None:
        self.client, self.clock = client, clock
        self.side = WeComServerSide(TOKEN, AES_KEY, "")  # receiveid "" (document 101033)
        self._ids = itertools.count(1)

    def message(self, userid: str, content: str, *, chatid: str | None = GROUP, msgid: str | None = None,
                msgtype: str = "text") -> dict[str, Any]:
        """A text message as document 100719 shows it (a group's carries chatid and chattype "group")."""
        msg: dict[str, Any] = {"msgid": msgid or f"CAIQ16HMjQYY/NGagIOAgAMgq4KM0A{next(self._ids)}=",
                               "aibotid": "aib4K2xQ9vYtestbot", "chattype": "group" if chatid else "single",
                               "from": {"userid": userid},
                               "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC1",
                               "msgtype": msgtype}
        if chatid:
            msg["chatid"] = chatid
        if msgtype == "text":
            msg["text"] = {"content": content}
        return msg

    def post(self, msg: dict[str, Any], *, timestamp: int | None = None, bad_signature: bool = False,
             receiveid: str = "") -> httpx.Response:
        ts = str(int(self.clock.now().timestamp()) if timestamp is None else timestamp)
        nonce = "1372623149"
        encrypt = self.side.encrypt(json.dumps(msg, ensure_ascii=False), receiveid=receiveid or None)
        if receiveid:
            encrypt = WeComServerSide(TOKEN, AES_KEY, receiveid).encrypt(json.dumps(msg, ensure_ascii=False))
        sig = "0" * 40 if bad_signature else self.side.sign(ts, nonce, encrypt)
        query = urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce})
        return self.client.post(f"/wecom/aibot?{query}", content=json.dumps({"encrypt": encrypt}).encode())

    def say(self, userid: str, content: str, **kw: Any) -> str:
        """Sends the message; the reply's text ('' for an empty 200)."""
        return self.reply_of(self.post(self.message(userid, content, **kw)))

    def reply_of(self, resp: httpx.Response) -> str:
        assert resp.status_code == 200, resp.text
        if not resp.content:
            return ""
        env = resp.json()
        assert set(env) == {"encrypt", "msgsignature", "timestamp", "nonce"}
        assert env["msgsignature"] == self.side.sign(env["timestamp"], env["nonce"], env["encrypt"])
        plain, receiveid = self.side.decrypt(env["encrypt"])
        assert receiveid == ""
        body = json.loads(plain)
        assert body["msgtype"] == "stream" and body["stream"]["finish"] is True and body["stream"]["id"]
        return str(body["stream"]["content"])


@pytest.fixture
def aibot(aibot_wiring: Wiring, clock: FrozenClock) -> Iterator[AIBot]:
    with TestClient(create_app(wiring=aibot_wiring, prepare_database=False)) as client:
        yield AIBot(client, clock)


@pytest.fixture
def deal_group(aibot_wiring: Wiring) -> int:
    """Li's deal D-1 and its WeCom group chat (the Swarm row the deliverer records)."""
    li = ConsoleSession(aibot_wiring.runner, "li")
    assert "D-1" in li.exec("deal new Globex amount=300000")
    with aibot_wiring.session_factory.begin() as s:
        s.add(Swarm(record_type="deal", record_id=1, platform="wecom", channel=GROUP, name="Globex",
                    created_at=datetime(2026, 3, 2, tzinfo=timezone.utc)))
    return 1


def activities(w: Wiring) -> list[Activity]:
    with w.session_factory() as s:
        return list(s.scalars(select(Activity).order_by(Activity.id)))


class TestLoggingFromTheGroup:
    def test_the_same_message_delivered_twice_is_logged_once(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        msg = aibot.message("lilei", f"{MENTION} 记录 客户同意：周五前下PO")
        first = aibot.reply_of(aibot.post(msg))
        again = aibot.reply_of(aibot.post(msg))  # WeCom's retry of the same msgid
        assert "已记录到 D-1" in first and "客户同意：周五前下PO" in first and again == first
        [activity] = activities(aibot_wiring)
        assert activity.deal_id == 1 and activity.kind == "note"
        assert activity.text == "📌 李雷: 客户同意：周五前下PO"  # the author, the text; no @-mention, no command
        with aibot_wiring.session_factory() as s:
            assert activity.actor_id == user_by_key(s, "li").id
            [audit] = s.scalars(select(AuditEntry).where(AuditEntry.action == "activity.pin")).all()
            assert audit.data == {"channel": GROUP, "ts": msg["msgid"]}  # the message id, kept with the record

    def test_a_second_person_logs_another_activity(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        assert "已记录到 D-1" in aibot.say("lilei", f"{MENTION} 记录 客户同意下周签约")
        assert "D-1" in aibot.say("wangfang", f"{MENTION}\u2005log legal review booked for Tuesday")
        texts = [a.text for a in activities(aibot_wiring)]
        assert texts == ["📌 李雷: 客户同意下周签约", "📌 王芳: legal review booked for Tuesday"]
        with aibot_wiring.session_factory() as s:
            assert [a.actor_id for a in activities(aibot_wiring)] == [user_by_key(s, "li").id,
                                                                     user_by_key(s, "wang").id]

    def test_the_activity_shows_on_the_deal(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        aibot.say("lilei", f"{MENTION} 记录 PO by Friday")
        card = ConsoleSession(aibot_wiring.runner, "li").exec("deal D-1")
        assert "📌 李雷: PO by Friday" in card

    def test_a_named_deal_is_logged_from_any_group(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        reply = aibot.say("lilei", f"{MENTION} 记录 d-1 报价已发给采购", chatid=OTHER_GROUP)
        assert "已记录到 D-1" in reply
        assert [a.text for a in activities(aibot_wiring)] == ["📌 李雷: 报价已发给采购"]


class TestWhatIsRefused:
    def test_a_group_that_is_no_deals_says_how_to_log(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        reply = aibot.say("lilei", f"{MENTION} 记录 客户同意", chatid=OTHER_GROUP)
        assert "本群不是商机协作群" in reply and "记录 D-12 <内容>" in reply
        assert activities(aibot_wiring) == []

    def test_somebody_unknown_is_told_and_nothing_is_stored(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        reply = aibot.say("xiaoming", f"{MENTION} 记录 客户同意")
        assert "未记录" in reply and "xiaoming" in reply
        assert activities(aibot_wiring) == []

    def test_somebody_who_may_not_work_on_the_deal_is_refused(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        reply = aibot.say("hanmeimei", f"{MENTION} 记录 我来跟进")  # another rep, in the group
        assert "D-1" in reply and "已记录" not in reply
        assert activities(aibot_wiring) == []

    def test_a_bad_signature_is_401_and_changes_nothing(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        msg = aibot.message("lilei", f"{MENTION} 记录 forged")
        assert aibot.post(msg, bad_signature=True).status_code == 401
        assert aibot.post(msg, timestamp=int(aibot.clock.now().timestamp()) - 3600).status_code == 401  # replayed
        assert aibot.post(msg, receiveid="ww1436e0e65a779aee").status_code == 403  # an app's callback
        assert aibot.client.post("/wecom/aibot?msg_signature=a&timestamp=1&nonce=2", content=b"<xml/>").status_code == 400
        assert activities(aibot_wiring) == []
        assert "已记录到 D-1" in aibot.reply_of(aibot.post(msg))  # the genuine delivery still works

    def test_chatter_in_a_group_is_ignored_and_other_commands_go_to_the_app(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        assert aibot.say("lilei", f"{MENTION} 大家好") == ""
        assert aibot.say("lilei", MENTION) == ""
        assert "在群里我只负责记录" in aibot.say("lilei", f"{MENTION} 我的")
        assert "单聊" in aibot.say("sunkefu", f"{MENTION} pipeline")  # the group would read the funnel
        assert activities(aibot_wiring) == []

    def test_the_log_command_with_a_kind_works_in_a_group(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        reply = aibot.say("lilei", f"{MENTION} 记录 D-1 电话 客户确认预算")
        assert "D-1" in reply
        assert [(a.kind, a.text) for a in activities(aibot_wiring)] == [("call", "客户确认预算")]
        assert "记录" in aibot.say("lilei", f"{MENTION} 记录 D-1 电话")  # the usage, not silence

    def test_a_private_chat_with_the_bot_takes_commands(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        assert "D-1" in aibot.say("lilei", "我的", chatid=None)

    def test_events_and_other_kinds_of_message_get_an_empty_answer(self, aibot, deal_group):  # type: ignore[no-untyped-def]
        assert aibot.say("lilei", "", msgtype="image") == ""
        event = {"msgid": "evt1", "aibotid": "aib", "chattype": "single", "from": {"userid": "lilei"},
                 "msgtype": "event", "event": {"eventtype": "enter_chat"}}
        assert aibot.reply_of(aibot.post(event)) == ""


class TestTheProtocol:
    def test_url_verification_answers_the_bare_echo(self, aibot):  # type: ignore[no-untyped-def]
        query = aibot.side.verify_query("7351826472659874351", timestamp="1409659589", nonce="263014780")
        resp = aibot.client.get(f"/wecom/aibot?{query}")
        assert resp.status_code == 200 and resp.text == "7351826472659874351"
        bad = aibot.side.verify_query("1", bad_signature=True)
        assert aibot.client.get(f"/wecom/aibot?{bad}").status_code == 401

    def test_wechatpy_decrypts_with_an_empty_receiveid(self):  # type: ignore[no-untyped-def]
        side = WeComServerSide(TOKEN, AES_KEY, "")
        encrypt = side.encrypt('{"msgid":"m1"}')
        crypto = WeChatCrypto(TOKEN, AES_KEY, "")
        assert crypto.decrypt_message({"Encrypt": encrypt}, side.sign("1", "2", encrypt), "1", "2") == '{"msgid":"m1"}'

    def test_without_the_variables_there_is_no_route(self, wiring):  # type: ignore[no-untyped-def]
        with TestClient(create_app(wiring=wiring, prepare_database=False)) as client:
            assert client.post("/wecom/aibot?msg_signature=a&timestamp=1&nonce=2", content=b"{}").status_code == 404

    def test_half_the_variables_refuse_to_start(self):  # type: ignore[no-untyped-def]
        s = Settings(wecom_aibot_token=TOKEN, _env_file=None)  # type: ignore[call-arg]
        assert s.missing_variables() == [("WeCom AI bot", ["WECOM_AIBOT_AES_KEY"])]


@pytest.mark.parametrize(("content", "text"), [
    ("@RobotA hello robot", "hello robot"),  # document 100719's example
    ("@CRM助手\u2005记录 客户同意", "记录 客户同意"),  # the mention's U+2005 separator
    ("@CRM助手 @王芳 记录 x", "记录 x"),
    ("记录 客户同意 @CRM助手", "记录 客户同意"),
    ("@CRM助手", ""),
    ("记录 邮件 a@b.com 已确认", "记录 邮件 a@b.com 已确认"),
])
def test_the_mention_is_stripped(content: str, text: str) -> None:
    assert strip_mentions(content) == text


@pytest.mark.parametrize(("text", "request_"), [
    ("记录 客户同意", GroupLog("客户同意")),
    ("记录：客户同意", GroupLog("客户同意")),
    ("记录客户同意", GroupLog("客户同意")),
    ("LOG customer agreed", GroupLog("customer agreed")),
    ("记录 D-12 客户同意", GroupLog("客户同意", "D-12")),
    ("log d12 ok", GroupLog("ok", "d12")),
    ("记录", GroupLog("")),
    ("记录 D-12 电话 客户同意", None),  # the log command, with its kind
    ("log L-3 call hi", None),
    ("logout", None),
    ("我的", None),
])
def test_what_counts_as_a_group_log(text: str, request_: GroupLog | None) -> None:
    assert group_log_request(text) == request_


def test_two_deliveries_of_one_message_at_once_log_it_once(aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
    """WeCom retried while the first delivery was still being worked on: both run, one activity, one answer."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.wecom.aibot import AIBotHandler, parse_message

    handler = AIBotHandler(runner=aibot_wiring.runner, session_factory=aibot_wiring.session_factory, locale="zh_CN")
    msg = parse_message({"msgid": "CAIQraceRACE=", "aibotid": "aib", "chatid": GROUP, "chattype": "group",
                         "from": {"userid": "lilei"}, "msgtype": "text", "text": {"content": f"{MENTION} 记录 并发"}})
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: handler.answer(msg), range(2)))
    assert all(r is not None and "D-1" in r.cards[0].title for r in replies)
    assert [a.text for a in activities(aibot_wiring)] == ["📌 李雷: 并发"]


class TestLinkingAGroupToADeal:
    """A chat that is no deal's swarm (WeCom may name an app-made group differently to the AI bot, or the team
    talks in a group of its own): `绑定 D-12` links it, and `记录 <text>` there then logs to that deal."""

    def test_a_linked_group_logs_to_its_deal(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        assert "本群不是商机协作群" in aibot.say("lilei", f"{MENTION} 记录 客户同意", chatid=OTHER_GROUP)
        linked = aibot.say("lilei", f"{MENTION} 绑定 D-1", chatid=OTHER_GROUP)
        assert "本群已关联到 D-1 · Globex" in linked
        assert "已记录到 D-1" in aibot.say("lilei", f"{MENTION} 记录 客户同意：下周签", chatid=OTHER_GROUP)
        assert [a.text for a in activities(aibot_wiring)] == ["📌 李雷: 客户同意：下周签"]
        with aibot_wiring.session_factory() as s:
            [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "chat.link")).all()
            assert entry.record_id == 1 and entry.data["channel"] == OTHER_GROUP

    def test_the_same_link_message_delivered_twice_links_once(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        msg = aibot.message("lilei", f"{MENTION} link D-1", chatid=OTHER_GROUP)
        first, again = aibot.reply_of(aibot.post(msg)), aibot.reply_of(aibot.post(msg))
        assert "D-1" in first and again == first
        with aibot_wiring.session_factory() as s:
            assert len(s.scalars(select(GroupLink)).all()) == 1
            assert len(s.scalars(select(AuditEntry).where(AuditEntry.action == "chat.link")).all()) == 1

    def test_linking_again_moves_the_chat_to_the_other_deal(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        ConsoleSession(aibot_wiring.runner, "li").exec("deal new Initech amount=1000")  # D-2
        aibot.say("lilei", f"{MENTION} 绑定 D-1", chatid=OTHER_GROUP)
        assert "D-2 · Initech" in aibot.say("lilei", f"{MENTION} 绑定 d-2", chatid=OTHER_GROUP)
        aibot.say("lilei", f"{MENTION} 记录 demo booked", chatid=OTHER_GROUP)
        assert [(a.deal_id, a.text) for a in activities(aibot_wiring)] == [(2, "📌 李雷: demo booked")]

    def test_someone_who_may_not_work_on_the_deal_cannot_link_it(self, aibot, aibot_wiring, deal_group):  # type: ignore[no-untyped-def]
        reply = aibot.say("hanmeimei", f"{MENTION} 绑定 D-1", chatid=OTHER_GROUP)
        assert "D-1" in reply and "已关联" not in reply
        with aibot_wiring.session_factory() as s:
            assert s.scalars(select(GroupLink)).all() == []
        assert "本群不是商机协作群" in aibot.say("lilei", f"{MENTION} 记录 still nowhere", chatid=OTHER_GROUP)

    def test_link_words_are_read_only_as_a_whole_request(self) -> None:
        assert group_link_request("绑定 D-12") == "D-12" and group_link_request("link d12") == "d12"
        assert group_link_request("关联：D-3") == "D-3"
        assert group_link_request("绑定 D-12 明天") is None and group_link_request("linked D-1") is None
