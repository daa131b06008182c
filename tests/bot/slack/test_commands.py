"""`/crm` end to end: signed form bodies through create_app(), replies ephemeral — in the HTTP response when the
work is done within the budget, else via response_url (tests/bot/slack/test_answer_inline.py)."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from crm_core.models import Activity, Deal, Lead, User
from tests.bot.slack.harness import FORM, blocks_text, buttons


def test_a_command_is_answered_ephemerally_with_block_kit_in_its_http_response(slack, fake_slack):
    r = slack.command("U01EMMA", 'lead add "Ann Lee" company="Acme Inc." email=ann@acme.com')
    assert r.status_code == 200
    reply = r.json()
    assert reply["response_type"] == "ephemeral" and fake_slack.response_url_posts() == []
    assert "Lead L-1 · Ann Lee" in blocks_text(reply) and "New lead, assigned to Emma Jones" in blocks_text(reply)
    assert ("Convert", "lead.convert", "L-1") in buttons(reply)
    assert fake_slack.calls_to("auth.test")  # Bolt verified the token on the first request, not at start-up


def test_start_up_makes_no_call_to_slack(slack_wiring, fake_slack):
    from fastapi.testclient import TestClient

    from bot.app import create_app
    with TestClient(create_app(wiring=slack_wiring, prepare_database=False), base_url="https://testserver"):
        pass
    assert fake_slack.methods() == []


@pytest.mark.parametrize("secret, age", [("wrong-secret", 0), ("test-signing-secret", 301)])
def test_a_bad_or_stale_signature_is_401_and_changes_nothing(slack, fake_slack, slack_wiring, secret, age):
    body = slack.command_body("U01EMMA", "lead add Mallory")
    r = slack.post(body, FORM, secret=secret, timestamp=int(time.time()) - age)
    assert r.status_code == 401
    with slack_wiring.session_factory() as s:
        assert s.scalars(select(Lead)).all() == []
    assert fake_slack.methods() == []


def test_a_missing_signature_is_401(slack_api):
    r = slack_api.post("/slack/events", content=b"token=x&command=%2Fcrm&text=help",
                       headers={"Content-Type": FORM})
    assert r.status_code == 401


ADVERSARIAL = [
    'said "we\'ll sign" & asked for 10% off = great',
    "客户说下周签约，预算 50万 👍🏽 😀",
    "a+b=c; 100% sure & <script>alert(1)</script>",
    "payload is late; payload=none %20 %2B +plus",
    "{json-looking} text = value & more",
    "quotes “curly” ‘single’ 「corner」 and 'plain'",
]


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_whatever_a_person_types_reaches_the_handler_unchanged(slack, slack_wiring, text):
    slack.command("U01EMMA", "deal new Acme amount=5000")
    slack.command("U01EMMA", f"log D-1 note {text}")
    with slack_wiring.session_factory() as s:
        assert s.scalars(select(Activity.text)).all() == [text]
    assert "Logged a note on D-1" in blocks_text(slack.last_response())


def test_an_unknown_word_answers_with_usage_in_the_users_language(slack):
    slack.command("U01LI", "dael list")
    zh = blocks_text(slack.last_response())
    assert "无法识别「dael」" in zh
    slack.command("U01EMMA", "dael list")
    en = blocks_text(slack.last_response())
    assert "I don't know “dael”" in en and "deal" in en


def test_an_unknown_slack_user_becomes_a_rep_named_from_users_info(slack, fake_slack, slack_wiring):
    fake_slack.add_user("U0NEW", "Nina Newcomer", locale="en-US")
    slack.command("U0NEW", "my")
    assert fake_slack.calls_to("users.info")[0]["user"] == "U0NEW"
    with slack_wiring.session_factory() as s:
        user = s.scalars(select(User).where(User.name == "Nina Newcomer")).one()
        assert (user.role, user.locale, user.identity("slack")) == ("rep", "en", "U0NEW")
    assert "My open deals" in blocks_text(slack.last_response())
    slack.command("U0NEW", "help")
    assert len(fake_slack.calls_to("users.info")) == 1  # known from now on


def test_a_configured_user_is_never_looked_up(slack, fake_slack):
    slack.command("U01LI", "help")
    assert fake_slack.calls_to("users.info") == []


def test_a_long_list_pages_with_the_more_button(slack):
    for i in range(12):
        slack.command("U01EMMA", f"deal new Customer{i} amount={1000 + i}")
    slack.command("U01EMMA", "deal list")
    first = slack.last_response()
    more = [b for b in buttons(first) if b[1] == "deal.list_more"]
    assert more and more[0][2] == "mine:10"
    assert "Showing 1–10" in blocks_text(first)
    slack.click("U01EMMA", "deal.list_more", "mine:10")
    second = blocks_text(slack.last_response())
    assert "D-2 · Customer1" in second and "D-1 · Customer0" in second and "D-12" not in second


def test_a_crash_answers_with_a_reference_id_and_is_logged(slack, monkeypatch, caplog):
    from handlers import runner as runner_module

    def boom(*_a, **_k):
        raise RuntimeError("database on fire")
    monkeypatch.setattr(runner_module.Runner, "answer_text", boom)
    slack.command("U01EMMA", "my")
    text = blocks_text(slack.last_response())
    assert "Something went wrong" in text
    ref = text.split("Reference: ")[1].split(".")[0]
    assert any(ref in rec.getMessage() for rec in caplog.records)


def test_a_command_changes_things_once_even_if_the_same_request_arrives_twice(slack, slack_wiring):
    # The same command (same trigger id) delivered twice, each delivery signed when it was sent. (The very
    # same signed request twice is a replay: 401, see tests/reliability/test_signatures.py.)
    body = slack.command_body("U01EMMA", "deal new Acme amount=5000")
    assert slack.post(body, FORM, timestamp=int(time.time()) - 1).status_code == 200
    assert slack.post(body, FORM).status_code == 200
    with slack_wiring.session_factory() as s:
        assert len(s.scalars(select(Deal)).all()) == 1
    # The reply was delivered once and recorded as sent (the inbox): the repeat is acknowledged and sends
    # nothing more, so the person never sees the answer twice (bot/slack/inbox.py).
    (only,) = slack.responses()
    assert "D-1" in blocks_text(only)


def test_a_deal_with_a_very_long_name_still_shows_in_slack(slack):
    for i in range(10):
        slack.command("U01EMMA", f'deal new Acme amount=1000 name="{"长名字&" * 70}{i}"')
    card = slack.last_response()
    assert card["blocks"][0]["type"] == "header" and len(card["blocks"][0]["text"]["text"]) <= 150
    slack.command("U01EMMA", "deal list")
    assert "My deals" in blocks_text(slack.last_response())
