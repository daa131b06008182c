"""The deliverer works a batch at a time: two transactions and a fixed number of statements per pass, whatever
the number of messages in it, through the real Slack messenger (tagged posts, "unsure" records committed
before any post) against a local fake Slack Web API that records what it got."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from bot.slack.app import slack_messenger
from crm_core.models import OutboxMessage, SentMessage
from scheduler.delivery import deliver_due
from tests.reliability.chaos import ChaosSlack
from tests.reliability.test_slack_outage import _notices


def _pass(w: Any, clock: Any, assert_query_count: Any) -> tuple[int, int, Any, list[str]]:
    """One deliverer pass: (transactions begun, statements, stats)."""
    begun: list[int] = []

    def on_begin(conn: Any) -> None:
        begun.append(1)

    engine = w.session_factory.kw["bind"]
    event.listen(engine, "begin", on_begin)
    try:
        with assert_query_count() as counter:
            stats = deliver_due(w.session_factory, {"slack": slack_messenger(w)}, clock, w.config, limit=100)
    finally:
        event.remove(engine, "begin", on_begin)
    return len(begun), len(counter.statements), stats, counter.statements


def test_a_pass_of_3_messages_and_a_pass_of_30_cost_two_transactions_and_the_same_statements(
        slack_wiring, fake_slack: ChaosSlack, clock, assert_query_count):
    _notices(slack_wiring, clock, fake_slack, 3, prefix="U6")
    small_tx, small_statements, small, _ = _pass(slack_wiring, clock, assert_query_count)
    assert small.sent == small.deliveries == 3
    _notices(slack_wiring, clock, fake_slack, 30, prefix="U7")
    large_tx, large_statements, large, large_list = _pass(slack_wiring, clock, assert_query_count)
    assert large.sent == large.deliveries == 27  # three of the 30 share a dedupe key with the first pass
    assert small_tx == large_tx == 2
    assert large_statements == small_statements <= 16, "\n".join(large_list)
    # every post carried its outbox id, and each was recorded once, confirmed (no "unsure" left)
    with slack_wiring.session_factory() as s:
        records = list(s.scalars(select(SentMessage)))
        assert len(records) == 30 and not any((r.extra or {}).get("unsure") for r in records)
        assert set(s.scalars(select(OutboxMessage.status))) == {"sent"}
    posted = [m for m in fake_slack.messages.values() if m.get("metadata")]
    assert len(posted) == 30 and len({m["metadata"]["event_payload"]["outbox_id"] for m in posted}) == 30
