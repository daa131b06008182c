"""📌 in a deal's swarm channel logs the message to the deal — through signed `reaction_added` events shaped
as Slack sends them (the event carries the channel and ts, not the text): a second person's 📌 and a retried
delivery of the same event leave one activity, with the author and a link back."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from crm_core.models import Activity, ProcessedInvocation, Swarm, User
from tests.bot.slack.fake_slack import BOT_USER, Channel
from tests.bot.slack.harness import signed_headers
from tests.bot.slack.test_full_day import deliver_all

TS = "1700000100.000200"


def reaction(user: str, ts: str = TS, reaction: str = "pushpin") -> dict:  # type: ignore[type-arg]
    return {"type": "reaction_added", "user": user, "reaction": reaction, "item_user": "U01LI",
            "item": {"type": "message", "channel": "C0SWARM", "ts": ts}, "event_ts": "1700000200.000300"}


def swarm_with_a_message(slack, fake_slack, slack_wiring) -> None:  # type: ignore[no-untyped-def]
    """D-1's swarm channel C0SWARM, with 李雷's message at TS."""
    slack.command("U01LI", "deal new Globex amount=300000")
    with slack_wiring.session_factory.begin() as s:  # the deal's swarm channel, as the deliverer records it
        s.add(Swarm(record_type="deal", record_id=1, platform="slack", channel="C0SWARM", name="deal-d-1-globex",
                    created_at=datetime(2026, 3, 2, tzinfo=timezone.utc)))
    fake_slack.channels["C0SWARM"] = Channel(id="C0SWARM", name="deal-d-1-globex", is_private=True, creator=BOT_USER,
                                             members={BOT_USER, "U01LI", "U01WANG"})
    fake_slack.messages[("C0SWARM", TS)] = {"type": "message", "channel": "C0SWARM", "ts": TS, "user": "U01LI",
                                            "text": "Customer agreed: PO by Friday &amp; legal review next week"}
    fake_slack.messages[("C0SWARM", "1700000050.000100")] = {"type": "message", "channel": "C0SWARM",
                                                             "ts": "1700000050.000100", "user": "U01WANG",
                                                             "text": "an earlier message"}


def test_a_pinned_message_is_logged_once(slack, fake_slack, slack_wiring, clock):  # type: ignore[no-untyped-def]
    swarm_with_a_message(slack, fake_slack, slack_wiring)
    assert slack.event(reaction("U01WANG"), event_id="EvPIN1").status_code == 200
    assert slack.event(reaction("U01WANG"), event_id="EvPIN1", retry_num=1).status_code == 200  # Slack's retry
    assert slack.event(reaction("U01LI"), event_id="EvPIN2").status_code == 200  # a second person pins it too
    assert slack.event(reaction("U01LI", reaction="thumbsup"), event_id="EvPIN3").status_code == 200
    with slack_wiring.session_factory() as s:
        [activity] = s.scalars(select(Activity).where(Activity.deal_id == 1)).all()
    assert activity.text.startswith("📌 李雷: Customer agreed: PO by Friday & legal review next week")
    assert "https://slack.com/archives/C0SWARM/p1700000100000200" in activity.text
    deliver_all(slack_wiring, clock)
    lines = [m for m in fake_slack.channel_messages("C0SWARM") if m.get("user") == BOT_USER]
    assert len(lines) == 1 and "已记录到 D-1" in lines[0]["text"]


def test_a_pin_outside_a_swarm_channel_logs_nothing(slack, fake_slack, slack_wiring):  # type: ignore[no-untyped-def]
    slack.command("U01LI", "deal new Globex amount=300000")
    fake_slack.channels["C0OTHER"] = Channel(id="C0OTHER", name="random", is_private=False, creator="U01LI",
                                             members={BOT_USER, "U01LI"})
    fake_slack.messages[("C0OTHER", TS)] = {"type": "message", "channel": "C0OTHER", "ts": TS, "user": "U01LI",
                                            "text": "lunch?"}
    event = reaction("U0PASSER")  # somebody who never used the CRM pins a message in #random
    event["item"]["channel"] = "C0OTHER"
    with slack_wiring.session_factory() as s:
        users_before = s.scalar(select(func.count()).select_from(User))
        claims_before = s.scalar(select(func.count()).select_from(ProcessedInvocation))
    assert slack.event(event, event_id="EvELSEWHERE").status_code == 200
    with slack_wiring.session_factory() as s:
        assert s.scalars(select(Activity)).all() == []
        # nothing was asked of Slack for it (history is rate-limited) and nobody was made a CRM user
        assert s.scalar(select(func.count()).select_from(User)) == users_before
        assert s.scalar(select(func.count()).select_from(ProcessedInvocation)) == claims_before
    assert fake_slack.calls_to("conversations.history") == []
    assert fake_slack.calls_to("users.info") == []


def test_the_closing_summary_carries_what_was_logged_and_stays_on_the_deal(slack, fake_slack, slack_wiring, clock):  # type: ignore[no-untyped-def]
    test_a_pinned_message_is_logged_once(slack, fake_slack, slack_wiring, clock)
    slack.command("U01LI", "won D-1")
    deliver_all(slack_wiring, clock)
    summary = [m for m in fake_slack.channel_messages("C0SWARM") if m.get("user") == BOT_USER][-1]
    text = str(summary["blocks"])
    assert "过程记录" in text and "PO by Friday" in text  # posted before the channel is archived
    assert fake_slack.channels["C0SWARM"].archived
    with slack_wiring.session_factory() as s:
        notes = [a.text for a in s.scalars(select(Activity).where(Activity.deal_id == 1).order_by(Activity.id))]
    assert len(notes) == 2 and "PO by Friday" in notes[1]  # the summary, kept with the deal


def test_the_same_signed_pin_sent_twice_logs_it_once(slack, fake_slack, slack_wiring):  # type: ignore[no-untyped-def]
    """A 📌's signature is not claimed before its ack (bot/slack/replay.py): its event_id is, before it does
    anything. The exact same signed callback, sent again, is acked and does nothing a second time."""
    swarm_with_a_message(slack, fake_slack, slack_wiring)
    body = slack.event_body(reaction("U01WANG"), event_id="EvPINTWICE")
    headers = signed_headers(body, "application/json")
    sent = [slack.client.post("/slack/events", content=body.encode(), headers=headers) for _ in range(2)]
    assert [r.status_code for r in sent] == [200, 200]
    with slack_wiring.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Activity).where(Activity.deal_id == 1)) == 1
    assert len(fake_slack.calls_to("conversations.history")) == 1  # the second asked Slack for nothing
