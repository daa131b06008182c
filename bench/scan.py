"""Scan benchmark: do the scheduler's due-scans stay flat as the tables grow?

    python bench/scan.py                          # N = 10k, 100k, 1M on SQLite (+ PostgreSQL if reachable)
    python bench/scan.py --sizes 10000            # quick
    python bench/scan.py --sizes 10000 100000 --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python bench/scan.py --no-pg

Fills the database with N leads, N tickets and N contracts (bulk inserts, grown in place from one size
to the next) of which a fixed 1 000 of each are due now: leads whose first response is due within the
warning window, tickets whose respond-by clock is about to run out, contracts crossing a renewal
threshold. The rest is history (answered leads, closed tickets, contracts ending later or already
ended). Then it times the jobs' own scan queries (scheduler.jobs.*.scan_*), best of 5, per N.
Not a test: the figures depend on the machine. The scans are index range scans bounded by what is due
(and by the jobs' 2-day lookback), so the times should stay about the same from 10k to 1M.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from crm_core.config import Config, load_config  # noqa: E402
from crm_core.db import make_engine, make_session_factory  # noqa: E402
from crm_core.migrate import upgrade  # noqa: E402
from crm_core.models import Account, Contract, Lead, Ticket, User  # noqa: E402
from crm_core.services.users import sync_users  # noqa: E402
from scheduler.jobs.leads import scan_lead_sla  # noqa: E402
from scheduler.jobs.renewals import scan_renewals  # noqa: E402
from scheduler.jobs.tickets import scan_ticket_sla  # noqa: E402

DUE = 1000
CHUNK = 10_000
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/chatcrm_bench"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Asia/Shanghai
TODAY = date(2026, 3, 2)


class Filler:
    """Grows the three tables to N rows each; the first DUE of each are the due ones."""

    def __init__(self, engine: Engine, config: Config, seed: int = 5) -> None:
        self.engine = engine
        self.config = config
        self.rng = random.Random(seed)
        with make_session_factory(engine).begin() as session:
            sync_users(session, config, NOW)
            self.owners = list(session.scalars(select(User.id).where(User.role == "rep").order_by(User.id)))
            account = session.scalar(select(Account.id).limit(1))
            if account is None:
                acc = Account(name="Bench Inc.", name_key="bench", owner_id=self.owners[0], created_at=NOW)
                session.add(acc)
                session.flush()
                account = acc.id
            self.account = account

    def count(self, model: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(model)) or 0)

    def grow(self, n: int) -> None:
        for model, make in ((Lead, self._lead), (Ticket, self._ticket), (Contract, self._contract)):
            have = self.count(model)
            if have < n:
                self._insert(model, (make(i) for i in range(have, n)))

    def _insert(self, model: Any, rows: Iterator[dict[str, Any]]) -> None:
        batch: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            for row in rows:
                batch.append(row)
                if len(batch) >= CHUNK:
                    conn.execute(insert(model), batch)
                    batch = []
            if batch:
                conn.execute(insert(model), batch)

    def _owner(self) -> int:
        return self.owners[self.rng.randrange(len(self.owners))]

    def _past(self) -> datetime:
        """Somewhere in the last three years, but before the jobs' 2-day lookback."""
        return NOW - timedelta(days=3, seconds=self.rng.randrange(3 * 365 * 86400))

    def _lead(self, i: int) -> dict[str, Any]:
        if i < DUE:  # first response due within the next few minutes, nobody answered yet
            due = NOW + timedelta(seconds=self.rng.randrange(0, 300))
            answered = None
        else:
            due = self._past()
            answered = due - timedelta(minutes=self.rng.randrange(1, 15))
        created = due - timedelta(minutes=15)
        return {"name": f"Lead {i}", "source": "web", "tags": [], "score": 10, "status": "open" if i < DUE else "converted",
                "owner_id": self._owner(), "assigned_at": created, "first_response_due_at": due,
                "first_responded_at": answered, "reassign_count": 0, "duplicate_hits": 0, "created_at": created,
                "updated_at": created}

    def _ticket(self, i: int) -> dict[str, Any]:
        if i < DUE:  # respond-by in the next 10 minutes (inside the 15-minute warning)
            opened = NOW - timedelta(minutes=55) + timedelta(seconds=self.rng.randrange(0, 300))
            responded = closed = None
        else:
            opened = self._past()
            responded, closed = opened + timedelta(minutes=20), opened + timedelta(hours=5)
        return {"account_id": self.account, "subject": f"Ticket {i}", "priority": "urgent",
                "status": "open" if closed is None else "closed", "owner_id": self._owner(), "opened_at": opened,
                "respond_due_at": opened + timedelta(minutes=60), "responded_at": responded,
                "resolve_due_at": opened + timedelta(minutes=1440), "closed_at": closed, "updated_at": opened,
                "version": 1}

    def _contract(self, i: int) -> dict[str, Any]:
        if i < DUE:  # crossing one of the 90 / 60 / 30-day thresholds today
            end = TODAY + timedelta(days=self.rng.choice(self.config.renewals.remind_days))
        elif self.rng.random() < 0.5:
            end = TODAY - timedelta(days=self.rng.randrange(1, 1000))  # ended
        else:
            end = TODAY + timedelta(days=self.rng.randrange(100, 1100))  # not yet
        start = end - timedelta(days=365)
        return {"account_id": self.account, "owner_id": self._owner(), "start_date": start, "end_date": end,
                "value": Decimal("12000.00"), "currency": "CNY", "usage_pct": 100, "created_at": NOW,
                "updated_at": NOW}


def best_of(fn: Callable[[], int], runs: int = 5) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        found = fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000, found


def measure(engine: Engine, config: Config) -> dict[str, tuple[float, int]]:
    factory = make_session_factory(engine)

    def scan(fn: Callable[[Session, Config, datetime], list[Any]]) -> Callable[[], int]:
        def run() -> int:
            with factory() as session:
                return len(fn(session, config, NOW))
        return run

    return {"leads": best_of(scan(scan_lead_sla)), "tickets": best_of(scan(scan_ticket_sla)),
            "contracts": best_of(scan(scan_renewals))}


def bench(label: str, url: str, sizes: list[int], config: Config) -> None:
    engine = make_engine(url)
    upgrade(engine)
    filler = Filler(engine, config)
    print(f"\n== {label}: {engine.url.render_as_string(hide_password=True)}")
    print(f"{'N':>10} {'fill s':>8} {'leads ms':>10} {'tickets ms':>11} {'contracts ms':>13}   due found (leads/tickets/contracts)")
    for n in sorted(sizes):
        t0 = time.perf_counter()
        filler.grow(n)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        fill = time.perf_counter() - t0
        r = measure(engine, config)
        print(f"{n:>10,} {fill:>8.1f} {r['leads'][0]:>10.2f} {r['tickets'][0]:>11.2f} {r['contracts'][0]:>13.2f}"
              f"   {r['leads'][1]}/{r['tickets'][1]}/{r['contracts'][1]}", flush=True)
    engine.dispose()


def pg_reachable(url: str) -> bool:
    import psycopg

    u = make_url(url)
    base = f"postgresql://{u.username or 'postgres'}@{u.host or '127.0.0.1'}:{u.port or 5432}"
    try:
        psycopg.connect(f"{base}/{u.database}", connect_timeout=3).close()
        return True
    except psycopg.OperationalError:
        pass
    try:  # the server answers but the bench database does not exist yet: create it
        with psycopg.connect(f"{base}/postgres", connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{u.database}"')
        return True
    except psycopg.Error as exc:
        print(f"PostgreSQL not reachable at {base}/{u.database} ({exc.__class__.__name__}): skipped")
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="table sizes N")
    parser.add_argument("--sqlite", default=None, help="SQLite file (default: a new one in a temp dir)")
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"PostgreSQL URL (default {DEFAULT_PG})")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args()
    if make_url(args.pg).database == "test":
        parser.error("refusing to fill the database named 'test' (it belongs to CI)")
    config = load_config(None)
    scratch = None if args.sqlite else tempfile.TemporaryDirectory(prefix="chatcrm-scan-")
    path = args.sqlite or str(Path(scratch.name) / "scan.db")  # type: ignore[union-attr]
    try:
        bench("SQLite", f"sqlite:///{path}", args.sizes, config)
    finally:
        if scratch is not None:
            scratch.cleanup()
    if not args.no_pg and pg_reachable(args.pg):
        bench("PostgreSQL", args.pg, args.sizes, config)


if __name__ == "__main__":
    main()
