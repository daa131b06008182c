"""Digest job benchmark: the whole daily digest run (scheduler.jobs.digests.run_digests: figures once per
run, sliced per recipient, every outbox row and snapshot written at once) against the per-recipient way
(team_ids + collect + card for each recipient, as the job did before: its figures are the floor's
"same work, one recipient at a time").

    python bench/digest.py                                  # SQLite, 200 reps, 100 000 deals
    python bench/digest.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench   # (its tables are dropped!)
    python bench/digest.py --deals 20000 --reps 50          # smaller

The data is bench/scan.py's digest organisation: an admin, a vp, 2 directors, 20 managers and N reps, the
deals, stage history, leads with first responses, SLA breaches and yesterday's snapshots. Each repeat
deletes the day's digest rows, snapshots and mark first, so every run sends every digest. Prints the
median of 3 runs, the SQL statements of one run (transaction control not counted) and the ratio.
Targets: ≤ 2 s and ≤ 60 statements for 200 reps over 100 000 deals. Not a test.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, select, text  # noqa: E402

from bench.scan import DIGEST_NOW, DigestFiller, StatementCounter, analyze, build_digest  # noqa: E402
from crm_core.clock import FrozenClock  # noqa: E402
from crm_core.config import load_config  # noqa: E402
from crm_core.db import make_engine, make_session_factory  # noqa: E402
from crm_core.migrate import upgrade  # noqa: E402
from crm_core.models import DigestSnapshot, OutboxMessage, SchedulerMark, User  # noqa: E402
from crm_core.uow import UnitOfWork  # noqa: E402
from scheduler.jobs.common import local_date  # noqa: E402
from scheduler.jobs.digests import DIGEST_ROLES, run_digests  # noqa: E402


def bench(label: str, url: str, deals: int, reps: int, repeats: int) -> tuple[str, int, float, int, float, int]:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    filler = DigestFiller(engine, load_config(None), reps)
    filler.fill(deals)
    analyze(engine)
    config, clock = filler.config, FrozenClock(DIGEST_NOW)
    factory = make_session_factory(engine)
    day = local_date(config, DIGEST_NOW).isoformat()
    with factory() as s:
        recipients = list(s.scalars(select(User.id).where(User.active.is_(True), User.role.in_(DIGEST_ROLES))))
    counter = StatementCounter(engine)

    def reset() -> None:
        with factory.begin() as s:
            s.execute(delete(OutboxMessage).where(OutboxMessage.kind.like("digest.%")))
            s.execute(delete(DigestSnapshot).where(DigestSnapshot.period_key == day))
            s.execute(delete(SchedulerMark).where(SchedulerMark.key.like("digests:%")))

    job_times, job_statements = [], 0
    for _ in range(repeats):
        reset()
        before, t0 = counter.count, time.perf_counter()
        sent = run_digests(uow=UnitOfWork(factory, config), clock=clock)
        job_times.append(time.perf_counter() - t0)
        job_statements = counter.count - before
        assert sent == len(recipients), (sent, len(recipients))
    old_times, old_statements = [], 0
    for _ in range(repeats):
        before, t0 = counter.count, time.perf_counter()
        for uid in recipients:
            with factory() as s:
                build_digest(s, config, uid, clock)
        old_times.append(time.perf_counter() - t0)
        old_statements = counter.count - before
    engine.dispose()
    return (label, len(recipients), statistics.median(job_times), job_statements, statistics.median(old_times),
            old_statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pg", help="also run against this PostgreSQL URL (its tables are dropped!)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="chatcrm-digest-"))
    results = [bench("sqlite", f"sqlite:///{tmp / 'digest.db'}", args.deals, args.reps, args.repeats)]
    if args.pg:
        results.append(bench("postgresql", args.pg, args.deals, args.reps, args.repeats))
    print(f"\ndaily digest job, {args.reps} reps, {args.deals:,} deals (median of {args.repeats})")
    print(f"{'database':<12}{'recipients':>11}{'job s':>8}{'stmts':>7}{'per-recipient s':>17}{'stmts':>7}"
          f"{'speed-up':>10}   (target: job <= 2 s, <= 60 statements)")
    for label, n, job_s, job_n, old_s, old_n in results:
        print(f"{label:<12}{n:>11}{job_s:>8.2f}{job_n:>7}{old_s:>17.2f}{old_n:>7}{old_s / job_s:>9.1f}x")


if __name__ == "__main__":
    main()
