"""Tasks, reminders, dates and discounts over Slack: signed slash commands and clicks through create_app()
(Bolt's real signature check), the assignee's card and the reminder through the outbox and the real
deliverer into the fake Slack API. T0 is Monday 2026-03-02; Emma is in the company's zone (Shanghai)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from crm_core.models import Quote, Task
from scheduler.jobs.reminders import run_reminders
from tests.bot.slack.harness import blocks_text, buttons
from tests.bot.slack.test_full_day import deliver_all


def test_a_task_for_a_colleague_reaches_them_with_done_and_open(slack, fake_slack, slack_wiring, clock) -> None:  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", "deal new Acme amount=5000")
    r = slack.command("U01EMMA", 'task new D-1 "send the proposal" due=next friday <@U01TOM|tom>')
    assert r.status_code == 200  # inline or through response_url: last_response has it
    reply = blocks_text(slack.last_response())
    assert "Task #2 created for Tom Baker, due 2026-03-13 (Fri)." in reply and "Tom Baker has been told." in reply

    deliver_all(slack_wiring, clock)
    card = fake_slack.dm_messages("U01TOM")[-1]
    assert "Emma Jones gave you a task: send the proposal — due 2026-03-13 (Fri)." in blocks_text(card)
    assert buttons(card) == [("Done", "task.done", "2"), ("Open", "task.open", "2")]

    slack.click("U01TOM", "task.done", "2", channel="D01TOM", ephemeral=False)
    assert "Task #2 done." in blocks_text(slack.last_response())
    assert ("Reopen", "task.reopen", "2") in buttons(slack.last_response())
    with slack_wiring.session_factory() as s:
        assert s.get(Task, 2).done_at is not None
    slack.click("U01TOM", "task.reopen", "2", channel="D01TOM", ephemeral=False)
    assert "Task #2 is open again." in blocks_text(slack.last_response())


def test_a_click_on_someone_elses_task_changes_nothing(slack, slack_wiring) -> None:  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", 'task new "call the bank"')
    slack.click("U01TOM", "task.done", "1")
    assert "not allowed" in blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        assert s.get(Task, 1).done_at is None


def test_remind_delivers_at_ten_through_the_outbox(slack, fake_slack, slack_wiring, clock) -> None:  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", "deal new Acme amount=5000")
    slack.command("U01EMMA", "remind D-1 friday 10:00 call back")
    assert "I will remind you on 2026-03-06 (Fri) 10:00: call back" in blocks_text(slack.last_response())
    clock.set(datetime(2026, 3, 6, 1, 59, tzinfo=timezone.utc))  # 09:59 Shanghai
    assert run_reminders(uow=slack_wiring.uow(), clock=clock) == 0
    clock.set(datetime(2026, 3, 6, 2, 0, tzinfo=timezone.utc))
    assert run_reminders(uow=slack_wiring.uow(), clock=clock) == 1
    deliver_all(slack_wiring, clock)
    texts = [blocks_text(m) for m in fake_slack.dm_messages("U01EMMA")]
    assert sum("call back" in t and "Reminder" in t for t in texts) == 1


def test_dates_and_discounts_as_typed_in_slack(slack, slack_wiring) -> None:  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", "deal new Acme amount=5000 close=end of month")
    assert "Close date 2026-03-31 (Tue)" in blocks_text(slack.last_response())
    slack.command("U01EMMA", "quote D-1 Professional x10 85折")
    assert "15% discount needs approval" in blocks_text(slack.last_response())
    with slack_wiring.session_factory() as s:
        quote = s.scalars(select(Quote)).one()
        assert quote.discount_pct == 15 and [ln.sku for ln in quote.lines] == ["PRO"]
