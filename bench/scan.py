"""Scan benchmark: do the scheduler's due-scans stay flat as the tables grow?

    python bench/scan.py                          # N = 10k, 100k, 1M on SQLite (+ PostgreSQL if reachable)
    python bench/scan.py --sizes 10000            # quick
    python bench/scan.py --sizes 10000 100000 --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python bench/scan.py --no-pg
    python bench/scan.py --sizes 10000 --digest-deals 20000  # smaller digest data
    python bench/scan.py --no-digest              # scans only

Fills the database with N leads, N tickets and N contracts (bulk inserts, grown in place from one size
to the next) of which a fixed 1 000 of each are due now: leads whose first response is due within the
warning window, tickets whose respond-by clock is about to run out, contracts crossing a renewal
threshold. The rest is history (answered leads, closed tickets, contracts ending later or already
ended). Then it times the jobs' own scan queries (scheduler.jobs.*.scan_*), best of 5, per N.
Not a test: the figures depend on the machine. The scans are index range scans bounded by what is due
(and by the jobs' 2-day lookback), so the times should stay about the same from 10k to 1M.

Digests (on by default; --no-digest skips, --digest-deals / --digest-reps size them): in a fresh database
(a new SQLite file; on PostgreSQL the database <name>_digest, dropped and created again each run) it
bulk-inserts an admin / vp / 2 directors / 20 managers / 200 reps hierarchy, 100k deals (open ones spread
over the open stages of the sample pipeline, won / lost ones closed mostly in the last 90 days), stage
history for a share of them, leads with first responses, SLA breaches and yesterday's digest snapshots.
Then it builds the daily digest the way the digest job does (scheduler.jobs.digests: team_ids, collect,
digest_view, digest_card; everything but the sending) for one manager's team and for an admin
(everyone), best of 5, and counts the SQL statements each build issues (transaction control not
counted). The count is bounded: the same whatever the number of deals or reps. A team digest costs three
statements more than the everyone one: who is in the team, their quotas, and the chat identities of the
manager's own manager (loaded along with the recipient).
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

from sqlalchemy import Engine, event, func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from cards.builders.digests import digest_card  # noqa: E402
from crm_core.clock import Clock, FrozenClock  # noqa: E402
from crm_core.config import Config, UserConfig, load_config  # noqa: E402
from crm_core.db import make_engine, make_session_factory  # noqa: E402
from crm_core.migrate import upgrade  # noqa: E402
from crm_core.models import (Account, Contract, Deal, DigestSnapshot, Lead, SlaBreach,  # noqa: E402
                             StageChange, Ticket, User)
from crm_core.services.permissions import team_ids  # noqa: E402
from crm_core.services.users import locale_of, sync_users  # noqa: E402
from scheduler.digests import DigestData, collect  # noqa: E402
from scheduler.jobs.common import local_date  # noqa: E402
from scheduler.jobs.digests import digest_view, period_of  # noqa: E402
from scheduler.jobs.leads import scan_lead_sla  # noqa: E402
from scheduler.jobs.renewals import scan_renewals  # noqa: E402
from scheduler.jobs.tickets import scan_ticket_sla  # noqa: E402

DUE = 1000
CHUNK = 10_000
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/chatcrm_bench"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Asia/Shanghai
TODAY = date(2026, 3, 2)
DIGEST_NOW = datetime(2026, 3, 3, 0, 45, tzinfo=timezone.utc)  # Tuesday 08:45 company time: the daily digest
DIGEST_MANAGERS = 20


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
        with self.engine.begin() as conn:
            _bulk(conn, model, rows)

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
        analyze(engine)
        fill = time.perf_counter() - t0
        r = measure(engine, config)
        print(f"{n:>10,} {fill:>8.1f} {r['leads'][0]:>10.2f} {r['tickets'][0]:>11.2f} {r['contracts'][0]:>13.2f}"
              f"   {r['leads'][1]}/{r['tickets'][1]}/{r['contracts'][1]}", flush=True)
    engine.dispose()


# --- digests ---------------------------------------------------------------------------------------

class DigestFiller:
    """A sales org of `reps` reps under 20 managers, 2 directors, a vp and an admin, and `deals` deals."""

    def __init__(self, engine: Engine, base: Config, reps: int, seed: int = 7) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        self.now = DIGEST_NOW
        managers = min(DIGEST_MANAGERS, max(1, reps))
        people = [UserConfig(key="admin", name="Ada Admin", role="admin", locale="en"),
                  UserConfig(key="vp", name="Vera VP", role="vp", manager="admin", locale="en")]
        people += [UserConfig(key=f"dir{d}", name=f"Director {d}", role="director", manager="vp", locale="en")
                   for d in (1, 2)]
        people += [UserConfig(key=f"mgr{m:02d}", name=f"Manager {m:02d}", role="manager",
                              manager=f"dir{1 + m % 2}", locale="en") for m in range(managers)]
        people += [UserConfig(key=f"rep{r:03d}", name=f"Rep {r:03d}", role="rep", manager=f"mgr{r % managers:02d}",
                              quota=Decimal(self.rng.choice((300_000, 400_000, 500_000)))) for r in range(reps)]
        # The digest reads quotas from the configuration by user key: the same users as in the database.
        self.config = base.model_copy(update={"users": people})
        self.ids: dict[str, int] = {}

    def fill(self, n_deals: int) -> None:
        with self.engine.begin() as conn:
            self._users(conn)
            rep_ids = [self.ids[u.key] for u in self.config.users if u.role == "rep"]
            accounts = self._accounts(conn, rep_ids, max(100, n_deals // 20))
            self._deals(conn, rep_ids, accounts, n_deals)
            self._stage_history(conn)
            leads = self._leads(conn, rep_ids, max(1000, n_deals // 5))
            self._breaches(conn, leads)
            self._snapshots(conn)

    def _users(self, conn: Any) -> None:
        by_depth: dict[int, list[UserConfig]] = {}
        depth = {"admin": 0, "vp": 1}
        for u in self.config.users:
            if u.manager is not None:
                depth[u.key] = depth[u.manager] + 1
            by_depth.setdefault(depth[u.key], []).append(u)
        for level in sorted(by_depth):  # managers first, so manager_id can be filled in
            conn.execute(insert(User), [
                {"key": u.key, "name": u.name, "role": u.role, "locale": u.locale, "tags": [], "away": False,
                 "active": True, "manager_id": self.ids[u.manager] if u.manager else None,
                 "created_at": self.now - timedelta(days=400)} for u in by_depth[level]])
            keys = [u.key for u in by_depth[level]]
            self.ids.update({k: i for k, i in conn.execute(select(User.key, User.id).where(User.key.in_(keys)))})

    def _accounts(self, conn: Any, reps: list[int], n: int) -> list[int]:
        _bulk(conn, Account, ({"name": f"Account {i}", "name_key": f"account {i}", "owner_id": self.rng.choice(reps),
                               "created_at": self.now - timedelta(days=500)} for i in range(n)))
        return list(conn.scalars(select(Account.id)))

    def _deals(self, conn: Any, reps: list[int], accounts: list[int], n: int) -> None:
        rng, now = self.rng, self.now
        open_keys = [st.key for st in self.config.pipeline.open_stages]

        def deal(i: int) -> dict[str, Any]:
            created = now - timedelta(seconds=rng.randrange(1, 400 * 86400))
            row: dict[str, Any] = {
                "name": f"Deal {i}", "account_id": rng.choice(accounts), "owner_id": rng.choice(reps),
                "amount": Decimal(rng.randrange(5, 500) * 1000), "currency": "CNY", "fields": {},
                "close_date": (now + timedelta(days=rng.randrange(-20, 150))).date(), "created_at": created,
                "updated_at": created, "version": 1, "lost_reason": None, "closed_at": None}
            r = rng.random()
            if r < 0.85:  # open, somewhere in the pipeline; some untouched for weeks (stale)
                entered = max(created, now - timedelta(seconds=rng.randrange(1, 60 * 86400)))
                active = max(entered, now - timedelta(seconds=rng.randrange(1, 30 * 86400)))
                row.update(stage=rng.choice(open_keys), status="open", stage_entered_at=entered,
                           last_activity_at=active if rng.random() < 0.9 else None)
            else:  # closed: most in the last 90 days (some yesterday), the rest older
                ago = rng.randrange(1, 90 * 86400) if r < 0.97 else rng.randrange(90 * 86400, 400 * 86400)
                closed = max(created, now - timedelta(seconds=ago))
                status = "won" if rng.random() < 0.4 else "lost"
                row.update(stage=status, status=status, stage_entered_at=closed, last_activity_at=closed,
                           closed_at=closed, lost_reason="price" if status == "lost" else None)
            return row

        _bulk(conn, Deal, (deal(i) for i in range(n)))

    def _stage_history(self, conn: Any) -> None:
        """A trail of stage changes for 30 % of the deals: created in the first stage, then forward."""
        order = [st.key for st in self.config.pipeline.stages]
        rows = conn.execute(select(Deal.id, Deal.stage, Deal.created_at, Deal.stage_entered_at)
                            .where(Deal.id % 10 < 3)).all()

        def trail() -> Iterator[dict[str, Any]]:
            for deal_id, stage, created, entered in rows:
                steps = order[:order.index(stage) + 1] if stage in order[:-2] else order[:3] + [stage]
                span = max((entered - created).total_seconds(), 1.0)
                previous = None
                for k, to_stage in enumerate(steps):
                    at = created + timedelta(seconds=span * k / max(len(steps) - 1, 1))
                    yield {"deal_id": deal_id, "from_stage": previous, "to_stage": to_stage, "actor_id": None,
                           "at": at, "seconds_in_previous": None if previous is None else int(span / (len(steps) - 1))}
                    previous = to_stage

        _bulk(conn, StageChange, trail())

    def _leads(self, conn: Any, reps: list[int], n: int) -> list[tuple[int, int]]:
        rng, now = self.rng, self.now

        def lead(i: int) -> dict[str, Any]:
            assigned = now - timedelta(seconds=rng.randrange(600, 60 * 86400))
            answered = assigned + timedelta(seconds=rng.randrange(60, 7200)) if rng.random() < 0.8 else None
            return {"name": f"Lead {i}", "source": "web", "tags": [], "score": 25, "owner_id": rng.choice(reps),
                    "status": "converted" if answered and rng.random() < 0.3 else "open", "assigned_at": assigned,
                    "first_response_due_at": assigned + timedelta(minutes=15), "first_responded_at": answered,
                    "reassign_count": 0, "duplicate_hits": 0, "created_at": assigned, "updated_at": assigned}

        _bulk(conn, Lead, (lead(i) for i in range(n)))
        return list(conn.execute(select(Lead.id, Lead.owner_id).where(Lead.first_responded_at.is_(None))).all())

    def _breaches(self, conn: Any, leads: list[tuple[int, int]]) -> None:
        """Missed first responses, a few hundred of them in the last two days."""
        now = self.now
        _bulk(conn, SlaBreach, ({"kind": "lead.first_response", "record_type": "lead", "record_id": lead_id,
                                 "owner_id": owner, "due_at": now - timedelta(minutes=10 + k),
                                 "at": now - timedelta(minutes=k)} for k, (lead_id, owner) in enumerate(leads[:600])))

    def _snapshots(self, conn: Any) -> None:
        """Yesterday's digests, so this one has something to compare with."""
        yesterday = (local_date(self.config, self.now) - timedelta(days=1)).isoformat()
        stages = {st.key: {"count": 1000, "amount": "100000000.00"} for st in self.config.pipeline.open_stages}
        data = {"stages": stages, "open_count": 4000, "open_amount": "400000000.00"}
        scopes = ["all"] + [f"team:{uid}" for key, uid in self.ids.items() if key != "admin"]
        conn.execute(insert(DigestSnapshot), [{"scope": scope, "period": "daily", "period_key": yesterday,
                                               "data": data, "created_at": self.now - timedelta(days=1)}
                                              for scope in scopes])


def _bulk(conn: Any, model: Any, rows: Iterator[dict[str, Any]]) -> None:
    """Insert `rows` into `model`'s table CHUNK at a time, on the caller's connection (and transaction)."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            conn.execute(insert(model), batch)
            batch = []
    if batch:
        conn.execute(insert(model), batch)


def build_digest(session: Session, config: Config, user_id: int, clock: Clock) -> DigestData:
    """What the digest job does for one recipient (scheduler.jobs.digests._send), short of sending it."""
    now = clock.now()
    day = local_date(config, now)
    period = period_of(config, day)
    user = session.get(User, user_id)
    assert user is not None
    if user.is_admin:
        scope, owner_ids, team_of = "all", None, None
    else:
        scope, owner_ids, team_of = f"team:{user.id}", team_ids(session, user), user.name
    data = collect(session, config, owner_ids, scope=scope, period=period, day=day, now=now)
    locale = locale_of(user, config)
    digest_card(locale, digest_view(config, data, locale, team_of=team_of))
    return data


class StatementCounter:
    """Counts the SQL statements an engine sends (BEGIN / COMMIT / ROLLBACK left out: SQLite sends them
    as statements, PostgreSQL's driver does not)."""

    CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(self.CONTROL):
            self.count += 1


def bench_digest(label: str, url: str, base: Config, n_deals: int, n_reps: int) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    upgrade(engine)
    print(f"\n== {label} digests: {engine.url.render_as_string(hide_password=True)}", flush=True)
    t0 = time.perf_counter()
    filler = DigestFiller(engine, base, n_reps)
    filler.fill(n_deals)
    analyze(engine)
    print(f"filled {n_reps} reps, {n_deals:,} deals (+ stage history, leads, breaches) in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    config, clock = filler.config, FrozenClock(DIGEST_NOW)
    manager = filler.ids["mgr00"]
    factory = make_session_factory(engine)
    counter = StatementCounter(engine)
    rows: list[tuple[Any, ...]] = []
    for scope, user_id in (("team (mgr00)", manager), ("everyone (admin)", filler.ids["admin"])):
        counts: list[int] = []
        data: DigestData | None = None

        def run() -> int:
            nonlocal data
            before = counter.count
            with factory() as session:
                data = build_digest(session, config, user_id, clock)
            counts.append(counter.count - before)
            return 0

        ms, _ = best_of(run)
        assert data is not None and len(set(counts)) == 1, counts
        reps = len(data.reps)
        with factory() as session:
            user = session.get(User, user_id)
            assert user is not None
            owners = None if user.is_admin else team_ids(session, user)
            stmt = select(func.count(Deal.id))
            deals = session.scalar(stmt if owners is None else stmt.where(Deal.owner_id.in_(sorted(owners))))
        rows.append((label, scope, reps, int(deals or 0), ms, counts[0]))
    engine.dispose()
    return rows


def print_digest_table(rows: list[tuple[Any, ...]]) -> None:
    print("\n== Daily digest build (team_ids + collect + card; best of 5) and SQL statements per build")
    print(f"{'database':<11} {'scope':<17} {'reps':>5} {'deals':>8} {'build ms':>9} {'queries':>8}")
    for label, scope, reps, deals, ms, queries in rows:
        print(f"{label:<11} {scope:<17} {reps:>5} {deals:>8,} {ms:>9.1f} {queries:>8}")


def analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def fresh_pg_database(url: str, suffix: str) -> str:
    """<database><suffix> on the same server, dropped and created again (empty); its URL."""
    import psycopg

    u = make_url(url)
    name = f"{u.database}{suffix}"
    base = f"postgresql://{u.username or 'postgres'}@{u.host or '127.0.0.1'}:{u.port or 5432}"
    with psycopg.connect(f"{base}/postgres", connect_timeout=3, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return u.set(database=name).render_as_string(hide_password=False)


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
    parser.add_argument("--digest", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the daily digest build (default: on; --no-digest skips it)")
    parser.add_argument("--digest-deals", type=int, default=100_000, help="deals for the digest (default 100000)")
    parser.add_argument("--digest-reps", type=int, default=200, help="reps for the digest (default 200)")
    args = parser.parse_args()
    if make_url(args.pg).database == "test":
        parser.error("refusing to fill the database named 'test' (it belongs to CI)")
    config = load_config(None)
    digests: list[tuple[Any, ...]] = []
    scratch = tempfile.TemporaryDirectory(prefix="chatcrm-scan-")
    path = args.sqlite or str(Path(scratch.name) / "scan.db")
    try:
        bench("SQLite", f"sqlite:///{path}", args.sizes, config)
        if args.digest:
            digests += bench_digest("SQLite", f"sqlite:///{Path(scratch.name) / 'digest.db'}", config,
                                    args.digest_deals, args.digest_reps)
    finally:
        scratch.cleanup()
    if not args.no_pg and pg_reachable(args.pg):
        bench("PostgreSQL", args.pg, args.sizes, config)
        if args.digest:
            digests += bench_digest("PostgreSQL", fresh_pg_database(args.pg, "_digest"), config,
                                    args.digest_deals, args.digest_reps)
    if digests:
        print_digest_table(digests)


if __name__ == "__main__":
    main()
