"""Notification routes over Slack: a configured route posts a won deal above 1M to the team channel through the
outbox (in the route's language, once however often the deliverer runs), a deal below does not; a manager's
`notify won>1000000 #wins` — Slack sends the channel as `<#C…|wins>` — stores a route and the next won deal is
posted there; a rep is refused; a condition nobody can read gets a suggestion and stores nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm_core.config import Config, Route, load_config
from crm_core.events import DealClosed
from crm_core.models import NotificationRoute, OutboxMessage
from scheduler.delivery import deliver_due
from scheduler.jobs.tickets import run_ticket_sla
from tests.bot.slack.fake_slack import BOT_USER, Channel
from tests.bot.slack.harness import blocks_text
from bot.slack.app import slack_messenger
from tests.bot.slack.test_full_day import deliver_all


@pytest.fixture
def config() -> Config:
    base = load_config(None)
    return base.model_copy(update={"routes": [
        Route(event="deal.won", min_amount=1000000, slack_channel="C0WINS", locale="en"),
        Route(event="ticket.sla_breach", priority="urgent", slack_channel="C0SUP"),
        Route(event="lead.pooled", slack_channel="C0POOLED", locale="en"),
    ]})


@pytest.fixture
def channels(fake_slack):  # type: ignore[no-untyped-def]
    for cid, name in (("C0WINS", "wins"), ("C0BIG", "big-wins"), ("C0SUP", "support"), ("C0POOLED", "pooled")):
        fake_slack.channels[cid] = Channel(id=cid, name=name, is_private=False, creator="U01SAM",
                                           members={BOT_USER, "U01SAM"})
    return fake_slack


def _win(slack, amount: int, n: int) -> None:  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", f"deal new Acme{n} amount={amount}")
    slack.command("U01EMMA", f"won D-{n}")
    assert f"D-{n}" in blocks_text(slack.last_response())


def _route_rows(w) -> int:  # type: ignore[no-untyped-def]
    with w.session_factory() as s:
        return int(s.scalar(select(func.count(NotificationRoute.id))) or 0)


def test_a_won_deal_above_the_threshold_is_posted_to_the_configured_channel_once_in_its_language(
        slack, channels, slack_wiring, clock):  # type: ignore[no-untyped-def]
    _win(slack, 2_000_000, 1)
    _win(slack, 500_000, 2)  # below the route's min_amount: not posted
    deliver_all(slack_wiring, clock)
    [post] = channels.channel_messages("C0WINS")
    text = blocks_text(post)
    assert "Deal won" in text and "Emma Jones won D-1" in text and "¥2,000,000.00" in text  # the route's locale: en
    assert "D-2" not in text
    # the deliverer running again (a retried flush) posts nothing more
    messengers = {"slack": slack_messenger(slack_wiring)}
    deliver_due(slack_wiring.session_factory, messengers, clock, slack_wiring.config)
    assert len(channels.channel_messages("C0WINS")) == 1
    # the same fact told again (a retried action, a job run twice) writes no second row
    with slack_wiring.runner.uow() as uow:
        uow.emit(DealClosed(deal_id=1, won=True, actor_id=None))
    with slack_wiring.session_factory() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.target_type == "channel")).all()
    assert [(r.kind, r.status, r.record_id) for r in rows] == [("route.post", "sent", 1)]
    assert rows[0].payload["to"] == {"platform": "slack", "channel": "C0WINS", "team": None}


def test_a_manager_routes_won_deals_to_a_channel_from_a_slash_command(
        slack, channels, slack_wiring, clock):  # type: ignore[no-untyped-def]
    slack.command("U01SAM", "notify won>1000000 <#C0BIG|big-wins>")
    reply = blocks_text(slack.last_response())
    assert "Route 1 saved" in reply and "won &gt;1000000 → #C0BIG" in reply  # mrkdwn, escaped once
    slack.command("U01SAM", "notify")
    listed = blocks_text(slack.last_response())
    assert "1. won &gt;1000000 → #C0BIG" in listed and "read-only" in listed and "#C0WINS" in listed and "breach priority=urgent → #C0SUP" in listed
    _win(slack, 1_500_000, 1)
    deliver_all(slack_wiring, clock)
    [post] = channels.channel_messages("C0BIG")
    assert "Emma Jones won D-1" in blocks_text(post)  # Sam writes English: his route posts in English
    assert len(channels.channel_messages("C0WINS")) == 1  # the configured route too, each once
    with slack_wiring.session_factory() as s:
        [row] = s.scalars(select(NotificationRoute)).all()
    assert (row.platform, row.team, row.channel, row.event) == ("slack", "T0001", "C0BIG", "deal.won")
    slack.command("U01SAM", "notify off 1")
    assert "Route 1 removed" in blocks_text(slack.last_response())
    assert _route_rows(slack_wiring) == 0


def test_a_chinese_manager_types_the_chinese_alias_and_an_amount_in_wan(
        slack, channels, slack_wiring, clock):  # type: ignore[no-untyped-def]
    slack.command("U01WANG", "通知 赢单>100万 #C0BIG")
    assert "路由 1 已保存" in blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        [row] = s.scalars(select(NotificationRoute)).all()
    assert row.min_amount == 1_000_000 and row.locale == "zh_CN"


def test_a_rep_is_refused_and_nothing_is_stored(slack, channels, slack_wiring):  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", "notify won>1000000 <#C0BIG|big-wins>")
    text = blocks_text(slack.last_response())
    assert "not allowed to send events to team channels (managers and admins only" in text
    assert _route_rows(slack_wiring) == 0


@pytest.mark.parametrize("typed, expected", [
    ("notify wonn>1000000 <#C0BIG|big-wins>", "did you mean “won”?"),
    ("notify won amout>5 <#C0BIG|big-wins>", "did you mean “amount”?"),
    ("notify won priority=urgent <#C0BIG|big-wins>", "won takes only &gt;amount, region="),
    ("notify won>1000000", "say where to post it"),
    ("notify won>1000000 #wins", "type # and pick it from the list"),
])
def test_a_condition_nobody_can_read_gets_a_suggestion_and_stores_nothing(
        slack, channels, slack_wiring, typed, expected):  # type: ignore[no-untyped-def]
    slack.command("U01SAM", typed)
    assert expected in blocks_text(slack.last_response())
    assert _route_rows(slack_wiring) == 0


def test_an_urgent_tickets_breach_and_a_released_lead_reach_their_channels_once(
        slack, channels, slack_wiring, clock):  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", "ticket new Acme urgent VPN down")
    slack.command("U01EMMA", "ticket new Acme low Typo on the invoice")
    clock.advance(hours=2)  # urgent: respond within 60 min; low: 24 h
    run_ticket_sla(uow=slack_wiring.runner.uow(), clock=clock)
    run_ticket_sla(uow=slack_wiring.runner.uow(), clock=clock)  # the job running twice posts once
    slack.command("U01EMMA", 'lead add "Ann Lee" company=Acme email=ann@acme.com')
    slack.command("U01EMMA", "release L-1 wrong region for me")
    deliver_all(slack_wiring, clock)
    [breach] = channels.channel_messages("C0SUP")
    text = blocks_text(breach)
    assert "工单超时" in text and "T-1 · VPN down" in text and "首次响应" in text  # company locale: zh_CN
    [pooled] = channels.channel_messages("C0POOLED")
    assert "L-1 · Ann Lee (Acme) is in the pool: wrong region for me" in blocks_text(pooled)


def test_a_route_made_in_another_workspace_does_not_hear_of_this_workspaces_deals(
        slack, channels, slack_wiring, clock, user_id):  # type: ignore[no-untyped-def]
    slack.command("U01SAM", "notify won <#C0BIG|big-wins>")  # made in T0001: Emma's deals reach it
    with slack_wiring.session_factory.begin() as s:
        s.add(NotificationRoute(owner_id=user_id("sam"), event="deal.won", platform="slack", team="T0002",
                                channel="C0OTHER", created_at=clock.now()))
    _win(slack, 2_000_000, 1)
    with slack_wiring.session_factory() as s:
        targets = sorted(r.payload["to"]["channel"] for r in s.scalars(
            select(OutboxMessage).where(OutboxMessage.target_type == "channel")))
    assert targets == ["C0BIG", "C0WINS"]
