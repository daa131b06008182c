"""/metrics, scraped through the app: what an operator's Prometheus sees while Slack is down and after.

Notifications to Slack users pile up while the fake Slack answers 503 to every chat.postMessage (the
real deliverer, scheduler.delivery.deliver_due, through the real SlackMessenger); the scrape shows the
backlog growing and the failures counted; when Slack is back the same deliverer drains it and the scrape
shows nothing left, every delivery counted. The numbers come from the database (one scrape = a handful
of aggregate queries, counted below), so any web process would report the same.
"""
from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.console_messenger import ConsoleMessenger
from bot.ops import DatabaseCollector
from bot.slack.app import slack_messenger
from cards.model import Card, Section
from crm_core.db import read_only_engine
from crm_core.models import InboxItem, OutboxMessage
from crm_core.outbox import enqueue
from crm_core.services.users import create_chat_user
from scheduler.delivery import deliver_due
from scheduler.service import SchedulerService
from scheduler.leader import AlwaysLeader


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def undelivered(samples, platform: str) -> float:
    return sum(value(samples, "chatcrm_outbox_messages", platform=platform, state=s)
               for s in ("due", "waiting", "sending"))


def notify(w, clock, users, start: int) -> None:
    with w.session_factory.begin() as s:
        for n, uid in enumerate(users, start=start):
            card = Card(title=f"Notice {n}", locale="en", kind="info", blocks=(Section("hello"),))
            enqueue(s, dedupe_key=f"metrics-test:{n}", kind="notice", target_type="user", target_id=uid,
                    payload=card.to_dict(), now=clock.now())


def test_backlog_grows_while_slack_is_down_and_drains_after(slack_wiring, slack_api, fake_slack, clock):
    w = slack_wiring
    with w.session_factory.begin() as s:
        users = [create_chat_user(s, platform="slack", external_id=f"U7{n:04d}", name=f"Person {n}",
                                  now=clock.now(), locale="en").id for n in range(3)]
    for n in range(3):
        fake_slack.add_user(f"U7{n:04d}", f"Person {n}")
    messengers = {"slack": slack_messenger(w), "console": ConsoleMessenger(w.session_factory, clock)}

    before = scrape(slack_api)
    assert value(before, "chatcrm_database_up") == 1
    assert undelivered(before, "slack") == 0

    # Slack goes down; three notifications are written: all due.
    fake_slack.fail("chat.postMessage", "service_unavailable", status=503, times=10_000)
    notify(w, clock, users, 1)
    m = scrape(slack_api)
    assert value(m, "chatcrm_outbox_messages", platform="slack", state="due") == 3
    assert value(m, "chatcrm_outbox_oldest_undelivered_seconds", platform="slack") == 0

    # The deliverer tries and fails: the rows back off (waiting), the failures are counted.
    deliver_due(w.session_factory, messengers, clock, w.config)
    clock.advance(minutes=1)
    notify(w, clock, users, 4)  # and more arrive while Slack is still down
    deliver_due(w.session_factory, messengers, clock, w.config)
    clock.advance(seconds=5)
    m = scrape(slack_api)
    assert undelivered(m, "slack") == 6  # the backlog grew
    assert value(m, "chatcrm_outbox_messages", platform="slack", state="waiting") >= 1
    failures = value(m, "chatcrm_delivery_failures_total", platform="slack")
    assert failures >= 2
    assert value(m, "chatcrm_deliveries_total", platform="slack") == 0
    assert value(m, "chatcrm_outbox_oldest_undelivered_seconds", platform="slack") >= 65

    # Slack is back: the same deliverer drains the backlog, and the scrape says so.
    fake_slack.recover("chat.postMessage")
    for _ in range(60):
        deliver_due(w.session_factory, messengers, clock, w.config)
        with w.session_factory() as s:
            nxt = s.scalar(select(func.min(OutboxMessage.next_attempt_at))
                           .where(OutboxMessage.status.in_(("pending", "failed", "sending"))))
        if nxt is None:
            break
        clock.set(max(nxt, clock.now() + timedelta(seconds=5)))
    m = scrape(slack_api)
    assert undelivered(m, "slack") == 0
    assert value(m, "chatcrm_outbox_messages", platform="slack", state="dead") == 0
    assert value(m, "chatcrm_deliveries_total", platform="slack") == 6
    assert value(m, "chatcrm_delivery_failures_total", platform="slack") == failures  # history, not reset
    assert len(fake_slack.calls_to("chat.postMessage")) >= 6


def test_a_scrape_is_a_handful_of_aggregate_queries_whatever_the_backlog(wiring, clock, assert_query_count):
    """Counted on the collector itself, away from the app's background threads (inbox recovery, workers)."""
    w = wiring
    collector = DatabaseCollector(read_only_engine(w.engine), clock)

    def collect() -> dict:
        out = {}
        for family in collector.collect():
            for s in family.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    with w.session_factory.begin() as s:
        users = [create_chat_user(s, platform="slack", external_id=f"U6{n:04d}", name=f"P {n}",
                                  now=clock.now(), locale="en").id for n in range(40)]
    notify(w, clock, users, 1)
    expected = 6 if w.engine.dialect.name == "postgresql" else 5  # + the leader lock on PostgreSQL
    with assert_query_count(expected):
        m = collect()
    assert value(m, "chatcrm_outbox_messages", platform="slack", state="due") == 40
    notify(w, clock, users, 100)
    with assert_query_count(expected):
        m = collect()
    assert value(m, "chatcrm_outbox_messages", platform="slack", state="due") == 80


def test_inbound_backlog_and_command_latency(slack_wiring, slack_api, slack, clock):
    w = slack_wiring
    with w.session_factory.begin() as s:
        for n in range(2):
            s.add(InboxItem(key=f"slack:cmd:T1:stuck{n}", platform="slack", kind="slack.command",
                            external_user="U01EMMA", payload={}, reply_to={}, received_at=clock.now(),
                            lease_until=clock.now() + timedelta(days=1)))  # still leased: recovery leaves them
    clock.advance(seconds=90)
    before = scrape(slack_api)
    assert value(before, "chatcrm_inbox_pending", platform="slack") == 2
    assert value(before, "chatcrm_inbox_oldest_pending_seconds", platform="slack") == 90
    count = value(before, "chatcrm_invocation_seconds_count", kind="command", platform="slack")

    assert slack.command("U01EMMA", "help").status_code == 200
    after = scrape(slack_api)
    assert value(after, "chatcrm_invocation_seconds_count", kind="command", platform="slack") == count + 1
    assert value(after, "chatcrm_invocation_seconds_bucket", kind="command", platform="slack", le="+Inf") >= count + 1


def test_last_run_of_each_scheduled_job(slack_wiring, slack_api, clock):
    w = slack_wiring
    service = SchedulerService(w.runner.uow_factory.with_clock(clock), AlwaysLeader())
    assert value(scrape(slack_api), "chatcrm_scheduler_job_last_success_timestamp_seconds", job="stale_deals") == 0
    service.run_job("stale_deals")
    first = clock.now().timestamp()
    clock.advance(minutes=1)
    service.run_job("lead_sla")
    m = scrape(slack_api)
    assert value(m, "chatcrm_scheduler_job_last_success_timestamp_seconds", job="stale_deals") == first
    assert value(m, "chatcrm_scheduler_job_last_success_timestamp_seconds", job="lead_sla") == first + 60
    clock.advance(minutes=1)
    service.run_job("stale_deals")
    m = scrape(slack_api)
    assert value(m, "chatcrm_scheduler_job_last_success_timestamp_seconds", job="stale_deals") == first + 120


def test_the_scheduler_leader_is_visible_on_postgresql(slack_wiring, slack_api):
    import pytest

    from scheduler.leader import AdvisoryLockLeader
    w = slack_wiring
    if w.engine.dialect.name != "postgresql":
        pytest.skip("the leader lock exists on PostgreSQL only (SQLite: one process, it leads)")
    assert value(scrape(slack_api), "chatcrm_scheduler_leader", pid="") == 0
    leader = AdvisoryLockLeader(w.engine)
    try:
        assert leader.is_leader()
        assert value(scrape(slack_api), "chatcrm_scheduler_leader", pid=str(leader.backend_pid)) == 1
    finally:
        leader.release()
    assert value(scrape(slack_api), "chatcrm_scheduler_leader", pid="") == 0
