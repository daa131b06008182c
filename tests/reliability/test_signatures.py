"""Forged, tampered, stale and replayed requests, Slack and WeCom: refused, and nothing changed.

Slack — tampered body, wrong signing secret, a timestamp 6 minutes old and the exact same signed request
sent again: each is 401, no listener runs (no database row changes, nothing is sent to Slack). Slack's own
retries are re-signed and carry X-Slack-Retry-Num: they are not replays.

WeCom — tampered Encrypt, wrong token, wrong EncodingAESKey, a timestamp 6 minutes off: 401, nothing
changed. A replay is different: WeCom itself sends the same callback up to 3 times, so a repeat is answered
200 and has no second effect (dedupe on MsgId / TaskId+ResponseCode).
"""
from __future__ import annotations

import base64
import json
import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from bot.slack.replay import KEEP, claim_signature, prune
from crm_core.models import Lead, SeenSignature
from tests.bot.slack.fake_slack import TEAM
from tests.bot.slack.harness import FORM, SECRET, SlackPlayer, signed_headers
from tests.bot.wecom.conftest import AES_KEY, CORP_ID, TOKEN, WeComHarness
from tests.bot.wecom.wecom_side import WeComServerSide, text_xml
from tests.reliability.snapshot import changes, snapshot

SIX_MINUTES = 360


# --- Slack ---------------------------------------------------------------------------------------------

def _click_body(slack: SlackPlayer, user: str, action_id: str, value: str, n: int) -> str:
    payload = {"type": "block_actions", "user": {"id": user, "username": user.lower(), "name": user.lower(),
                                                  "team_id": TEAM},
               "api_app_id": "A0001", "token": "vtok", "trigger_id": f"{n}.{n}.sig{n}", "team": {"id": TEAM},
               "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "D01SAM",
                             "is_ephemeral": True},
               "channel": {"id": "D01SAM", "name": "directmessage"}, "state": {"values": {}},
               "response_url": slack.fake.response_url(f"sig{n}"),
               "actions": [{"type": "button", "action_id": action_id, "block_id": "actions:x", "value": value,
                            "text": {"type": "plain_text", "text": "Approve"}, "action_ts": "1700000001.000001"}]}
    return f"payload={quote(json.dumps(payload))}"


def _requests(slack: SlackPlayer) -> dict[str, tuple[str, str]]:
    """Two requests that would change things if accepted: (body, what to tamper it into)."""
    command = slack.command_body("U01EMMA", "lead add Mallory company=Evil")
    click = _click_body(slack, "U01TOM", "approval.approve", "A-1", 1)
    return {"command": (command, command.replace("Mallory", "Mallorz")),
            "click": (click, click.replace("U01TOM", "U01SAM"))}  # tom's click, rewritten as the approver's


def _send(slack: SlackPlayer, body: str, headers: dict[str, str]) -> httpx.Response:
    return slack.client.post("/slack/events", content=body.encode("utf-8"), headers=headers)


@pytest.fixture
def slack_with_approval(slack: SlackPlayer) -> SlackPlayer:
    slack.command("U01EMMA", "deal new Acme amount=250000")
    slack.command("U01EMMA", "quote D-1 PRO x10 discount=15")  # A-1 waits for Sam
    return slack


@pytest.mark.parametrize("request_kind", ["command", "click"])
@pytest.mark.parametrize("attack", ["tampered body", "wrong secret", "6 minutes old"])
def test_slack_refuses_forged_and_stale_requests_and_changes_nothing(slack_with_approval, slack_wiring, fake_slack,
                                                                      attack, request_kind):
    slack = slack_with_approval
    body, tampered = _requests(slack)[request_kind]
    headers = signed_headers(body, FORM, secret="not-the-signing-secret" if attack == "wrong secret" else SECRET,
                             timestamp=int(time.time()) - SIX_MINUTES if attack == "6 minutes old" else None)
    before, calls = snapshot(slack_wiring.engine), len(fake_slack.calls)

    r = _send(slack, tampered if attack == "tampered body" else body, headers)

    assert r.status_code == 401
    assert changes(before, snapshot(slack_wiring.engine)) == {}
    assert len(fake_slack.calls) == calls  # no reply, no Slack call of any kind


MALFORMED_HEADERS = {
    "non-numeric timestamp": lambda h: {**h, "X-Slack-Request-Timestamp": "yesterday"},
    "timestamp with a fraction": lambda h: {**h, "X-Slack-Request-Timestamp": h["X-Slack-Request-Timestamp"] + ".5"},
    "empty timestamp": lambda h: {**h, "X-Slack-Request-Timestamp": ""},
    "missing timestamp": lambda h: {k: v for k, v in h.items() if k != "X-Slack-Request-Timestamp"},
    "huge timestamp": lambda h: {**h, "X-Slack-Request-Timestamp": "9" * 400},
    "missing signature": lambda h: {k: v for k, v in h.items() if k != "X-Slack-Signature"},
    "empty signature": lambda h: {**h, "X-Slack-Signature": ""},
}


@pytest.mark.parametrize("request_kind", ["command", "click"])
@pytest.mark.parametrize("malformed", list(MALFORMED_HEADERS))
def test_slack_answers_401_to_malformed_signature_headers_and_changes_nothing(slack_with_approval, slack_wiring,
                                                                              fake_slack, malformed, request_kind):
    """Bolt's verifier int()s the timestamp and answered 500 to `yesterday`; it must be the same 401 as any
    bad signature, with nothing run."""
    slack = slack_with_approval
    body, _ = _requests(slack)[request_kind]
    headers = MALFORMED_HEADERS[malformed](signed_headers(body, FORM))
    before, calls = snapshot(slack_wiring.engine), len(fake_slack.calls)

    r = _send(slack, body, headers)

    assert r.status_code == 401 and r.json() == {"error": "invalid request"}
    assert changes(before, snapshot(slack_wiring.engine)) == {}
    assert len(fake_slack.calls) == calls


@pytest.mark.parametrize("request_kind", ["command", "click"])
def test_slack_refuses_the_same_signed_request_twice(slack_with_approval, slack_wiring, fake_slack, request_kind):
    slack = slack_with_approval
    body, _ = _requests(slack)[request_kind]
    headers = signed_headers(body, FORM)
    assert _send(slack, body, headers).status_code == 200  # the original is handled
    before, calls = snapshot(slack_wiring.engine), len(fake_slack.calls)

    replayed = _send(slack, body, headers)
    forged_retry = _send(slack, body, {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})

    assert replayed.status_code == 401 and forged_retry.status_code == 401
    assert changes(before, snapshot(slack_wiring.engine)) == {}
    assert len(fake_slack.calls) == calls


def test_a_replayed_command_creates_nothing_twice_and_a_fresh_one_still_works(slack, slack_wiring):
    body = slack.command_body("U01EMMA", "lead add Mallory company=Evil")
    headers = signed_headers(body, FORM)
    assert [_send(slack, body, headers).status_code for _ in range(3)] == [200, 401, 401]
    assert slack.command("U01EMMA", "lead add Alice company=Good").status_code == 200
    with slack_wiring.session_factory() as s:
        assert sorted(s.scalars(select(Lead.name))) == ["Alice", "Mallory"]


def test_slacks_own_event_retry_is_not_a_replay(slack, fake_slack):
    """Slack retries an event with X-Slack-Retry-Num, signed when sent — even in the same second as the
    original (identical signature), the retry is accepted, and the event still runs once."""
    body = json.dumps({"token": "vtok", "team_id": TEAM, "api_app_id": "A0001", "type": "event_callback",
                       "event_id": "EvRetry1", "event_time": 1700000003,
                       "event": {"type": "app_home_opened", "user": "U01EMMA", "channel": "D01EMMA", "tab": "home",
                                 "event_ts": "1700000003.000400"}})
    headers = signed_headers(body, "application/json")
    first = _send(slack, body, headers)
    retry = _send(slack, body, {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert (first.status_code, retry.status_code) == (200, 200)
    assert len(fake_slack.calls_to("views.publish")) == 1
    again = _send(slack, body, {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    # That exact retry sent a second time is a replay. A Home opening's effects start behind its event_id
    # (bot/slack/replay.py: GUARDED_BY_EVENT_ID), so it is acked with nothing claimed, and shows nothing again.
    assert again.status_code == 200 and len(fake_slack.calls_to("views.publish")) == 1


def test_a_replayed_uninstall_event_is_refused(slack, fake_slack):
    """Events outside GUARDED_BY_EVENT_ID are claimed by their signature before any listener runs."""
    body = json.dumps({"token": "vtok", "team_id": TEAM, "api_app_id": "A0001", "type": "event_callback",
                       "event_id": "EvGone1", "event_time": 1700000003,
                       "event": {"type": "app_uninstalled", "event_ts": "1700000003.000500"}})
    headers = signed_headers(body, "application/json")
    assert [_send(slack, body, headers).status_code for _ in range(2)] == [200, 401]


def test_seen_signatures_are_forgotten_once_they_cannot_pass_verification(slack_wiring, clock):
    w = slack_wiring
    assert claim_signature(w.session_factory, clock, "slack:v0=aaa")
    assert not claim_signature(w.session_factory, clock, "slack:v0=aaa")
    clock.advance(seconds=KEEP.total_seconds() - 1)
    assert prune(w.session_factory, clock) == 0
    clock.advance(seconds=2)
    assert prune(w.session_factory, clock) == 1
    with w.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SeenSignature)) == 0


# --- WeCom ---------------------------------------------------------------------------------------------

OTHER_AES_KEY = base64.b64encode(bytes(range(32))).decode()[:43]


def _tamper_encrypt(body: bytes) -> bytes:
    text = body.decode()
    encrypt = re.search(r"<Encrypt><!\[CDATA\[(.+?)\]\]></Encrypt>", text).group(1)  # type: ignore[union-attr]
    mid = len(encrypt) // 2
    flipped = encrypt[:mid] + ("A" if encrypt[mid] != "A" else "B") + encrypt[mid + 1:]
    return text.replace(encrypt, flipped).encode()


def _wecom_attack(attack: str, wecom: WeComHarness, xml: str) -> httpx.Response:
    now = int(wecom.clock.now().timestamp())
    if attack == "tampered Encrypt":
        query, body = wecom.side.callback(xml, timestamp=str(now))
        body = _tamper_encrypt(body)
    elif attack == "wrong token":
        query, body = WeComServerSide("x" * 32, AES_KEY, CORP_ID).callback(xml, timestamp=str(now))
    elif attack == "wrong key":
        query, body = WeComServerSide(TOKEN, OTHER_AES_KEY, CORP_ID).callback(xml, timestamp=str(now))
    elif attack == "6 minutes old":
        query, body = wecom.side.callback(xml, timestamp=str(now - SIX_MINUTES))
    else:  # "6 minutes ahead"
        query, body = wecom.side.callback(xml, timestamp=str(now + SIX_MINUTES))
    return wecom.client.post(f"/wecom/callback?{query}", content=body)


@pytest.mark.parametrize("attack", ["tampered Encrypt", "wrong token", "wrong key", "6 minutes old",
                                    "6 minutes ahead"])
def test_wecom_refuses_forged_and_stale_callbacks_and_changes_nothing(wecom: WeComHarness, wecom_wiring, attack):
    before, calls = snapshot(wecom_wiring.engine), len(wecom.fake.calls)
    r = _wecom_attack(attack, wecom, text_xml(CORP_ID, "lilei", "线索 新建 张三 company=某某科技", "7300000000000000999"))
    assert r.status_code == 401 and r.content == b""
    assert changes(before, snapshot(wecom_wiring.engine)) == {}
    assert len(wecom.fake.calls) == calls  # nothing was sent to anybody


def test_wecom_accepts_a_callback_just_inside_five_minutes(wecom: WeComHarness, wecom_wiring):
    now = int(wecom.clock.now().timestamp())
    r = wecom.post(text_xml(CORP_ID, "lilei", "线索 新建 张三", "7300000000000000998"), timestamp=now - 299)
    assert r.status_code == 200
    with wecom_wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 1


def test_a_replayed_wecom_callback_is_answered_200_and_has_no_second_effect(wecom: WeComHarness, wecom_wiring):
    """Unlike Slack, WeCom legitimately sends the very same callback again (up to 3 times when it did not
    get its answer in 5 s), so a repeat must not be an error: 200, nothing changed, no second reply."""
    query, body = wecom.side.callback(text_xml(CORP_ID, "lilei", "线索 新建 张三", "7300000000000000997"),
                                      timestamp=str(int(wecom.clock.now().timestamp())))
    first = wecom.client.post(f"/wecom/callback?{query}", content=body)
    assert first.status_code == 200
    before, sent = snapshot(wecom_wiring.engine), len(wecom.fake.called("message/send"))
    assert sent == 1

    replays: list[Any] = [wecom.client.post(f"/wecom/callback?{query}", content=body) for _ in range(3)]

    assert [r.status_code for r in replays] == [200, 200, 200] and all(r.content == b"" for r in replays)
    assert changes(before, snapshot(wecom_wiring.engine)) == {}
    assert len(wecom.fake.called("message/send")) == sent
    wecom.clock.advance(seconds=SIX_MINUTES)  # later than WeCom ever retries: now it is stale, and refused
    assert wecom.client.post(f"/wecom/callback?{query}", content=body).status_code == 401
    with wecom_wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 1


def test_the_clock_decides_freshness(wecom: WeComHarness):
    """Freshness is measured against the app's injected clock (here frozen), not the machine's."""
    stale = int((wecom.clock.now() - timedelta(seconds=SIX_MINUTES)).timestamp())
    assert wecom.post(text_xml(CORP_ID, "lilei", "帮助", "7300000000000000996"), timestamp=stale).status_code == 401
    wecom.clock.advance(seconds=-SIX_MINUTES)
    assert wecom.post(text_xml(CORP_ID, "lilei", "帮助", "7300000000000000996"), timestamp=stale).status_code == 200
