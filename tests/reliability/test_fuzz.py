"""Fuzzing the Slack door with hypothesis (bounded, derandomised: the same examples on every run).

1. The command grammar: random `/crm` texts — grammar-shaped (command words in English and Chinese,
   record references, key=value options, product lines) and arbitrary (unicode, SQL-looking, huge) — from
   several users, through the real signed HTTP path. Always a 200 ack, never a crash: no "Something went
   wrong" reply, nothing logged at ERROR, nothing Slack would refuse.
2. Button clicks: block_actions payloads with mutated action ids and values (unknown ids, other people's
   record ids, stale stage values, huge strings, unicode, SQL-looking text, wrong action ids), clicked by
   rep Tom on records of rep Li (another team). Always a 200 ack, never a crash, and never a change: every
   business table is exactly as before each click.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import registry
from handlers.grammar import SPECS
from tests.bot.slack.fake_slack import TEAM
from tests.bot.slack.harness import FORM, SlackPlayer, blocks_text, signed_headers
from tests.reliability.snapshot import BOOKKEEPING, changes, snapshot

# The normal run: a fixed, derandomised set of examples (same on every run, fast). A deeper, random hunt:
# CHATCRM_FUZZ_EXAMPLES=2000 .venv/bin/pytest tests/reliability/test_fuzz.py
DEEP = os.environ.get("CHATCRM_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(DEEP or 120), deadline=None, derandomize=not DEEP, database=None,
                suppress_health_check=list(HealthCheck))
CRASH_MARKERS = ("Something went wrong", "出错了", "Reference:")

SQLISH = ["'; DROP TABLE deals; --", "1 OR 1=1", "\" OR \"\"=\"", "D-1; DELETE FROM users", "%' AND 1=0 UNION SELECT *",
          "Robert'); DROP TABLE leads;--", "${jndi:ldap://x}", "{{7*7}}", "<script>alert(1)</script>", "../../etc/passwd"]
ODD = ["", " ", "\u200b", "\x00", "\n\n", "𝕯-1", "Ｄ－１", "D-١", "🙂" * 30, "深圳某某科技有限公司", "ا", "\ufeffD-1",
       "D-0", "D-999999999", "D-9999999999999", "D--1", "d-1", "D1", "A-1:", ":", "x" * 3000, "我" * 2000, "1e309",
       "NaN", "-0", "1_000", "0x10", "９９"]
REFS = ["L-1", "D-1", "D-2", "Q-1", "A-1", "T-1", "C-1", "O-1", "D-404", "A-404", "T-404", "C-404", "L-404"]


def _words() -> list[str]:
    out: set[str] = set()
    for spec in SPECS:
        out.add(" ".join(spec.words))
        out.update(" ".join(alias) for alias in spec.aliases)
    return sorted(out)


def _quote_value(v: str) -> str:
    return f'"{v}"' if any(c.isspace() for c in v) else v


values = st.one_of(st.sampled_from(SQLISH + ODD + REFS), st.text(max_size=30),
                   st.integers(min_value=-10**12, max_value=10**12).map(str),
                   st.decimals(allow_nan=True, allow_infinity=True).map(str))
options = st.builds(lambda k, v: f"{k}={_quote_value(v)}",
                    st.sampled_from(["amount", "name", "close", "company", "email", "phone", "discount", "reason",
                                     "usage", "nps", "stage", "budget", "金额", "公司", "source", "region", "x" * 41]),
                    values)
tokens = st.one_of(st.sampled_from(REFS), options, values, st.sampled_from(
    ["PROx10", "PRO x10", "STD×999999999", "PRO x-1", "x0", "PRO", "call", "note", "urgent", "team", "mine", "proposal",
     "won", "lost"]))
command_texts = st.one_of(
    st.builds(lambda w, rest: " ".join([w, *rest]), st.sampled_from(_words()), st.lists(tokens, max_size=7)),
    st.text(max_size=200),
    st.sampled_from(SQLISH + ODD),
)


def _li_has_records(slack: SlackPlayer) -> None:
    """Rep Li (manager Wang) owns a lead, two deals, a quote awaiting approval, a ticket and a contract."""
    for text in ("lead add 张三 company=某某科技 phone=13912345678",
                 "deal new 深圳某某科技 amount=300000 close=2026-06-30",
                 "quote D-1 PRO x10 discount=15",
                 "ticket new 深圳某某科技 urgent 系统无法登录",
                 "deal new 杭州云图 amount=80000",
                 "won D-2"):
        r = slack.command("U01LI", text)
        assert r.status_code == 200


def _no_crash(slack: SlackPlayer, since: int, caplog: pytest.LogCaptureFixture, what: str) -> None:
    for answer in slack.responses()[since:]:
        text = blocks_text(answer) + str(answer.get("text", ""))
        assert not any(m in text for m in CRASH_MARKERS), f"{what} -> {text[:300]}"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("chatcrm")]
    assert errors == [], f"{what} -> {[r.getMessage()[:300] for r in errors]}"
    assert slack.fake.violations == [], f"{what} -> {slack.fake.violations}"


def test_no_command_text_crashes_the_slack_door(slack: SlackPlayer, caplog: pytest.LogCaptureFixture):
    _li_has_records(slack)
    caplog.set_level(logging.WARNING)

    @FUZZ
    @given(user=st.sampled_from(["U01LI", "U01TOM", "U01SAM", "U01WANG", "U01CHEN", "U0NEWBIE"]), text=command_texts)
    def run(user: str, text: str) -> None:
        caplog.clear()
        since, forms = len(slack.responses()), len(slack.fake.calls_to("views.open"))
        r = slack.command(user, text)
        assert r.status_code == 200, (text, r.status_code, r.text)
        answered = len(slack.responses()) > since or len(slack.fake.calls_to("views.open")) > forms
        assert answered, f"no answer to {text!r}"
        _no_crash(slack, since, caplog, f"/crm {text!r} by {user}")

    run()


# --- button clicks ---------------------------------------------------------------------------------------

ACTIONS = sorted(registry.ACTIONS)
action_ids = st.one_of(
    st.sampled_from(ACTIONS),
    st.builds(lambda a, n: f"{a}#{n}", st.sampled_from(ACTIONS), st.integers(min_value=-5, max_value=10**6)),
    st.sampled_from(["deal.delete", "approval.approve_all", "admin.grant", "deal.advance.x", "", "#", "approval.",
                     "APPROVAL.APPROVE", "approval approve", "deal.advance#", "x" * 255] + SQLISH[:4]),
    st.text(max_size=40),
)
click_values = st.one_of(
    st.sampled_from(REFS),
    st.builds(lambda ref, stage: f"{ref}:{stage}", st.sampled_from(REFS),
              st.sampled_from(["qualify", "discovery", "proposal", "negotiation", "won", "lost", "", "x" * 500])),
    st.sampled_from(["mine:0", "team:0", "team:-1", "team:99999999999999999999", "mine:1e9", "everyone:0"]),
    st.sampled_from(SQLISH + ODD),
    st.text(max_size=60),
)


def _click(slack: SlackPlayer, n: int, action_id: str, value: str, *, home: bool) -> Any:
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": "U01TOM", "username": "tom", "name": "tom", "team_id": TEAM},
        "api_app_id": "A0001", "token": "vtok", "trigger_id": f"{n}.{n}.fz{n}", "team": {"id": TEAM, "domain": "acme"},
        "enterprise": None, "is_enterprise_install": False, "state": {"values": {}},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "actions:x", "value": value,
                     "text": {"type": "plain_text", "text": "Button"}, "action_ts": f"1700000001.{n:06d}"}]}
    if home:
        payload.update(container={"type": "view", "view_id": "VHOME"},
                       view={"id": "VHOME", "type": "home", "blocks": [], "state": {"values": {}}})
    else:
        payload.update(container={"type": "message", "message_ts": "1700000000.000100", "channel_id": "D01TOM",
                                  "is_ephemeral": False},
                       channel={"id": "D01TOM", "name": "directmessage"},
                       response_url=slack.fake.response_url(f"fz{n}"))
    raw = f"payload={quote(json.dumps(payload))}"
    return slack.client.post("/slack/events", content=raw.encode("utf-8"), headers=signed_headers(raw, FORM))


# Every button a card can carry, with the values it would carry for Li's records (and stale variants).
STAGES = ["qualify", "discovery", "proposal", "negotiation", "won", "lost"]
TARGETED = {
    "approval.approve": ["A-1"], "approval.reject": ["A-1"], "quote.order": ["Q-1"], "deal.quote": ["D-1"],
    "deal.advance": ["D-1", *(f"D-1:{st}" for st in STAGES)], "form.advance": ["D-1", "D-1:qualify"],
    "deal.swarm": ["D-1"], "deal.log": ["D-1"], "deal.list_more": ["team:0", "mine:0"], "lead.convert": ["L-1"],
    "lead.log": ["L-1"], "ticket.ack": ["T-1"], "ticket.close": ["T-1"], "contract.renew": ["C-1"],
    "home.show": [""],
    "lead.merge": ["L-1", "L-1:L-1", "L-1:L-2", "L-2:L-1", "L-1:D-1"],
    "workspace.approve": ["T0002", "T0001"], "workspace.refuse": ["T0002", "T0001"],
    "deal.advance_confirm": [*(f"D-1:{st}:qualify" for st in STAGES), "D-1"], "deal.amount_from_quote": ["Q-1"],
    "lead.list_more": ["team:0", "all:0:@li", "mine:0:stage=x"], "account.open": ["1", "0", "x"],
    "contact.open": ["1", "-1"], "record.open": ["D-1", "L-1", "T-1", "C-1", "Q-1", ""],
    # a paste makes Tom's own lead only when it names someone: these name nobody; Li's L-1 is not in the pool
    "lead.paste_create": ["", "13800138000\nx@example.com"], "lead.paste_edit": ["王五 13800138000", ""],
    "pool.claim": ["L-1", "L-99"], "swarm.pin": [""], "chat.log": ["", "D-1"], "chat.link": ["", "D-1"], "search.open": ["D-1", "L-1", ""],
    "search.run": ["Acme", ""], "record.pick": ["deal D-1", "won D-1", ""],
    "task.done": ["1", "#1", "2"], "task.reopen": ["1"], "task.open": ["1", "2"],  # Li's stage tasks on D-1 / D-2
    "task.list_more": ["30", "0", "x", "-1", "99999999999"],  # a page of the clicker's own tasks, whatever it says
    "ticket.list_more": ["team:0", "all:0", "all:10:overdue", "mine:0:@li", "x:y:z"],  # a rep pages their own
}


def test_every_button_refuses_a_rep_on_another_teams_records(slack: SlackPlayer, slack_wiring,
                                                             caplog: pytest.LogCaptureFixture):
    assert set(TARGETED) == set(registry.ACTIONS), "a new button action: add what it would carry to TARGETED"
    _li_has_records(slack)
    slack.command("U01TOM", "help")  # Tom's first contact records his workspace on his identity
    caplog.set_level(logging.WARNING)
    engine = slack_wiring.engine
    n = 0
    for action, refs in TARGETED.items():
        for value in refs:
            for home in (False, True):
                n += 1
                caplog.clear()
                since = len(slack.responses())
                before = snapshot(engine, ignore=BOOKKEEPING)
                r = _click(slack, 10**6 + n, action, value, home=home)
                assert r.status_code == 200, (action, value, r.status_code, r.text)
                assert changes(before, snapshot(engine, ignore=BOOKKEEPING)) == {}, f"tom clicked {action} {value}"
                _no_crash(slack, since, caplog, f"click {action} value={value!r} home={home}")


def test_no_mutated_click_crashes_or_changes_anything(slack: SlackPlayer, slack_wiring,
                                                      caplog: pytest.LogCaptureFixture):
    _li_has_records(slack)
    slack.command("U01TOM", "help")  # Tom's first contact records his workspace on his identity
    caplog.set_level(logging.WARNING)
    engine = slack_wiring.engine
    counter = iter(range(1, 10**6))

    @FUZZ
    @given(action_id=action_ids, value=click_values, home=st.booleans())
    def run(action_id: str, value: str, home: bool) -> None:
        caplog.clear()
        since = len(slack.responses())
        before = snapshot(engine, ignore=BOOKKEEPING)
        r = _click(slack, next(counter), action_id, value, home=home)
        assert r.status_code == 200, (action_id, value, r.status_code, r.text)
        assert changes(before, snapshot(engine, ignore=BOOKKEEPING)) == {}, f"tom clicked {action_id!r} {value!r}"
        _no_crash(slack, since, caplog, f"click {action_id!r} value={value!r} home={home}")

    run()


# --- what the fuzzing found ----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "team:99999999999999999999",  # found on PostgreSQL: OFFSET out of bigint range -> "Something went wrong"
    "mine:9223372036854775808",  # one past bigint (SQLite: "Python int too large to convert")
    "team:1000001",
    "team:²",
])
def test_a_tampered_more_button_shows_an_empty_page_not_an_error(slack: SlackPlayer, caplog, value):
    caplog.set_level(logging.WARNING)
    since = len(slack.responses())
    assert _click(slack, 2 * 10**6, "deal.list_more", value, home=False).status_code == 200
    _no_crash(slack, since, caplog, f"More {value!r}")
    assert "Team deals" in blocks_text(slack.responses()[-1]) or "My deals" in blocks_text(slack.responses()[-1])
