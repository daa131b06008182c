"""What a digest says, computed for one scope (a manager's team, or everyone for admins).

A bounded number of queries per scope, whatever the amount of data: the pipeline report queries of
crm_core.queries.pipeline (open pipeline, closed deals, quota) plus one grouped query each for the
per-rep lines (open deals, closed in the period, win rate, first response, SLA breaches, stale deals).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from crm_core.config import Config
from crm_core.models import Deal, DigestSnapshot, Lead, SlaBreach, User
from crm_core.queries.pipeline import (Forecast, OpenPipeline, closed_stats, monthly_quota, open_pipeline,
                                       periods)
from crm_core.services.money import quantize
from scheduler.jobs.deals import stale_condition

WIN_RATE_DAYS = 90
RESPONSE_DAYS = 30
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RepStats:
    user_id: int
    name: str
    open_count: int
    open_amount: Decimal
    won: int  # in the period
    won_amount: Decimal
    lost: int
    lost_amount: Decimal
    won_90: int  # for the win rate
    lost_90: int
    response_seconds: int | None  # average first response, last RESPONSE_DAYS
    breaches: int  # in the period
    stale: int  # now

    @property
    def win_rate(self) -> Decimal | None:
        closed = self.won_90 + self.lost_90
        return None if closed == 0 else (Decimal(self.won_90) * 100 / closed).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class DigestData:
    scope: str  # team:<manager id> | all
    period: str  # daily | weekly
    day: date  # company date the digest is for
    since: datetime  # start of the period (won / lost / breaches counted from here)
    pipeline: OpenPipeline
    forecast: tuple[Forecast, Forecast]
    won: int
    won_amount: Decimal
    lost: int
    lost_amount: Decimal
    breaches: int
    stale: int
    reps: tuple[RepStats, ...]
    previous: dict[str, Any] | None  # the snapshot of the previous digest of this scope and period
    previous_day: str | None

    def snapshot(self) -> dict[str, Any]:
        return {"stages": {s.stage: {"count": s.count, "amount": str(s.amount)} for s in self.pipeline.stages},
                "open_count": self.pipeline.count, "open_amount": str(self.pipeline.amount)}


def _scoped(stmt: Select[Any], column: Any, owner_ids: set[int] | None) -> Select[Any]:
    return stmt if owner_ids is None else stmt.where(column.in_(sorted(owner_ids)))


def _seconds(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Lead.first_responded_at - Lead.assigned_at)
    return (func.julianday(Lead.first_responded_at) - func.julianday(Lead.assigned_at)) * 86400.0


def collect(session: Session, config: Config, owner_ids: set[int] | None, *, scope: str, period: str,
            day: date, now: datetime) -> DigestData:
    since = now - timedelta(days=7 if period == "weekly" else 1)
    pipeline = open_pipeline(session, config, owner_ids, now)
    closed = closed_stats(session, config, owner_ids, now)
    quota = monthly_quota(session, config, owner_ids)
    month, quarter = periods(config, now)
    forecast = (Forecast(month, pipeline.weighted_in_month, closed.won_in_month, quota),
                Forecast(quarter, pipeline.weighted_in_quarter, closed.won_in_quarter,
                         None if quota is None else quota * quarter.months))
    reps = _rep_stats(session, config, owner_ids, since, now)
    previous = session.scalars(select(DigestSnapshot).where(
        DigestSnapshot.scope == scope, DigestSnapshot.period == period, DigestSnapshot.period_key < day.isoformat())
        .order_by(DigestSnapshot.period_key.desc()).limit(1)).first()
    return DigestData(
        scope=scope, period=period, day=day, since=since, pipeline=pipeline, forecast=forecast,
        won=sum(r.won for r in reps.values()), lost=sum(r.lost for r in reps.values()),
        won_amount=quantize(sum((r.won_amount for r in reps.values()), ZERO)),
        lost_amount=quantize(sum((r.lost_amount for r in reps.values()), ZERO)),
        breaches=sum(r.breaches for r in reps.values()), stale=sum(r.stale for r in reps.values()),
        reps=tuple(sorted((r for r in reps.values()), key=lambda r: (-r.open_amount, r.name))),
        previous=previous.data if previous is not None else None,
        previous_day=previous.period_key if previous is not None else None)


def _rep_stats(session: Session, config: Config, owner_ids: set[int] | None, since: datetime,
               now: datetime) -> dict[int, RepStats]:
    """Per-owner figures, one grouped query each."""
    open_rows = session.execute(_scoped(select(Deal.owner_id, func.count(Deal.id), func.sum(Deal.amount))
                                        .where(Deal.status == "open"), Deal.owner_id, owner_ids)
                                .group_by(Deal.owner_id))
    opened = {o: (int(n), quantize(Decimal(str(a or 0)))) for o, n, a in open_rows}
    since_90 = now - timedelta(days=WIN_RATE_DAYS)
    closed_rows = session.execute(_scoped(select(
        Deal.owner_id,
        func.count(case(((Deal.status == "won") & (Deal.closed_at >= since), Deal.id))),
        func.sum(case(((Deal.status == "won") & (Deal.closed_at >= since), Deal.amount))),
        func.count(case(((Deal.status == "lost") & (Deal.closed_at >= since), Deal.id))),
        func.sum(case(((Deal.status == "lost") & (Deal.closed_at >= since), Deal.amount))),
        func.count(case((Deal.status == "won", Deal.id))),
        func.count(case((Deal.status == "lost", Deal.id))),
    ).where(Deal.status.in_(("won", "lost")), Deal.closed_at >= min(since, since_90)), Deal.owner_id, owner_ids)
        .group_by(Deal.owner_id))
    closed = {o: (int(w), Decimal(str(wa or 0)), int(lo), Decimal(str(la or 0)), int(w90), int(l90))
              for o, w, wa, lo, la, w90, l90 in closed_rows}
    response_rows = session.execute(_scoped(select(Lead.owner_id, func.avg(_seconds(session))).where(
        Lead.first_responded_at.is_not(None), Lead.assigned_at >= now - timedelta(days=RESPONSE_DAYS)),
        Lead.owner_id, owner_ids).group_by(Lead.owner_id))
    response = {o: (None if avg is None else max(0, round(float(avg)))) for o, avg in response_rows}
    breach_rows = session.execute(_scoped(select(SlaBreach.owner_id, func.count(SlaBreach.id))
                                          .where(SlaBreach.at >= since), SlaBreach.owner_id, owner_ids)
                                  .group_by(SlaBreach.owner_id))
    breaches = {o: int(n) for o, n in breach_rows if o is not None}
    stale_rows = session.execute(_scoped(select(Deal.owner_id, func.count(Deal.id)).where(
        stale_condition(config, now)), Deal.owner_id, owner_ids).group_by(Deal.owner_id))
    stale = {o: int(n) for o, n in stale_rows}
    people = set(opened) | set(closed) | set(response) | set(breaches) | set(stale)
    users = _scoped(select(User.id, User.name, User.role).where(User.active.is_(True)), User.id, owner_ids)
    out: dict[int, RepStats] = {}
    for uid, name, role in session.execute(users):
        if uid not in people and role != "rep":
            continue
        w, wa, lo, la, w90, l90 = closed.get(uid, (0, ZERO, 0, ZERO, 0, 0))
        n, amount = opened.get(uid, (0, ZERO))
        out[uid] = RepStats(user_id=uid, name=name, open_count=n, open_amount=amount, won=w,
                            won_amount=quantize(wa), lost=lo, lost_amount=quantize(la), won_90=w90, lost_90=l90,
                            response_seconds=response.get(uid), breaches=breaches.get(uid, 0),
                            stale=stale.get(uid, 0))
    return out


def save_snapshot(session: Session, data: DigestData, period: str, now: datetime) -> None:
    """Remember what this digest showed (once per scope, period and day)."""
    exists = session.scalar(select(DigestSnapshot.id).where(
        DigestSnapshot.scope == data.scope, DigestSnapshot.period == period,
        DigestSnapshot.period_key == data.day.isoformat()))
    if exists is None:
        session.add(DigestSnapshot(scope=data.scope, period=period, period_key=data.day.isoformat(),
                                   data=data.snapshot(), created_at=now))
        session.flush()
