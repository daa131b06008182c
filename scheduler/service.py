"""`chatcrm scheduler`: APScheduler 3 firing the jobs of scheduler/jobs, only on the leader.

Every process registers the same job table; each tick first asks the leader lock (scheduler.leader)
and does nothing on a standby. Jobs are idempotent scans, so a tick that a takeover repeats, or a
job that runs late, sends nothing twice.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from crm_core.company_time import company_tz
from crm_core.config import Config
from crm_core.models import SchedulerMark
from crm_core.uow import UnitOfWorkFactory
from scheduler.jobs.deals import run_stale_deals
from scheduler.jobs.digests import run_digests
from scheduler.jobs.housekeeping import run_housekeeping
from scheduler.jobs.ladders import run_ladders
from scheduler.jobs.leads import run_lead_sla
from scheduler.jobs.renewals import run_renewals
from scheduler.jobs.tasks import run_tasks_due
from scheduler.jobs.tickets import run_ticket_sla
from scheduler.leader import Leader

log = logging.getLogger("chatcrm.scheduler")

JobFn = Callable[..., int]


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: JobFn
    trigger: BaseTrigger
    misfire_grace_time: int  # seconds a late tick may still run (then coalesced into one run)


def job_specs(config: Config) -> list[JobSpec]:
    """The job table. SLA scans every 30 s and the other scans every minute, so a nudge fires within
    60 s of its due time; the morning jobs tick every minute from digest.daily_at's hour (company
    time) and act once the minute has come (so a late or restarted scheduler still sends them)."""
    tz = company_tz(config)
    hour = time.fromisoformat(config.digest.daily_at).hour
    return [
        JobSpec("lead_sla", run_lead_sla, IntervalTrigger(seconds=30, timezone=tz), 30),
        JobSpec("ticket_sla", run_ticket_sla, IntervalTrigger(seconds=30, timezone=tz), 30),
        JobSpec("stale_deals", run_stale_deals, IntervalTrigger(minutes=1, timezone=tz), 60),
        JobSpec("renewals", run_renewals, IntervalTrigger(minutes=1, timezone=tz), 60),
        JobSpec("tasks_due", run_tasks_due, CronTrigger(hour=f"{hour}-23", minute="*", timezone=tz), 60),
        JobSpec("digests", run_digests, CronTrigger(hour=f"{hour}-23", minute="*", timezone=tz), 60),
        JobSpec("housekeeping", run_housekeeping, IntervalTrigger(minutes=10, timezone=tz), 600),
        JobSpec("ladders", run_ladders, IntervalTrigger(minutes=5, timezone=tz), 300),
    ]


class SchedulerService:
    def __init__(self, uow_factory: UnitOfWorkFactory, leader: Leader) -> None:
        self.uow_factory = uow_factory  # the process's transaction owner: each job's events reach the outbox
        self.config = uow_factory.config
        self.clock = uow_factory.clock
        self.leader = leader
        self.specs = {spec.id: spec for spec in job_specs(self.config)}
        self.scheduler: BaseScheduler | None = None

    def run_job(self, job_id: str) -> int | None:
        """One tick of one job: None when this process is not the leader (or the job failed)."""
        if not self.leader.is_leader():
            return None
        spec = self.specs[job_id]
        try:
            produced = spec.func(uow=self.uow_factory(), clock=self.clock)
        except Exception:  # noqa: BLE001 - a failing job is logged; the next tick tries again
            log.exception("job %s failed", job_id)
            return None
        if produced:
            log.info("job %s: %d", job_id, produced)
        self._record_run(job_id)
        return produced

    def _record_run(self, job_id: str) -> None:
        """The job's last successful run, for /metrics (chatcrm_scheduler_job_last_success_timestamp_seconds)."""
        key = f"job-run:{job_id}"
        try:
            with self.uow_factory() as uow:
                mark = uow.session.get(SchedulerMark, key)
                if mark is None:
                    uow.session.add(SchedulerMark(key=key, at=self.clock.now()))
                else:
                    mark.at = self.clock.now()
        except Exception:  # noqa: BLE001 - a missed timestamp must not fail the job (a takeover may race)
            log.warning("job %s: could not record its run time", job_id, exc_info=True)

    def build(self, scheduler: BaseScheduler | None = None) -> BaseScheduler:
        """Register the job table on an APScheduler scheduler (a BackgroundScheduler by default)."""
        sched = scheduler or BackgroundScheduler(timezone=company_tz(self.config))
        for spec in self.specs.values():
            # Interval scans also run once right at start-up (a restarted scheduler catches up at once).
            first = {"next_run_time": self.clock.now()} if isinstance(spec.trigger, IntervalTrigger) else {}
            sched.add_job(self.run_job, trigger=spec.trigger, args=[spec.id], id=spec.id, name=spec.func.__name__,
                          replace_existing=True, coalesce=True, max_instances=1,
                          misfire_grace_time=spec.misfire_grace_time, **first)
        self.scheduler = sched
        return sched

    def start(self) -> BaseScheduler:
        sched = self.scheduler or self.build()
        sched.start()
        log.info("scheduler started with jobs: %s", ", ".join(self.specs))
        return sched

    def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.leader.release()
