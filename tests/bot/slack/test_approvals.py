"""Approval cards in Slack: Reject opens a modal for the reason; late, foreign and superseded clicks
change nothing and answer ephemerally why."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_core.models import Approval
from tests.bot.slack.harness import blocks_text, buttons, text


def _approval(slack, discount: str = "15") -> None:
    slack.command("U01EMMA", "deal new Acme amount=250000")
    slack.command("U01EMMA", f"quote D-1 PRO x10 discount={discount}")


def test_reject_opens_a_modal_and_the_reason_reaches_the_requester(slack, slack_wiring):
    _approval(slack)
    slack.click("U01SAM", "approval.reject", "A-1", channel="D01SAM", ephemeral=False)
    view = slack.opened_view()
    assert view["callback_id"] == "crm.reject" and "A-1" in blocks_text({"blocks": view["blocks"]})
    empty = slack.submit("U01SAM", view, {"reason": text("  ")})
    assert empty.json()["errors"] == {"reason": "This cannot be empty."}
    ok = slack.submit("U01SAM", view, {"reason": text("Margin too thin & no multi-year 🙅")})
    assert ok.status_code == 200 and ok.text == ""
    with slack_wiring.session_factory() as s:
        approval = s.scalars(select(Approval)).one()
        assert approval.status == "rejected"
        assert approval.steps[0].comment == "Margin too thin & no multi-year 🙅"
    assert "A-1" in blocks_text(slack.last_response())


def test_reject_on_somebody_elses_approval_says_so_without_a_modal(slack, fake_slack):
    _approval(slack)
    slack.click("U01TOM", "approval.reject", "A-1")
    assert fake_slack.calls_to("views.open") == []
    reply = slack.last_response()
    assert reply["response_type"] == "ephemeral" and "waits for Sam Taylor" in blocks_text(reply)


def test_a_click_on_a_superseded_quote_changes_nothing(slack, slack_wiring):
    _approval(slack)
    slack.command("U01EMMA", "quote D-1 PRO x10 discount=12")  # v2 supersedes Q-1 and its approval A-1
    slack.click("U01SAM", "approval.approve", "A-1", channel="D01SAM", ephemeral=False)
    reply = slack.last_response()
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert "superseded" in blocks_text(reply) and buttons(reply) == []
    with slack_wiring.session_factory() as s:
        assert s.get(Approval, 1).status == "cancelled"


def test_the_requester_cannot_approve_their_own_discount(slack, slack_wiring):
    _approval(slack)
    slack.click("U01EMMA", "approval.approve", "A-1")
    assert "cannot decide it" in blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        assert s.get(Approval, 1).status == "pending"


@pytest.mark.postgres
def test_simultaneous_clicks_are_one_decision(slack, slack_wiring):
    """Double clicks arrive as separate requests (each its own trigger id): the approval guard makes one
    change. PostgreSQL only: SQLite answers concurrent writers with "database is locked"."""
    from concurrent.futures import ThreadPoolExecutor
    _approval(slack)
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda _: slack.click("U01SAM", "approval.approve", "A-1").status_code, range(16)))
    assert set(codes) == {200}
    with slack_wiring.session_factory() as s:
        approval = s.get(Approval, 1)
        assert approval.status == "approved" and approval.steps[0].decided_by_id is not None
    answers = [blocks_text(r) for r in slack.responses()[-16:]]
    assert sum("already" in a for a in answers) == 15
