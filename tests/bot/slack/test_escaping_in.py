"""Slack escapes `&`, `<`, `>` in the text it sends (`&amp;` `&lt;` `&gt;`); chatcrm undoes that exactly once
on the way in, stores what the person typed, and escapes exactly once on the way out (mrkdwn).

The requests are recorded form bodies (tests/bot/payloads/slack/) carrying Slack's escaping."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.slack.escaping import unescape
from crm_core.models import Account, Activity, Deal
from tests.bot.slack import payloads
from tests.bot.slack.harness import select as chosen, slack_escape, text

TYPED = "AT&T Wireless <HQ>"


def _texts(message: dict[str, Any], kind: str) -> list[str]:
    """Every text object of one kind (`mrkdwn` or `plain_text`) in a message's blocks."""
    blocks = message.get("blocks") or []
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == kind and isinstance(node.get("text"), str):
                found.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return found


def _shown_once_escaped(message: dict[str, Any]) -> None:
    """The typed name appears in mrkdwn escaped exactly once, in plain_text (the header) as typed."""
    mrkdwn, plain = _texts(message, "mrkdwn"), _texts(message, "plain_text")
    assert any("AT&amp;T Wireless &lt;HQ&gt;" in t for t in mrkdwn), mrkdwn
    assert not any("&amp;amp;" in t or "&amp;lt;" in t or "<HQ>" in t for t in mrkdwn), mrkdwn
    assert all("&amp;" not in t and "&lt;" not in t for t in plain), plain
    assert any(TYPED in t for t in plain) or not plain


def test_a_deal_name_with_ampersand_and_angle_brackets_is_stored_raw_and_shown_escaped_once(slack, slack_wiring):
    raw = payloads.form("command_deal_new_att_escaped", slack, "att")
    assert "AT%26amp%3BT" in raw  # Slack's form: `AT&amp;T`, URL-encoded

    r = payloads.post_form(slack, raw)

    assert r.status_code == 200
    with slack_wiring.session_factory() as s:
        assert s.scalars(select(Account.name)).one() == TYPED
        assert TYPED in s.scalars(select(Deal.name)).one()
    reply = slack.last_response()
    _shown_once_escaped(reply)
    assert "&amp;amp;" not in json.dumps(reply) and "AT&amp;amp;T" not in str(reply.get("text"))


def test_showing_the_deal_again_escapes_once_more_never_twice(slack):
    payloads.post_form(slack, payloads.form("command_deal_new_att_escaped", slack, "att"))
    slack.command("U01EMMA", "deal D-1")
    _shown_once_escaped(slack.last_response())


def test_mentions_stay_references_and_typed_entities_survive_as_typed(slack, slack_wiring):
    slack.command("U01EMMA", "deal new Acme amount=1")
    r = payloads.post_form(slack, payloads.form("command_log_with_mention_escaped", slack, "mention"))
    assert r.status_code == 200
    with slack_wiring.session_factory() as s:
        # typed: ask @tom about &amp; and &lt; — R&D <3   (Slack sent &amp;amp; … R&amp;D &lt;3)
        assert s.scalars(select(Activity.text)).one() == "ask <@U01TOM|tom> about &amp; and &lt; — R&D <3"


@pytest.mark.parametrize("typed", [TYPED, "&amp; is how HTML writes &", "<<>>&&", "a < b > c", "plain",
                                   "“引号” & 《书名》 <备注>"])
def test_whatever_is_typed_comes_back_as_typed(slack, slack_wiring, typed):
    slack.command("U01EMMA", "deal new Acme amount=1")
    slack.command("U01EMMA", f"log D-1 note {typed}")
    with slack_wiring.session_factory() as s:
        assert s.scalars(select(Activity.text)).one() == typed


def test_modal_input_values_arrive_unescaped_and_are_not_unescaped_again(slack, slack_wiring):
    slack.command("U01EMMA", "deal new Acme amount=1")
    slack.click("U01EMMA", "deal.log", "D-1")
    view = slack.opened_view()
    slack.submit("U01EMMA", view, {"kind": chosen("note"), "text": text("R&amp;D is spelt R&D & <HQ>")})
    with slack_wiring.session_factory() as s:
        assert s.scalars(select(Activity.text)).one() == "R&amp;D is spelt R&D & <HQ>"


def test_a_message_shortcut_prefills_the_message_as_written(slack):
    slack.command("U01EMMA", "deal new Acme amount=1")
    slack.log_message_shortcut("U01EMMA", "Tom & Emma <3 said &lt; is an entity")
    view = slack.opened_view()
    initial = next(b for b in view["blocks"] if b.get("block_id") == "text")["element"]["initial_value"]
    assert initial == "Tom & Emma <3 said &lt; is an entity"


def test_unescape_undoes_slacks_three_escapes_exactly_once():
    assert unescape("AT&amp;T &lt;HQ&gt;") == "AT&T <HQ>"
    assert unescape("&amp;lt;") == "&lt;"  # typed "&lt;" stays "&lt;"
    assert unescape("&quot; &#39; &nbsp;") == "&quot; &#39; &nbsp;"  # Slack never sends these: left alone
    assert unescape("<@U123|tom> <#C1|sales> <!here>") == "<@U123|tom> <#C1|sales> <!here>"
    for typed in ("a&b", "&amp;", "&lt;&gt;", "<@U1> & <x>", "&&amp;;"):
        assert unescape(slack_escape(typed)) == typed
