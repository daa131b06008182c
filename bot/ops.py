"""`/readyz` and `/metrics` (docs/operations.md).

/metrics reads the database on every scrape (a prometheus-client custom Collector whose collect() runs
six aggregate queries, never one per row), so every web process behind a load balancer reports the same
outbox, delivery, scheduler and inbox numbers. The command and click latency histograms are the one
process-local part (handlers.runner.LATENCY): they are measured where the runner runs.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from alembic.script import ScriptDirectory
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, bindparam, text

from bot.wiring import Wiring
from crm_core.clock import Clock
from crm_core.migrate import alembic_config
from crm_core.models import OutboxMessage
from handlers.runner import LATENCY
from scheduler.leader import LOCK_KEY

log = logging.getLogger("chatcrm.ops")

JOB_RUN_PREFIX = "job-run:"  # scheduler_marks key of a job's last successful run (scheduler.service)

# Where an outbox row goes: a user's primary chat platform, else the first chat identity they have, else
# the console; swarm and admin rows go to every platform of their people ("swarm" / "admins").
_PLATFORM = """CASE WHEN o.target_type = 'user' THEN COALESCE(u.primary_platform,
            (SELECT MIN(ci.platform) FROM chat_identities ci WHERE ci.user_id = u.id AND ci.platform <> 'console'),
            'console') ELSE o.target_type END AS platform"""
_OUTBOX_USERS = "FROM outbox o LEFT JOIN users u ON o.target_type = 'user' AND u.id = o.target_id"
_OUTBOX = text(f"""
SELECT {_PLATFORM},
       CASE WHEN o.status = 'dead' THEN 'dead'
            WHEN o.status = 'sending' THEN 'sending'
            WHEN o.next_attempt_at <= :now THEN 'due'
            ELSE 'waiting' END AS state,
       COUNT(*) AS n,
       MIN(CASE WHEN o.status IN ('pending', 'failed') THEN o.created_at END) AS oldest
{_OUTBOX_USERS}
WHERE o.status IN ('pending', 'failed', 'sending', 'dead')
GROUP BY 1, 2
""").bindparams(bindparam("now", type_=OutboxMessage.__table__.c.next_attempt_at.type))  # stored format on SQLite
_FAILURES = text(f"""
SELECT {_PLATFORM},
       COALESCE(SUM(o.attempts), 0) AS failures
{_OUTBOX_USERS}
WHERE o.attempts > 0
GROUP BY 1
""")
# A delivery record is written before an uncertain post ("unsure", no message_ref yet) and confirmed after;
# count the confirmed ones: a platform message reference, or the row finished as sent.
_DELIVERIES = text("""
SELECT sm.platform, COUNT(*) FROM sent_messages sm JOIN outbox o ON o.id = sm.outbox_id
WHERE sm.message_ref IS NOT NULL OR o.status = 'sent'
GROUP BY sm.platform
""")
_JOBS = text("SELECT key, at FROM scheduler_marks WHERE key LIKE 'job-run:%'")
_INBOX = text("SELECT platform, COUNT(*), MIN(received_at) FROM inbox WHERE status = 'pending' GROUP BY platform")
_LEADER = text("""
SELECT l.pid FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = :hi AND l.objid::bigint = :lo AND l.objsubid = 1
""")
_STATES = ("due", "waiting", "sending", "dead")
_G, _C = GaugeMetricFamily, CounterMetricFamily
# What /metrics reports, in the order it reports it after chatcrm_database_up: key → (kind, name, help, labels).
_METRICS: dict[str, tuple[type[Any], str, str, tuple[str, ...]]] = {
    "outbox": (_G, "chatcrm_outbox_messages", "Undelivered outbox rows by recipient platform and state: due (to "
               "send now), waiting (backing off or paced), sending (claimed by a worker), dead (gave up).",
               ("platform", "state")),
    "oldest": (_G, "chatcrm_outbox_oldest_undelivered_seconds", "Age of the oldest pending or failed outbox row, "
               "by recipient platform.", ("platform",)),
    "deliveries": (_C, "chatcrm_deliveries", "Messages delivered (sent_messages rows), by platform.", ("platform",)),
    "failures": (_C, "chatcrm_delivery_failures", "Failed delivery attempts recorded on outbox rows, by recipient "
                 "platform.", ("platform",)),
    "jobs": (_G, "chatcrm_scheduler_job_last_success_timestamp_seconds", "When each scheduled job last ran to the "
             "end (Unix time).", ("job",)),
    "leader": (_G, "chatcrm_scheduler_leader", "1 when a scheduler process holds the leader lock (PostgreSQL; on "
               "SQLite the single process always leads).", ("pid",)),
    "backlog": (_G, "chatcrm_inbox_pending", "Inbound chat requests acknowledged but not finished yet, by "
                "platform.", ("platform",)),
    "backlog_age": (_G, "chatcrm_inbox_oldest_pending_seconds", "Age of the oldest pending inbound request, by "
                    "platform.", ("platform",)),
    "up": (_G, "chatcrm_database_up", "1 when the metrics queries reached the database.", ()),
}


def _seconds_since(clock: Clock, at: Any) -> float:
    if at is None:
        return 0.0
    if isinstance(at, str):  # SQLite hands a raw aggregate (MIN) back as text
        from datetime import datetime
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        from datetime import UTC
        at = at.replace(tzinfo=UTC)
    return max(0.0, (clock.now() - at).total_seconds())


class DatabaseCollector(Collector):
    """Outbox, deliveries, scheduler and inbound backlog, read from the database at scrape time."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> list[Any]:
        return []  # collected on demand only; registering must not query the database

    def collect(self) -> Iterator[Any]:
        now = self.clock.now()
        m = {key: kind(name, doc, labels=list(labels)) for key, (kind, name, doc, labels) in _METRICS.items()}
        outbox, oldest, deliveries, failures = m["outbox"], m["oldest"], m["deliveries"], m["failures"]
        jobs, leader, backlog, backlog_age, up = m["jobs"], m["leader"], m["backlog"], m["backlog_age"], m["up"]
        try:
            with self.engine.connect() as conn:
                seen: dict[str, set[str]] = {}
                ages: dict[str, float] = {}
                for platform, state, n, first in conn.execute(_OUTBOX, {"now": now}):
                    outbox.add_metric([platform, state], n)
                    seen.setdefault(platform, set()).add(state)
                    if first is not None:
                        ages[platform] = max(ages.get(platform, 0.0), _seconds_since(self.clock, first))
                for platform, states in seen.items():
                    for state in _STATES:
                        if state not in states:
                            outbox.add_metric([platform, state], 0)
                for platform, age in ages.items():
                    oldest.add_metric([platform], age)
                for platform, n in conn.execute(_FAILURES):
                    failures.add_metric([platform], n)
                for platform, n in conn.execute(_DELIVERIES):
                    deliveries.add_metric([platform], n)
                for key, at in conn.execute(_JOBS):
                    jobs.add_metric([key[len(JOB_RUN_PREFIX):]], now.timestamp() - _seconds_since(self.clock, at))
                for platform, n, first in conn.execute(_INBOX):
                    backlog.add_metric([platform], n)
                    backlog_age.add_metric([platform], _seconds_since(self.clock, first))
                if self.engine.dialect.name == "postgresql":
                    pids = list(conn.scalars(_LEADER, {"hi": (LOCK_KEY >> 32) & 0xFFFFFFFF,
                                                       "lo": LOCK_KEY & 0xFFFFFFFF}))
                    for pid in pids:
                        leader.add_metric([str(pid)], 1)
                    if not pids:
                        leader.add_metric([""], 0)
        except Exception as exc:  # noqa: BLE001 - a scrape reports the database as down, never a 500
            log.warning("metrics: database unreachable: %s", (str(exc).strip().splitlines() or [""])[0])
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, *(family for key, family in m.items() if key != "up"))


def metrics_registry(engine: Engine, clock: Clock) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(engine, clock))
    registry.register(LATENCY)
    return registry


def readiness(engine: Engine, heads: set[str]) -> tuple[bool, dict[str, Any]]:
    """Ready = the database answers and its schema is at every head of the migration scripts."""
    try:
        with engine.connect() as conn:
            try:
                current = set(conn.scalars(text("SELECT version_num FROM alembic_version")))
            except Exception:  # noqa: BLE001 - no alembic_version table: never migrated
                current = set()
    except Exception as exc:  # noqa: BLE001
        return False, {"status": "error", "reason": "database unreachable",
                       "detail": (str(exc).strip().splitlines() or [""])[0][:300]}
    if current != heads:
        return False, {"status": "error", "reason": "migrations not at head",
                       "database": sorted(current), "expected": sorted(heads),
                       "fix": "run `chatcrm db upgrade`"}
    return True, {"status": "ok", "database": "ok", "migrations": sorted(current)}


def mount(app: FastAPI, w: Wiring, reader: Engine) -> None:
    heads = set(ScriptDirectory.from_config(alembic_config(str(w.engine.url))).get_heads())
    registry = metrics_registry(reader, w.clock)

    @app.get("/readyz", tags=["ops"])
    def readyz() -> JSONResponse:
        ok, body = readiness(reader, heads)
        return JSONResponse(status_code=200 if ok else 503, content=body,
                            headers={} if ok else {"Retry-After": "5"})

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
