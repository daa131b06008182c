"""Done-when of the Slack issue: a sales day driven entirely over Slack.

Lead in → convert → advance into the swarm stage (channel created, people invited, card pinned) → a
quote at 25 % off → the manager, then the director approve from their DM cards (cards updated in place,
requester told, swarm told) → won → summary posted and the channel archived. Everything other people
see goes through the outbox and the real deliverer (scheduler.delivery.deliver_due) into SlackMessenger,
against the fake Slack API.
"""
from __future__ import annotations

from sqlalchemy import select

from bot.console_messenger import ConsoleMessenger
from bot.slack.app import slack_messenger
from crm_core.models import Deal, OutboxMessage, Swarm
from scheduler.delivery import deliver_due
from tests.bot.slack.harness import blocks_text, buttons, date, number, select as chosen, text


def deliver_all(w, clock, rounds: int = 12) -> None:
    messengers = {"slack": slack_messenger(w), "console": ConsoleMessenger(w.session_factory, clock)}
    for _ in range(rounds):
        stats = deliver_due(w.session_factory, messengers, clock, w.config)
        clock.advance(seconds=5)  # Slack pacing: one message a second per channel
        if stats.claimed == 0:
            break
    with w.session_factory() as s:
        stuck = s.scalars(select(OutboxMessage).where(OutboxMessage.status.notin_(("sent", "skipped")))).all()
        assert [(r.id, r.kind, r.status, r.last_error) for r in stuck] == []


def dm_card(fake, user: str) -> dict:
    return fake.dm_messages(user)[-1]


def test_a_full_sales_day_over_slack(slack, fake_slack, slack_wiring, clock):
    w = slack_wiring
    # Morning: a lead comes in and Emma converts it from its card.
    slack.command("U01EMMA", 'lead add "Ann Lee" company="Acme Expansion" email=ann@acme.com')
    assert ("Convert", "lead.convert", "L-1") in buttons(slack.last_response())
    slack.click("U01EMMA", "lead.convert", "L-1")
    assert "L-1 converted" in blocks_text(slack.last_response())
    slack.command("U01EMMA", "deal set D-1 amount=250000")

    # Advance: discovery directly (the contact came with the lead), then proposal through the modal.
    slack.click("U01EMMA", "deal.advance", "D-1")
    assert "Moved from Qualify to Discovery" in blocks_text(slack.last_response())
    slack.click("U01EMMA", "deal.advance", "D-1")
    view = slack.opened_view()
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["field:close_date", "field:budget"]
    slack.submit("U01EMMA", view, {"field:close_date": date("2027-03-31"), "field:budget": text("approved")})
    assert "Moved from Discovery to Proposal" in blocks_text(slack.last_response())

    # The deliverer creates the swarm channel: named from the deal, people invited, topic set, card pinned.
    deliver_all(w, clock)
    channel = fake_slack.channel_named("deal-1-acme-expansion")
    assert channel.members >= {"U01EMMA", "U01SAM", "U01LAW"}  # owner, manager, legal-tagged
    assert channel.topic == "方案报价 · ¥250,000.00 · 2027-03-31"  # a shared channel: the company language
    first = fake_slack.channel_messages(channel.id)[0]
    assert channel.pins == [first["ts"]] and "商机 D-1 · Acme Expansion" in blocks_text(first)
    with w.session_factory() as s:
        assert s.scalars(select(Swarm.channel)).all() == [channel.id]

    # A quote at 25 % off from the deal card's button.
    slack.click("U01EMMA", "deal.quote", "D-1")
    slack.submit("U01EMMA", slack.opened_view(),
                 {"product": chosen("PRO"), "quantity": number("100"), "discount": number("25")})
    assert "A-1" in blocks_text(slack.last_response())
    deliver_all(w, clock)

    # Sam (manager) gets a DM card with Approve / Reject and approves from it.
    sam_card = dm_card(fake_slack, "U01SAM")
    assert ("Approve", "approval.approve", "A-1") in buttons(sam_card)
    slack.click("U01SAM", "approval.approve", "A-1", channel="D01SAM", message_ts=sam_card["ts"], ephemeral=False)
    answer = slack.last_response()
    assert answer["replace_original"] is True and buttons(answer) == []
    # A second click, and a click by somebody else, change nothing and say why, ephemerally.
    slack.click("U01SAM", "approval.approve", "A-1", channel="D01SAM", message_ts=sam_card["ts"], ephemeral=False)
    again = slack.last_response()
    assert again["response_type"] == "ephemeral" and again["replace_original"] is False
    assert "already approved level 1 of A-1" in blocks_text(again)
    slack.click("U01TOM", "approval.approve", "A-1")
    assert "waits for 陈静" in blocks_text(slack.last_response())
    deliver_all(w, clock)

    sam_after = fake_slack.messages[("D01SAM", sam_card["ts"])]
    assert sam_after.get("edited") and buttons(sam_after) == [] and "Approved by Sam Taylor" in blocks_text(sam_after)
    assert any("level 1 (manager) approved by Sam Taylor" in blocks_text(m) for m in fake_slack.dm_messages("U01EMMA"))
    swarm_text = "\n".join(blocks_text(m) for m in fake_slack.channel_messages(channel.id))
    assert "A-1：第 1 级（经理）已由 Sam Taylor 批准" in swarm_text  # the channel speaks the company language

    # Chen (director) approves level 2 from her DM card: the quote is approved.
    chen_card = dm_card(fake_slack, "U01CHEN")
    assert ("批准", "approval.approve", "A-1") in buttons(chen_card)
    slack.click("U01CHEN", "approval.approve", "A-1", channel="D01CHEN", message_ts=chen_card["ts"], ephemeral=False)
    deliver_all(w, clock)
    chen_after = fake_slack.messages[("D01CHEN", chen_card["ts"])]
    assert chen_after.get("edited") and buttons(chen_after) == []
    assert any("Q-1 is approved" in blocks_text(m) for m in fake_slack.dm_messages("U01EMMA"))
    swarm_text = "\n".join(blocks_text(m) for m in fake_slack.channel_messages(channel.id))
    assert "陈静" in swarm_text

    # Won: a summary goes into the channel, then the channel is archived.
    slack.command("U01EMMA", "won D-1")
    assert "Closed won" in blocks_text(slack.last_response())
    deliver_all(w, clock)
    last = fake_slack.channel_messages(channel.id)[-1]
    assert "D-1 · Acme Expansion：赢单" in blocks_text(last)
    assert channel.archived
    assert fake_slack.methods().index("conversations.archive") > max(
        i for i, m in enumerate(fake_slack.methods()) if m == "chat.postMessage")
    with w.session_factory() as s:
        assert s.get(Deal, 1).status == "won"
        assert s.scalars(select(Swarm.archived_at)).one() is not None
