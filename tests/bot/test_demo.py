"""`chatcrm demo` tells the truth on a first run: it shows progress, dates its data up to today without
leaving weeks-old alerts for `serve` to send, and names ids of the README tour's users."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.console_messenger import ConsoleMessenger
from bot.demo import load_demo
from crm_core.models import ConsoleInboxMessage, Deal, Lead, OutboxMessage, SlaBreach, User
from scheduler.leader import AlwaysLeader
from scheduler.delivery import deliver_due
from scheduler.service import SchedulerService

ROOT = Path(__file__).resolve().parents[2]


def one_scheduler_and_deliverer_pass(wiring) -> None:  # type: ignore[no-untyped-def]
    """What `serve` does in its first seconds: every job once, then the deliverer until nothing is due."""
    service = SchedulerService(wiring.runner.uow_factory, AlwaysLeader())
    for job in service.specs:
        service.run_job(job)
    console = {"console": ConsoleMessenger(wiring.session_factory, wiring.clock)}
    for _ in range(10):
        if not deliver_due(wiring.session_factory, console, wiring.clock, wiring.config).claimed:
            break


def due_rows(wiring) -> int:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return s.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.status.in_(("pending", "failed")), OutboxMessage.next_attempt_at <= wiring.clock.now())) or 0


def inbox_kinds(wiring) -> Counter[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(user key, outbox kind) of every message in the console inboxes."""
    with wiring.session_factory() as s:
        keys = dict(s.execute(select(User.id, User.key)).all())
        sent = {(r.target_id, r.kind) for r in s.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent"))}
        kinds_of = Counter()
        for user_id in s.scalars(select(ConsoleInboxMessage.user_id)):
            kinds = sorted(k for uid, k in sent if uid == user_id) or ["?"]
            kinds_of[(keys[user_id], ",".join(kinds))] += 1
        return kinds_of


def test_after_demo_serve_sends_nothing_stale(wiring):  # type: ignore[no-untyped-def]
    stats = load_demo(wiring.runner, leads=60)
    assert stats["leads"] + stats["duplicates"] == 60 and stats["deals"] > 10 and stats["tickets"] > 5
    assert due_rows(wiring) == 0  # nothing the demo itself queued (90-day-old "new lead" cards …) is waiting
    with wiring.session_factory() as s:
        skipped = s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "skipped"))
        breaches = s.scalar(select(func.count(SlaBreach.id)))
        latest = s.scalar(select(func.max(Deal.last_activity_at)))
    assert skipped == stats["past_messages"] > 0  # recorded as handled, not deleted
    assert breaches > 0  # past SLA breaches are history the digests count, not alerts to send now
    assert wiring.clock.now() - latest < timedelta(days=2)  # dated up to today

    one_scheduler_and_deliverer_pass(wiring)
    with wiring.session_factory() as s:
        kinds = Counter(s.scalars(select(OutboxMessage.kind).where(OutboxMessage.status != "skipped")))
        inbox = s.scalar(select(func.count(ConsoleInboxMessage.id))) or 0
    # Monday 09:00 in Shanghai: the weekly digest and the morning task list are genuinely due; no nudge is.
    assert not [k for k in kinds if k.startswith(("nudge.", "lead.", "swarm.", "ticket."))], kinds
    assert set(kinds) <= {"digest.weekly", "digest.daily", "tasks.due"}, kinds
    per_user = Counter(user for user, _ in inbox_kinds(wiring).elements())
    assert inbox == sum(per_user.values()) and max(per_user.values()) <= 2, per_user  # one digest, one task list
    assert due_rows(wiring) == 0

    # The scans still work on demo data: a fortnight of silence later, stale deals do nudge.
    wiring.clock.advance(days=15)
    one_scheduler_and_deliverer_pass(wiring)
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "nudge.deal.stale",
                                                                   OutboxMessage.status == "sent")) > 0


def test_the_command_shows_progress_and_the_tour_ids_belong_to_li_and_emma(wiring, database_url, tmp_path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WECOM_", "CHATCRM_", "DATABASE_URL"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=database_url)
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--leads", "20"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for phase in ("leads, deals and activities / 线索、商机和跟进记录 20/20", "contracts and tickets / 合同和工单 1/1",
                  "recording past nudges as handled / 将过去的提醒记为已处理 5/5"):
        assert f"demo: {phase}" in out, out
    leads = "demo: leads, deals and activities / 线索、商机和跟进记录"
    assert out.index(f"{leads} 5/20") < out.index(f"{leads} 20/20")
    assert "Traceback" not in proc.stderr
    li = re.search(r"以 li（李雷）身份试试：chatcrm console --as li\s+然后输入：线索 (L-\d+) · 商机 (D-\d+) · 推进 (D-\d+)", out)
    emma = re.search(r"Try as emma \(Emma Jones\): chatcrm console --as emma\s+then: lead (L-\d+) · deal (D-\d+) · "
                     r"advance (D-\d+)", out)
    assert li and emma, out
    with wiring.session_factory() as s:
        for match, key in ((li, "li"), (emma, "emma")):
            lead_ref, deal_ref, advance_ref = match.groups()
            assert deal_ref == advance_ref
            lead = s.get(Lead, int(lead_ref[2:]))
            deal = s.get(Deal, int(deal_ref[2:]))
            assert lead is not None and lead.owner.key == key and lead.status == "open"
            assert deal is not None and deal.owner.key == key and deal.status == "open"


def test_the_tour_works_as_printed(wiring, console_bot):  # type: ignore[no-untyped-def]
    from bot.demo import tour_ids
    load_demo(wiring.runner, leads=30)
    ids = {t.user: t for t in tour_ids(wiring.runner)}
    li = console_bot("li")
    assert f"线索 {ids['li'].lead}" in li.exec(f"线索 {ids['li'].lead}")
    shown = li.exec(f"商机 {ids['li'].deal}")
    assert f"商机 {ids['li'].deal}" in shown and "李雷" in shown
    emma = console_bot("emma")
    assert f"Deal {ids['emma'].deal}" in emma.exec(f"deal {ids['emma'].deal}")
    assert "not allowed" not in emma.exec(f"advance {ids['emma'].deal}").lower()
