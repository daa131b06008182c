"""What only PostgreSQL can show: concurrent workers never send a row twice (FOR UPDATE SKIP LOCKED),
and of two schedulers only the advisory-lock holder fires; when it dies the other takes over."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select, text

from cards.builders.common import notice_card
from crm_core.db import make_engine, make_session_factory
from crm_core.models import OutboxMessage, SentMessage
from crm_core.outbox import enqueue
from crm_core.services.users import user_by_key
from handlers.notify import unit_of_work_factory
from scheduler.leader import AdvisoryLockLeader
from scheduler.delivery import deliver_due
from scheduler.service import SchedulerService
from tests.scheduler.conftest import FakeMessenger
from tests.scheduler.helpers import messages

pytestmark = pytest.mark.postgres


def test_two_workers_never_send_a_row_twice(wiring, database_url, clock) -> None:  # type: ignore[no-untyped-def]
    people = ["emma", "tom", "sam", "li", "han", "chen", "wang", "lawyer", "sup", "admin", "zhao", "zhou"]
    with wiring.session_factory.begin() as s:
        users = {k: user_by_key(s, k).id for k in people}
        for i in range(240):
            enqueue(s, dedupe_key=f"c:{i}", kind="test.note", target_type="user", target_id=users[people[i % 12]],
                    payload=notice_card("en", f"message {i}").to_dict(), now=clock.now())
    console = FakeMessenger("console")  # unpaced, thread-safe recorder
    engines = [make_engine(database_url) for _ in range(2)]
    start = threading.Barrier(2)
    per_worker: dict[str, int] = {}

    def work(name: str, factory) -> None:  # type: ignore[no-untyped-def]
        start.wait()
        done = 0
        while True:
            stats = deliver_due(factory, {"console": console}, clock, wiring.config, limit=7, worker_id=name)
            done += stats.sent
            if stats.claimed == 0:
                break
        per_worker[name] = done

    threads = [threading.Thread(target=work, args=(f"w{i}", make_session_factory(e))) for i, e in enumerate(engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    titles = Counter(d.card.title for d in console.delivered)
    assert len(titles) == 240 and set(titles.values()) == {1}
    assert sum(per_worker.values()) == 240 and min(per_worker.values()) > 0, per_worker
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(SentMessage.id))) == 240
        assert set(s.scalars(select(OutboxMessage.status))) == {"sent"}


def test_only_the_lock_holder_fires_and_the_other_takes_over_when_it_dies(wiring, database_url, console_bot,  # type: ignore[no-untyped-def]
                                                                         clock) -> None:
    engines = [make_engine(database_url) for _ in range(2)]
    a, b = (SchedulerService(unit_of_work_factory(make_session_factory(e), wiring.config, clock),
                             AdvisoryLockLeader(e, name=n))
            for e, n in zip(engines, ("A", "B")))
    try:
        console_bot("wang").exec("lead add 张三 company=某某科技 region=east")
        clock.advance(minutes=10)
        assert a.run_job("lead_sla") == 1  # A takes the lock and fires
        assert b.run_job("lead_sla") is None  # B stands by
        assert b.run_job("digests") is None
        clock.advance(minutes=5)
        # A dies: its connection goes away (as when the process is killed). The timeout makes
        # pg_terminate_backend wait until the backend is really gone (PostgreSQL 14+).
        with wiring.engine.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": a.leader.backend_pid})
        assert b.run_job("lead_sla") == 2  # B took over on its next tick
        assert a.run_job("lead_sla") is None  # A (restarted) now stands by
        kinds = [k for _, k, _ in messages(wiring, kinds=("nudge.",))]
        assert kinds == ["nudge.lead.sla_warn", "nudge.lead.sla_breach", "nudge.lead.sla_breach"]
    finally:
        a.leader.release()
        b.leader.release()
        for e in engines:
            e.dispose()
