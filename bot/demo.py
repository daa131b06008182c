"""`chatcrm demo`: a realistic sample — a few hundred leads and deals across stages, with activities.

The data is dated over the last 90 days up to today, and the demo leaves nothing stale behind: what
its own actions queued (new-lead cards of 90 days ago, swarm posts) and the nudges that fell due in the
past (SLA breaches, stale deals, renewal reminders — recorded as breaches, marks and renewal deals by
the scheduler's own jobs, run once at the end) are recorded as handled, not sent. After `demo`,
`serve` only sends what falls due from now on (and today's digest and task list).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from cards.i18n import is_chinese, translator
from crm_core.clock import FrozenClock
from crm_core.config import Stage
from crm_core.db import read_only
from crm_core.errors import DomainError
from crm_core.models import Account, Deal, Lead, OutboxMessage, User
from crm_core.refs import Ref
from crm_core.services.activities import do_log_activity
from crm_core.services.conversion import do_convert_lead
from crm_core.services.contracts import do_create_contract
from crm_core.services.closing import do_close
from crm_core.services.deals import do_move_stage, do_set_fields
from crm_core.company_time import local_date
from crm_core.services.leads import LeadInput, do_create_lead
from crm_core.services.tickets import do_ack, do_open_ticket
from crm_core.services.users import locale_of
from crm_core.services.tickets import do_close as do_close_ticket
from handlers.runner import Runner
from scheduler.leader import AlwaysLeader
from scheduler.jobs.ladders import mark_reached
from scheduler.service import SchedulerService

Progress = Callable[[str, int, int], None]  # (phase, done, total)
SETTLE_JOBS = ("lead_sla", "ticket_sla", "stale_deals", "renewals")  # scans whose past nudges are history

CN_COMPANIES = ["华星", "远航", "云图", "金桥", "蓝海", "天衡", "博睿", "鼎盛", "启明", "万联", "青木", "汇通", "朗润",
                "嘉禾", "峰火", "瑞达", "同创", "恒信", "星河", "正元"]
CN_SUFFIX = ["科技有限公司", "软件有限公司", "智能制造有限公司", "网络科技有限公司", "信息技术有限公司"]
CITIES = ["深圳", "上海", "北京", "杭州", "成都", "苏州"]
EN_COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne",
                "Soylent", "Vandelay", "Pied Piper", "Aperture", "Gringotts"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明"]
EN_NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Oscar"]
NOTES = ["谈了预算和时间表", "客户关心数据安全", "Demo went well, they want a pilot", "Sent pricing sheet",
         "约了下周现场拜访", "Legal asked for our DPA", "决策人是 CTO", "Competitor is cheaper but slower"]


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


def load_demo(runner: Runner, *, leads: int = 300, seed: int = 7, progress: Progress | None = None) -> dict[str, int]:
    """Create sample data through the same services people use (dedupe, scoring, assignment included).
    `progress(phase, done, total)` is called as it goes (phases: leads, service, settle)."""
    report = progress or _no_progress
    rng = random.Random(seed)
    real_now = runner.clock.now()
    first_outbox = _last_outbox_id(runner)
    clock = FrozenClock(real_now - timedelta(days=90))
    step = timedelta(days=88) / max(leads, 1)
    stats = {"leads": 0, "duplicates": 0, "deals": 0, "won": 0, "lost": 0, "activities": 0}
    stages = runner.config.pipeline.open_stages
    for i in range(leads):
        clock.set(real_now - timedelta(days=90) + step * i)
        chinese = rng.random() < 0.6
        if chinese:
            company = f"{rng.choice(CITIES)}{rng.choice(CN_COMPANIES)}{rng.choice(CN_SUFFIX)}"
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            region = rng.choice(["east", "east", "west"])
            phone = f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
        else:
            company = f"{rng.choice(EN_COMPANIES)} {rng.choice(['Inc.', 'Ltd', 'LLC', 'GmbH'])}"
            name = rng.choice(EN_NAMES) + " " + rng.choice(["Smith", "Lee", "Brown", "Khan", "Garcia"])
            region = rng.choice(["intl", "west"])
            phone = f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        data = LeadInput(name=name, company=company, phone=phone,
                         email=f"contact{i}@example.com" if rng.random() < 0.7 else None,
                         source=rng.choice(["web", "referral", "event", "ads", "api"]), region=region,
                         industry=rng.choice(["software", "manufacturing", "finance", "retail"]),
                         product=rng.choice(["PRO", "STD", "ENT"]))
        with runner.uow_factory(clock=clock) as uow:
            result = do_create_lead(uow, data, actor=None, now=clock.now())
            lead_id, owner_id, created = result.lead.id, result.lead.owner_id, result.created
        stats["leads" if created else "duplicates"] += 1
        if created and rng.random() >= 0.45:
            _work_lead(runner, clock, rng, lead_id, owner_id, stages, stats, real_now)
        report("leads", i + 1, leads)
    report("service", 0, 1)
    stats.update(_service_demo(runner, rng, real_now))
    _tour_records(runner, rng, real_now, stats)
    report("service", 1, 1)
    stats.update(settle(runner, after_outbox_id=first_outbox, progress=report))
    return stats


def _last_outbox_id(runner: Runner) -> int:
    with read_only(runner.session_factory)() as s:
        return s.scalar(select(func.max(OutboxMessage.id))) or 0


def settle(runner: Runner, *, after_outbox_id: int, progress: Progress = _no_progress) -> dict[str, int]:
    """Make the past the past: run the scheduler's scans once at the present (SLA breach rows, reassigned
    leads, renewal deals, stale-deal episodes get recorded, exactly as a scheduler that had been running
    all along would have left them), then record every message queued since `after_outbox_id` — all of
    it about the demo's history — as handled ("skipped") instead of delivering it now."""
    now = runner.clock.now()
    service = SchedulerService(runner.uow_factory.with_clock(FrozenClock(now)), AlwaysLeader())
    for n, job in enumerate(SETTLE_JOBS):
        service.run_job(job)
        progress("settle", n + 1, len(SETTLE_JOBS) + 1)
    mark_reached(runner.uow_factory.with_clock(FrozenClock(now))(), now)  # the ladders: idle history, not news
    with runner.uow_factory() as uow:
        done = uow.session.execute(update(OutboxMessage)
                         .where(OutboxMessage.id > after_outbox_id, OutboxMessage.status == "pending")
                         .values(status="skipped", sent_at=now, last_error="demo history: recorded, not sent")
                         .execution_options(synchronize_session=False)).rowcount
    progress("settle", len(SETTLE_JOBS) + 1, len(SETTLE_JOBS) + 1)
    return {"past_messages": int(done or 0)}


@dataclass(frozen=True)
class TourIds:
    user: str
    name: str
    locale: str
    lead: str | None
    deal: str | None


def tour_ids(runner: Runner, keys: tuple[str, ...] = ("li", "emma")) -> list[TourIds]:
    """For each user: an open lead and an open deal they own (the most recently touched), for the tour."""
    out = []
    with read_only(runner.session_factory)() as s:
        for key in keys:
            user = s.scalar(select(User).where(User.key == key))
            if user is None:
                continue
            lead = s.scalar(select(Lead.id).where(Lead.owner_id == user.id, Lead.status == "open")
                            .order_by(Lead.created_at.desc(), Lead.id.desc()).limit(1))
            deal = s.scalar(select(Deal.id).where(Deal.owner_id == user.id, Deal.status == "open")
                            .order_by(Deal.last_activity_at.desc(), Deal.id.desc()).limit(1))
            out.append(TourIds(key, user.name, locale_of(user, runner.config), str(Ref("lead", lead)) if lead else None,
                               str(Ref("deal", deal)) if deal else None))
    return out


t = translator("demo")


def tour_lines(runner: Runner) -> list[str]:
    """What `chatcrm demo` prints last: the ids li and emma own, for the README tour."""
    lines = []
    for ids in tour_ids(runner):
        if ids.lead is None or ids.deal is None:
            continue
        lines.append(t(ids.locale, "tour", user=ids.user, name=ids.name, lead=ids.lead, deal=ids.deal))
    return lines


TOUR_USERS = ("li", "emma")


def _tour_records(runner: Runner, rng: random.Random, real_now: datetime, stats: dict[str, int]) -> None:
    """The README tour's users each get an open lead and an open deal of their own (a small demo may
    have assigned them none): entered by them yesterday, answered, so no SLA is running."""
    have = {t.user: t for t in tour_ids(runner, TOUR_USERS)}
    clock = FrozenClock(real_now - timedelta(days=1))
    for n, key in enumerate(TOUR_USERS):
        ids = have.get(key)
        if ids is None or (ids.lead and ids.deal):
            continue
        with runner.uow_factory(clock=clock) as uow:
            user = uow.session.scalar(select(User).where(User.key == key))
            assert user is not None
            zh = is_chinese(locale_of(user, runner.config))  # the demo data's language (names, companies)
            wanted = ([] if ids.lead else ["lead"]) + ([] if ids.deal else ["deal"])
            for i, what in enumerate(wanted):
                clock.advance(minutes=30)
                data = LeadInput(name=("周" + GIVEN[(n + i) % len(GIVEN)]) if zh else f"Tour {EN_NAMES[n + i]} Lee",
                                 company=f"{CITIES[i]}{CN_COMPANIES[n]}{CN_SUFFIX[i]}" if zh
                                 else f"{EN_COMPANIES[n + i]} Tour Ltd", email=f"tour-{key}-{what}@example.com",
                                 source="referral", region="east" if zh else "intl", industry="software",
                                 product="PRO")
                lead = do_create_lead(uow, data, actor=user, now=clock.now()).lead
                clock.advance(minutes=10)
                do_log_activity(uow, user, Ref("lead", lead.id), "call", rng.choice(NOTES), now=clock.now())
                stats["leads"] += 1
                stats["activities"] += 1
                if what == "deal":
                    do_convert_lead(uow, user, lead.id, amount=Decimal(120000), now=clock.now())
                    stats["deals"] += 1


def _work_lead(runner: Runner, clock: FrozenClock, rng: random.Random, lead_id: int, owner_id: int,
               stages: list[Stage], stats: dict[str, int], real_now: datetime) -> None:
    with runner.uow_factory(clock=clock) as uow:
        owner = uow.session.get(User, owner_id)
        assert owner is not None
        clock.advance(minutes=rng.randint(3, 40))
        do_log_activity(uow, owner, Ref("lead", lead_id), "call", rng.choice(NOTES), now=clock.now())
        amount = Decimal(rng.choice([30000, 60000, 90000, 120000, 180000, 250000, 400000]))
        conv = do_convert_lead(uow, owner, lead_id, amount=amount, now=clock.now())
        deal = conv.deal
        stats["deals"] += 1
        stats["activities"] += 1
        target = rng.randint(0, len(stages) - 1)
        try:
            for stage in stages[1:target + 1]:
                clock.advance(days=rng.randint(1, 6))
                values = _fill(stage.required, rng, clock.now().date())
                if values:
                    do_set_fields(uow, owner, deal, values, now=clock.now())
                do_move_stage(uow, owner, deal, stage, now=clock.now())
                do_log_activity(uow, owner, Ref("deal", deal.id), rng.choice(["call", "meeting", "email"]),
                                rng.choice(NOTES), now=clock.now())
                stats["activities"] += 1
            if target == len(stages) - 1 and rng.random() < 0.6:
                won = rng.random() < 0.55
                do_close(uow, owner, deal, won=won, reason=None if won else rng.choice(["价格", "budget cut", "竞品"]),
                         now=clock.now())
                stats["won" if won else "lost"] += 1
        except DomainError:
            pass  # a demo deal that cannot move further simply stays where it is
        recent = real_now - timedelta(hours=rng.randint(2, 24 * 9))
        if deal.status == "open" and recent > clock.now() and rng.random() < 0.75:
            # Most open deals were touched in the last days, as in a team that uses its CRM.
            clock.set(recent)
            do_log_activity(uow, owner, Ref("deal", deal.id), rng.choice(["call", "email"]), rng.choice(NOTES),
                            now=clock.now())
            stats["activities"] += 1


def _fill(required: list[str], rng: random.Random, today: date) -> dict[str, str]:
    values = {"budget": "yes", "decision_maker": rng.choice(["CTO", "CFO", "采购总监"]),
              "close_date": (today + timedelta(days=rng.randint(20, 120))).isoformat()}
    return {f: values.get(f, "yes") for f in required if f not in ("amount", "contact")}


def demo_loaded(runner: Runner) -> bool:
    with read_only(runner.session_factory)() as s:
        return (s.scalar(select(func.count(Lead.id))) or 0) > 0 or (s.scalar(select(func.count(Deal.id))) or 0) > 0


SUBJECTS = ["无法登录", "报表导出很慢", "Invoice shows the wrong tax", "数据同步失败", "API returns 500",
            "需要增加账号", "Password reset mail never arrives", "打印模板错位"]


def _service_demo(runner: Runner, rng: random.Random, real_now: datetime) -> dict[str, int]:
    """Tickets on existing accounts (some acked, some closed, some breached) and contracts that come up
    for renewal within 90 days, so `renewals`, `my` and `pipeline` have answers."""
    term = runner.config.renewals.default_term_days
    out = {"contracts": 0, "tickets": 0}
    with read_only(runner.session_factory)() as s:
        accounts = [(a.id, a.name, a.owner_id) for a in s.scalars(select(Account).order_by(Account.id).limit(24))]
        support = s.scalar(select(User.id).where(User.key == "sup"))
    for i, (account_id, name, owner_id) in enumerate(accounts):
        with runner.uow_factory(clock=FrozenClock(real_now)) as uow:
            owner = uow.session.get(User, owner_id)
            assert owner is not None
            if i % 2 == 0:  # every other account has a contract ending in the next 10–85 days
                start = local_date(uow.config, real_now) - timedelta(days=term - rng.randint(10, 85))
                contract = do_create_contract(uow, account_id=account_id, owner_id=owner_id, start=start,
                                              value=Decimal(rng.choice([36000, 60000, 120000, 240000])),
                                              now=real_now, actor_id=owner_id)
                contract.usage_pct, contract.nps = rng.randint(20, 100), rng.choice([None, -20, 10, 40, 70])
                out["contracts"] += 1
            if i % 3 != 2:  # two accounts in three have a ticket opened in the last four days
                opened = real_now - timedelta(hours=rng.randint(1, 96))
                actor = (uow.session.get(User, support) if support else None) or owner
                ticket = do_open_ticket(uow, actor, account_name=name, subject=rng.choice(SUBJECTS),
                                        priority=rng.choice(["urgent", "high", "normal", "normal", "low"]), now=opened)
                out["tickets"] += 1
                acked = opened + timedelta(minutes=rng.randint(5, 300))
                if acked < real_now and rng.random() < 0.6:
                    do_ack(uow, ticket.owner, ticket, now=acked)
                    closed = acked + timedelta(hours=rng.randint(1, 20))
                    if closed < real_now and rng.random() < 0.5:
                        do_close_ticket(uow, ticket.owner, ticket, now=closed)
    return out
