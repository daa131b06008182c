"""50 Approve clicks on one approval at the same moment, through the real HTTP path.

Each click is a signed block_actions request (its own trigger id and response_url, as from 50 devices)
posted to create_app()'s /slack/events from its own thread, released together by a barrier. The
approver (Sam) and an admin — the two people allowed to decide — click 25 times each. PostgreSQL only:
SQLite serialises writers ("database is locked"), PostgreSQL really runs them at once, and the approval
row is taken with SELECT … FOR UPDATE.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from crm_core.models import Approval, AuditEntry, ChatIdentity, OutboxMessage
from crm_core.services.users import user_by_key
from tests.bot.slack.harness import SlackPlayer, blocks_text, buttons

CLICKS = 50
CLICKERS = ("U01SAM", "U01ADMIN")  # the step's approver and an admin: both may decide


def _approval_waiting_for_sam(slack: SlackPlayer, slack_wiring) -> None:  # type: ignore[no-untyped-def]
    with slack_wiring.session_factory.begin() as s:  # the admin uses Slack too
        admin = user_by_key(s, "admin")
        s.add(ChatIdentity(user_id=admin.id, platform="slack", external_id="U01ADMIN"))
    slack.command("U01EMMA", "deal new Acme amount=250000")
    slack.command("U01EMMA", "quote D-1 PRO x10 discount=15")
    with slack_wiring.session_factory() as s:
        assert s.get(Approval, 1).status == "pending"


@pytest.mark.postgres
def test_fifty_simultaneous_approve_clicks_make_one_decision(slack: SlackPlayer, slack_wiring, fake_slack):
    _approval_waiting_for_sam(slack, slack_wiring)
    before = len(slack.responses())
    with slack_wiring.session_factory() as s:
        outbox_before = s.scalar(select(func.count(OutboxMessage.id)))
    barrier = threading.Barrier(CLICKS)

    def click(n: int) -> int:
        barrier.wait()
        return slack.click(CLICKERS[n % 2], "approval.approve", "A-1", channel="D01SAM", ephemeral=False).status_code

    with ThreadPoolExecutor(max_workers=CLICKS) as pool:
        codes = list(pool.map(click, range(CLICKS)))
    assert codes == [200] * CLICKS

    # Exactly one decision.
    with slack_wiring.session_factory() as s:
        approval = s.get(Approval, 1)
        assert approval.status == "approved"
        assert [st.status for st in approval.steps] == ["approved"] and approval.steps[0].decided_by_id is not None
        assert s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "approval.approve")) == 1
        new_rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.id > outbox_before)))
    # One message to the requester (and the approver's card updated once); nothing else.
    emma, sam = _user_id(slack_wiring, "emma"), _user_id(slack_wiring, "sam")
    assert sorted((r.kind, r.op, r.target_id) for r in new_rows) == [
        ("approval.decided", "send", emma), ("approval.request", "update", sam)]

    # What the 50 clickers saw (the ephemeral answers posted to each click's response_url).
    answers = slack.responses()[before:]
    assert len(answers) == CLICKS
    winners = [a for a in answers if a.get("replace_original")]
    assert len(winners) == 1 and "approved" in blocks_text(winners[0]).lower()
    polite = [a for a in answers if not a.get("replace_original")]
    assert len(polite) == CLICKS - 1
    for answer in polite:
        text = blocks_text(answer)
        assert answer["response_type"] == "ephemeral" and buttons(answer) == []
        assert "A-1" in text and "nothing changed" in text, text
        assert "already approved by" in text or "decided by someone else at this very moment" in text, text
        assert "Something went wrong" not in text


def _user_id(w, key: str) -> int:  # type: ignore[no-untyped-def]
    with w.session_factory() as s:
        return user_by_key(s, key).id
