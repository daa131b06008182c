"""Outbox delivery benchmark: N queued messages to N Slack users, delivered by W deliverer processes
(`chatcrm worker`'s Deliverer, the real SlackMessenger: tagged posts, "unsure" records, pacing) against a
local fake Slack Web API (the tests' FakeSlack, a threaded HTTP server in this process), beside a floor:
the same messages posted to the same fake endpoint by W processes calling SlackMessenger.send_now in a
plain loop (no database, no bookkeeping).

    python bench/outbox.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench   # (its tables are dropped!)
    python bench/outbox.py --pg … --messages 4000 --workers 4

Prints messages/s for both, the ratio, transactions per pass, and checks zero doubles (every outbox id
posted exactly once; every row "sent"). Target: >= 300 msg/s through 4 workers on PostgreSQL. Not a test.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, text  # noqa: E402

from bot.settings import Settings  # noqa: E402
from bot.slack.app import slack_messenger  # noqa: E402
from bot.wiring import build  # noqa: E402
from cards.model import Card, Section  # noqa: E402
from crm_core.clock import SystemClock  # noqa: E402
from crm_core.db import make_engine  # noqa: E402
from crm_core.models import OutboxMessage, User  # noqa: E402
from crm_core.outbox import OutboxRow, enqueue_many  # noqa: E402
from crm_core.services.users import create_chat_user  # noqa: E402
from handlers.ports import Recipient  # noqa: E402
from scheduler.delivery import Deliverer  # noqa: E402
from tests.bot.slack.fake_slack import TEAM, TOKEN, FakeSlack  # noqa: E402


def settings(url: str, api_url: str) -> Settings:
    return Settings(database_url=url, slack_bot_token=TOKEN, slack_signing_secret="bench", slack_api_url=api_url,
                    chatcrm_embedded_workers=False, _env_file=None)  # type: ignore[call-arg]


def card(n: int) -> Card:
    return Card(title=f"Notice {n}", locale="en", kind="info", blocks=(Section(f"Deal D-{n} moved to Proposal"),))


def prepare(url: str, fake: FakeSlack, n: int) -> list[tuple[int, str]]:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    w = build(settings(url, fake.api_url))
    w.prepare_database()
    now = SystemClock().now()
    people: list[tuple[int, str]] = []
    with w.session_factory.begin() as s:
        for i in range(n):
            uid = f"UB{i:06d}"
            fake.add_user(uid, f"Bench {i}")
            user = create_chat_user(s, platform="slack", external_id=uid, name=f"Bench {i}", now=now, locale="en",
                                    team=TEAM)
            people.append((user.id, uid))
    return people


def enqueue_all(url: str, fake: FakeSlack, people: list[tuple[int, str]], run: int) -> None:
    w = build(settings(url, fake.api_url))
    with w.session_factory.begin() as s:
        enqueue_many(s, [OutboxRow(dedupe_key=f"bench:{run}:{i}", kind="notice", target_type="user", target_id=uid,
                                   payload=card(i).to_dict()) for i, (uid, _) in enumerate(people)],
                     now=SystemClock().now())
    w.engine.dispose()


def deliver(url: str, api_url: str, worker: int, ready: Any, go: Any, out: Any) -> None:
    w = build(settings(url, api_url))
    deliverer = Deliverer(w.session_factory, {"slack": slack_messenger(w)}, SystemClock(), w.config,
                          worker_id=f"bench{worker}")
    begins = [0]
    event.listen(w.engine, "begin", lambda conn: begins.__setitem__(0, begins[0] + 1))
    ready.put(worker)
    go.wait()
    passes = sent = 0
    while True:
        stats = deliverer.run_once(limit=100)
        passes += 1
        sent += stats.sent
        if stats.claimed == 0:
            with w.session_factory() as s:
                open_rows = s.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.status.in_(("pending", "failed", "sending"))))
            if not open_rows:
                break
            time.sleep(0.02)
    out.put((worker, passes, sent, begins[0]))


def post_plainly(api_url: str, share: list[tuple[int, int, str]], ready: Any, go: Any, out: Any) -> None:
    w = build(settings("sqlite://", api_url))
    messenger = slack_messenger(w)
    assert messenger is not None
    ready.put(0)
    go.wait()
    for i, user_id, uid in share:
        messenger.send_now(Recipient(user_id=user_id, platform="slack", external_id=uid, locale="en", team=TEAM), card(i))
    out.put(len(share))


def timed(targets: list[tuple[Any, tuple[Any, ...]]]) -> tuple[float, list[Any]]:
    ctx = mp.get_context("fork")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=fn, args=(*args, ready, go, out)) for fn, args in targets]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    results = [out.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    return elapsed, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", required=True, help="PostgreSQL URL (its tables are dropped!)")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    fake = FakeSlack().start()
    people = prepare(args.pg, fake, args.messages)
    ours, floors, doubles, tx_per_pass = [], [], 0, []
    for run in range(args.repeats):
        enqueue_all(args.pg, fake, people, run)
        before = len(fake.messages)
        elapsed, results = timed([(deliver, (args.pg, fake.api_url, i)) for i in range(args.workers)])
        ours.append(args.messages / elapsed)
        passes = sum(r[1] for r in results)
        tx_per_pass.append(sum(r[3] for r in results) / passes)
        posted = Counter(m["metadata"]["event_payload"]["key"] for m in list(fake.messages.values())[before:]
                         if m.get("metadata"))
        doubles += sum(c - 1 for c in posted.values() if c > 1)
        assert len(posted) == args.messages, (len(posted), args.messages)
        shares = [[(i, uid, ext) for i, (uid, ext) in enumerate(people) if i % args.workers == k]
                  for k in range(args.workers)]
        elapsed, _ = timed([(post_plainly, (fake.api_url, share)) for share in shares])
        floors.append(args.messages / elapsed)
    w = build(settings(args.pg, fake.api_url))
    with w.session_factory() as s:
        statuses = Counter(s.scalars(select(OutboxMessage.status)))
    calls = Counter(c.method for c in fake.calls)
    fake.stop()
    a, b = statistics.median(ours), statistics.median(floors)
    print(f"\noutbox delivery: {args.messages} messages to {args.messages} Slack users, {args.workers} processes, "
          f"PostgreSQL (median of {args.repeats})")
    print(f"{'chatcrm msg/s':>14}{'floor msg/s':>13}{'ratio':>8}{'tx/pass':>9}{'doubles':>9}   statuses")
    print(f"{a:>14,.0f}{b:>13,.0f}{a / b:>8.2f}{statistics.median(tx_per_pass):>9.1f}{doubles:>9}   {dict(statuses)}")
    print("fake Slack calls:", dict(calls))
    print("(target: >= 300 msg/s through 4 workers, zero doubles; tx/pass counts the idle passes' one read too)")


if __name__ == "__main__":
    main()
