"""What a digest says, computed for one scope (a manager's team, or everyone for admins).

A bounded number of queries per scope, whatever the amount of data: the pipeline report queries of
crm_core.queries.pipeline (open pipeline, closed deals, quota) plus one grouped query each for the
per-rep lines (open deals, closed in the period, win rate, first response, SLA breaches, stale deals).

The digest job sends many digests at once: `RunFigures` runs those grouped queries once for everyone,
per owner, and `RunFigures.collect` slices them for each recipient's team (no query per recipient).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, insert, select
from sqlalchemy.orm import Session

from crm_core.config import Config
from crm_core.models import Deal, DigestSnapshot, Lead, SlaBreach, User
from crm_core.company_time import company_tz
from crm_core.queries.pipeline import (WINDOW_DAYS, ClosedStats, Forecast, OpenPipeline, assemble_pipeline,
                                       closed_stats, monthly_quota, open_pipeline, periods)
from crm_core.services.money import quantize
from crm_core.services.permissions import chain_below
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


# --- one run, many recipients ----------------------------------------------------------------------

def _dec(value: Any) -> Decimal:
    return ZERO if value is None else quantize(Decimal(str(value)))


@dataclass(frozen=True)
class _Person:
    id: int
    key: str
    name: str
    role: str
    active: bool
    manager_id: int | None


class RunFigures:
    """Everything the digests of one run show, queried once, per owner (8 statements whatever the number
    of recipients, reps or deals); `collect` sums the owners of a scope into what `collect()` returns."""

    def __init__(self, session: Session, config: Config, *, period: str, day: date, now: datetime) -> None:
        self.config, self.period, self.day, self.now = config, period, day, now
        self.since = since = now - timedelta(days=7 if period == "weekly" else 1)
        month, quarter = self.periods = periods(config, now)
        tz = company_tz(config)
        (ms, me), (qs, qe) = month.utc_bounds(tz), quarter.utc_bounds(tz)
        since_window = now - timedelta(days=WINDOW_DAYS)  # closed_stats' window
        since_90 = now - timedelta(days=WIN_RATE_DAYS)

        # SQLite walks the owner_id index to group by it, one table look-up per row (10x slower over 100k deals
        # than reading the rows and sorting 200 owners): `owner_id + 0` groups by an expression instead.
        sqlite = session.get_bind().dialect.name == "sqlite"

        def by_owner(column: Any) -> Any:
            return (column + 0).label("owner") if sqlite else column

        def in_period(start: date, end: date) -> Any:
            return func.sum(case(((Deal.close_date >= start) & (Deal.close_date < end), Deal.amount)))

        self.open: dict[int, dict[str, tuple[int, Decimal, Decimal, Decimal]]] = {}
        for owner, stage, n, total, m, q in session.execute(
                select(by_owner(Deal.owner_id), Deal.stage, func.count(Deal.id), func.sum(Deal.amount),
                       in_period(month.start, month.end), in_period(quarter.start, quarter.end))
                .where(Deal.status == "open").group_by(by_owner(Deal.owner_id), Deal.stage)):
            self.open.setdefault(owner, {})[stage] = (int(n), _dec(total), _dec(m), _dec(q))
        won, lost = Deal.status == "won", Deal.status == "lost"

        def count(cond: Any) -> Any:
            return func.count(case((cond, Deal.id)))

        def total(cond: Any) -> Any:
            return func.sum(case((cond, Deal.amount)))

        self.closed: dict[int, tuple[Any, ...]] = {}
        for row in session.execute(select(
                by_owner(Deal.owner_id),
                count(won & (Deal.closed_at >= since_window)), count(lost & (Deal.closed_at >= since_window)),
                total(won & (Deal.closed_at >= ms) & (Deal.closed_at < me)),
                total(won & (Deal.closed_at >= qs) & (Deal.closed_at < qe)),
                count(won & (Deal.closed_at >= since)), total(won & (Deal.closed_at >= since)),
                count(lost & (Deal.closed_at >= since)), total(lost & (Deal.closed_at >= since)),
                count(won & (Deal.closed_at >= since_90)), count(lost & (Deal.closed_at >= since_90)))
                .where(Deal.status.in_(("won", "lost")), Deal.closed_at >= min(since, since_90, since_window, qs))
                .group_by(by_owner(Deal.owner_id))):
            owner, w_win, l_win, m_amt, q_amt, w, wa, lo, la, w90, l90 = row
            self.closed[owner] = (int(w_win), int(l_win), _dec(m_amt), _dec(q_amt), int(w), Decimal(str(wa or 0)),
                                  int(lo), Decimal(str(la or 0)), int(w90), int(l90))
        self.response = {o: None if avg is None else max(0, round(float(avg))) for o, avg in session.execute(
            select(by_owner(Lead.owner_id), func.avg(_seconds(session))).where(
                Lead.first_responded_at.is_not(None), Lead.assigned_at >= now - timedelta(days=RESPONSE_DAYS))
            .group_by(by_owner(Lead.owner_id)))}
        self.breaches = {o: int(n) for o, n in session.execute(
            select(by_owner(SlaBreach.owner_id), func.count(SlaBreach.id)).where(SlaBreach.at >= since)
            .group_by(by_owner(SlaBreach.owner_id))) if o is not None}
        self.stale = {o: int(n) for o, n in session.execute(
            select(by_owner(Deal.owner_id), func.count(Deal.id)).where(stale_condition(config, now))
            .group_by(by_owner(Deal.owner_id)))}
        self.people = {p.id: p for p in (
            _Person(uid, key, name, role, bool(active), manager_id) for uid, key, name, role, active, manager_id
            in session.execute(select(User.id, User.key, User.name, User.role, User.active, User.manager_id)
                               .order_by(User.id)))}
        self._children: dict[int | None, list[int]] = {}
        for p in self.people.values():
            self._children.setdefault(p.manager_id, []).append(p.id)
        latest = (select(DigestSnapshot.scope, func.max(DigestSnapshot.period_key).label("key"))
                  .where(DigestSnapshot.period == period, DigestSnapshot.period_key < day.isoformat())
                  .group_by(DigestSnapshot.scope).subquery())
        self.previous: dict[str, tuple[dict[str, Any], str]] = {
            scope: (data, key) for scope, data, key in session.execute(
                select(DigestSnapshot.scope, DigestSnapshot.data, DigestSnapshot.period_key)
                .join(latest, (latest.c.scope == DigestSnapshot.scope) & (latest.c.key == DigestSnapshot.period_key))
                .where(DigestSnapshot.period == period))}

    def team_ids(self, manager_id: int) -> set[int]:
        """crm_core.services.permissions.team_ids, from the users read once."""
        return chain_below(self._children, manager_id)

    def collect(self, owner_ids: set[int] | None, *, scope: str) -> DigestData:
        """What `collect()` returns for this scope, from the figures of the run."""
        def owners(figures: dict[int, Any]) -> list[int]:
            return [o for o in figures if owner_ids is None or o in owner_ids]

        stages: dict[str, tuple[int, Decimal, Decimal, Decimal]] = {}
        for owner in owners(self.open):
            for stage, (n, t, m, q) in self.open[owner].items():
                n0, t0, m0, q0 = stages.get(stage, (0, ZERO, ZERO, ZERO))
                stages[stage] = (n0 + n, t0 + t, m0 + m, q0 + q)
        pipeline = assemble_pipeline(self.config, stages)
        closed_owners = owners(self.closed)
        closed = ClosedStats(sum(self.closed[o][0] for o in closed_owners), sum(self.closed[o][1] for o in closed_owners),
                             sum((self.closed[o][2] for o in closed_owners), ZERO),
                             sum((self.closed[o][3] for o in closed_owners), ZERO))
        quotas = {u.key: u.quota for u in self.config.users if u.quota is not None}
        keys = set(quotas) if owner_ids is None else {self.people[i].key for i in owner_ids if i in self.people} & set(quotas)
        quota = quantize(sum((quotas[k] for k in keys), Decimal(0))) if keys else None  # type: ignore[misc]
        month, quarter = self.periods
        forecast = (Forecast(month, pipeline.weighted_in_month, closed.won_in_month, quota),
                    Forecast(quarter, pipeline.weighted_in_quarter, closed.won_in_quarter,
                             None if quota is None else quota * quarter.months))
        figures = set(self.open) | set(self.closed) | set(self.response) | set(self.breaches) | set(self.stale)
        reps: list[RepStats] = []
        for p in self.people.values():
            if not p.active or (owner_ids is not None and p.id not in owner_ids):
                continue
            if p.id not in figures and p.role != "rep":
                continue
            _, _, _, _, w, wa, lo, la, w90, l90 = self.closed.get(p.id, (0, 0, ZERO, ZERO, 0, ZERO, 0, ZERO, 0, 0))
            open_by_stage = self.open.get(p.id, {}).values()
            reps.append(RepStats(
                user_id=p.id, name=p.name, open_count=sum(v[0] for v in open_by_stage),
                open_amount=quantize(sum((v[1] for v in open_by_stage), ZERO)), won=w, won_amount=quantize(wa),
                lost=lo, lost_amount=quantize(la), won_90=w90, lost_90=l90, response_seconds=self.response.get(p.id),
                breaches=self.breaches.get(p.id, 0), stale=self.stale.get(p.id, 0)))
        previous = self.previous.get(scope)
        return DigestData(
            scope=scope, period=self.period, day=self.day, since=self.since, pipeline=pipeline, forecast=forecast,
            won=sum(r.won for r in reps), lost=sum(r.lost for r in reps),
            won_amount=quantize(sum((r.won_amount for r in reps), ZERO)),
            lost_amount=quantize(sum((r.lost_amount for r in reps), ZERO)),
            breaches=sum(r.breaches for r in reps), stale=sum(r.stale for r in reps),
            reps=tuple(sorted(reps, key=lambda r: (-r.open_amount, r.name))),
            previous=previous[0] if previous is not None else None,
            previous_day=previous[1] if previous is not None else None)


def save_snapshots(session: Session, datas: list[DigestData], period: str, now: datetime) -> None:
    """`save_snapshot` for every scope of a run: one query for those saved already, one executemany INSERT."""
    if not datas:
        return
    day = datas[0].day.isoformat()
    saved = set(session.scalars(select(DigestSnapshot.scope).where(
        DigestSnapshot.scope.in_(sorted({d.scope for d in datas})), DigestSnapshot.period == period,
        DigestSnapshot.period_key == day)))
    rows = {d.scope: {"scope": d.scope, "period": period, "period_key": day, "data": d.snapshot(), "created_at": now}
            for d in datas if d.scope not in saved}
    if rows:
        session.connection().execute(insert(DigestSnapshot.__table__), list(rows.values()))
