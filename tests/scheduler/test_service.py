"""The scheduler process: its job table, and leadership (SQLite: always; PostgreSQL: tested in
test_postgres.py)."""
from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.processes import build_messengers, scheduler_service
from scheduler.leader import AdvisoryLockLeader, AlwaysLeader


def test_the_job_table(wiring) -> None:  # type: ignore[no-untyped-def]
    service = scheduler_service(wiring)
    sched = service.build(BackgroundScheduler(timezone="Asia/Shanghai"))  # not started: nothing runs
    jobs = {job.id: job for job in sched.get_jobs()}
    assert sorted(jobs) == ["digests", "housekeeping", "ladders", "lead_sla", "renewals", "stale_deals",
                            "tasks_due", "ticket_sla"]
    for job in jobs.values():
        assert (job.coalesce, job.max_instances) == (True, 1), job.id
        assert job.args == (job.id,)
    intervals = {i: j.trigger.interval for i, j in jobs.items() if isinstance(j.trigger, IntervalTrigger)}
    assert intervals == {"lead_sla": timedelta(seconds=30), "ticket_sla": timedelta(seconds=30),
                         "ladders": timedelta(minutes=5),
                         "stale_deals": timedelta(minutes=1), "renewals": timedelta(minutes=1),
                         "housekeeping": timedelta(minutes=10)}
    for job_id in ("digests", "tasks_due"):
        trigger = jobs[job_id].trigger
        assert isinstance(trigger, CronTrigger)
        fields = {f.name: str(f) for f in trigger.fields}
        assert (fields["hour"], fields["minute"], str(trigger.timezone)) == ("8-23", "*", "Asia/Shanghai")
    assert {i: j.misfire_grace_time for i, j in jobs.items()} == {
        "ladders": 300, "lead_sla": 30, "ticket_sla": 30, "stale_deals": 60, "renewals": 60, "tasks_due": 60, "digests": 60,
        "housekeeping": 600}


def test_a_single_scheduler_fires_its_jobs(wiring, console_bot, clock) -> None:  # type: ignore[no-untyped-def]
    service = scheduler_service(wiring)
    assert isinstance(service.leader, AlwaysLeader if wiring.engine.dialect.name == "sqlite" else AdvisoryLockLeader)
    try:
        console_bot("wang").exec("lead add 张三 company=某某科技 region=east")
        clock.advance(minutes=10)
        assert service.run_job("lead_sla") == 1
        assert service.run_job("lead_sla") == 0
    finally:
        service.leader.release()


def test_the_process_delivers_through_the_console_when_no_platform_is_configured(wiring) -> None:  # type: ignore[no-untyped-def]
    assert sorted(build_messengers(wiring)) == ["console"]
