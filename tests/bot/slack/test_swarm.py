"""`/crm swarm`, the Open swarm button, and what a deal's swarm channel hears (stage, activity, close)."""
from __future__ import annotations

from sqlalchemy import select

from crm_core.models import OutboxMessage
from tests.bot.slack.harness import blocks_text
from tests.bot.slack.test_full_day import deliver_all


def _small_deal(slack):
    slack.command("U01EMMA", "deal new Globex amount=5000 close=2027-01-31")
    slack.command("U01EMMA", "deal set D-1 contact=Bob")


def test_swarm_command_asks_for_the_channel_once_and_then_shows_it(slack, fake_slack, slack_wiring, clock):
    _small_deal(slack)  # below swarm.min_amount: no channel on its own
    slack.command("U01EMMA", "swarm D-1")
    assert "Creating the swarm channel for D-1" in blocks_text(slack.last_response())
    slack.click("U01EMMA", "deal.swarm", "D-1")
    assert "being created" in blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        creates = s.scalars(select(OutboxMessage).where(OutboxMessage.op == "swarm.create")).all()
    assert len(creates) == 1
    deliver_all(slack_wiring, clock)
    assert fake_slack.channel_named("deal-1-globex")
    slack.command("U01EMMA", "协作群 D-1")
    assert "D-1 already has a swarm channel" in blocks_text(slack.last_response())


def test_the_channel_hears_stage_changes_and_activities_in_one_line_each(slack, fake_slack, slack_wiring, clock):
    _small_deal(slack)
    slack.command("U01EMMA", "swarm D-1")
    deliver_all(slack_wiring, clock)
    channel = fake_slack.channel_named("deal-1-globex")
    slack.command("U01EMMA", "advance D-1")
    slack.command("U01EMMA", 'log D-1 call Talked to the "CFO" & legal 👍')
    deliver_all(slack_wiring, clock)
    lines = [blocks_text(m) for m in fake_slack.channel_messages(channel.id)[1:]]
    assert lines == ["D-1 · Globex\n阶段：资格确认 → 需求调研（Emma Jones）",
                     'D-1 · Globex\nEmma Jones 记录了电话：Talked to the "CFO" &amp; legal 👍']


def test_a_lost_deal_posts_its_reason_and_archives_the_channel(slack, fake_slack, slack_wiring, clock):
    _small_deal(slack)
    slack.command("U01EMMA", "swarm D-1")
    deliver_all(slack_wiring, clock)
    slack.command("U01EMMA", 'lost D-1 reason="price too high"')
    deliver_all(slack_wiring, clock)
    channel = fake_slack.channel_named("deal-1-globex")
    summary = blocks_text(fake_slack.channel_messages(channel.id)[-1])
    assert "输单" in summary and "price too high" in summary
    assert channel.archived
    slack.command("U01EMMA", "swarm D-1")
    assert "is closed" in blocks_text(slack.last_response())


def test_without_archive_on_close_the_channel_stays(slack, fake_slack, slack_wiring, clock):
    slack_wiring.runner.uow_factory.config = slack_wiring.config.model_copy(
        update={"swarm": slack_wiring.config.swarm.model_copy(update={"archive_on_close": False})})
    _small_deal(slack)
    slack.command("U01EMMA", "swarm D-1")
    deliver_all(slack_wiring, clock)
    slack.command("U01EMMA", "won D-1")
    deliver_all(slack_wiring, clock)
    channel = fake_slack.channel_named("deal-1-globex")
    assert not channel.archived and "本频道即将归档" not in blocks_text(fake_slack.channel_messages(channel.id)[-1])


def test_deals_without_a_swarm_write_no_swarm_rows(slack, slack_wiring):
    _small_deal(slack)
    slack.command("U01EMMA", "advance D-1")
    slack.command("U01EMMA", "log D-1 note hello")
    slack.command("U01EMMA", "won D-1")
    with slack_wiring.session_factory() as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.target_type == "swarm")).all() == []


def test_somebody_elses_deal_cannot_get_a_swarm(slack):
    _small_deal(slack)
    slack.command("U01TOM", "swarm D-1")
    assert "not allowed" in blocks_text(slack.last_response())


def test_a_ticket_gets_a_swarm_with_support_and_the_account_owner(slack, fake_slack, slack_wiring, clock):
    slack.command("U01EMMA", "deal new Initech amount=1000")  # Emma owns the account
    slack.command("U01TOM", "ticket new Initech urgent Printer on fire 🔥")
    assert "T-1" in blocks_text(slack.last_response())
    slack.command("U01TOM", "swarm T-1")
    assert "Creating the swarm channel for T-1" in blocks_text(slack.last_response())
    deliver_all(slack_wiring, clock)
    channel = fake_slack.channel_named("ticket-1-printer-on-fire")
    assert channel.members >= {"U01SUP", "U01WANG", "U01EMMA"}  # support owner, their manager, account owner
