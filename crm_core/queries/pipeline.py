"""The pipeline report: funnel, conversion, win rate, lead response time, forecast against quota.

Every function takes (session, config, owner_ids, now): owner_ids is the set of users whose records
count (crm_core.services.permissions.visible_owner_ids: a rep themself, a manager their team), or
None for everybody. Each function is ONE aggregate query, so the report costs the same number of
queries whatever the amount of data (`pipeline_report` = 5). The scheduler's digests reuse them.

Definitions (README: docs/service.md):
- stages: open deals per open stage: count, amount, weighted amount (amount × stage probability).
- conversion over the last `days` (90): of the deals that entered stage S in the window, the share
  that later moved to any stage after S in pipeline order (won included, lost not).
- win rate: won / (won + lost) among deals closed in the window.
- lead response: average of first_responded_at − assigned_at over leads assigned in the window and
  responded to (assigned_at is the latest assignment, so a reassigned lead counts from its new owner).
- forecast for this month and this quarter (company timezone): weighted amount of open deals whose
  close date falls in the period + amount of deals won in the period; quota = the sum of the
  configured `quota` of the people in scope, taken as a monthly figure (the quarter's is 3×).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, distinct, func, select
from sqlalchemy.orm import Session, aliased

from crm_core.company_time import company_tz, local_date
from crm_core.config import Config
from crm_core.models import Deal, Lead, StageChange, User
from crm_core.services.money import quantize

ZERO = Decimal("0.00")
WINDOW_DAYS = 90


def _dec(value: Any) -> Decimal:
    return ZERO if value is None else quantize(Decimal(str(value)))


def _scoped(stmt: Select[Any], column: Any, owner_ids: set[int] | None) -> Select[Any]:
    return stmt if owner_ids is None else stmt.where(column.in_(sorted(owner_ids)))


# --- periods -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    name: str  # month | quarter
    start: date  # first day, company time
    end: date  # first day of the next period (exclusive)
    months: int

    def utc_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        return (datetime.combine(self.start, time(0), tz).astimezone(timezone.utc),
                datetime.combine(self.end, time(0), tz).astimezone(timezone.utc))


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def periods(config: Config, now: datetime) -> tuple[Period, Period]:
    today = local_date(config, now)
    month = today.replace(day=1)
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return (Period("month", month, _add_months(month, 1), 1), Period("quarter", quarter, _add_months(quarter, 3), 3))


# --- open pipeline per stage -------------------------------------------------------------------------

@dataclass(frozen=True)
class StageRow:
    stage: str
    probability: int
    count: int
    amount: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class OpenPipeline:
    stages: tuple[StageRow, ...]
    weighted_in_month: Decimal  # weighted amount of open deals closing this month
    weighted_in_quarter: Decimal

    @property
    def count(self) -> int:
        return sum(s.count for s in self.stages)

    @property
    def amount(self) -> Decimal:
        return sum((s.amount for s in self.stages), ZERO)

    @property
    def weighted(self) -> Decimal:
        return sum((s.weighted for s in self.stages), ZERO)


def open_pipeline(session: Session, config: Config, owner_ids: set[int] | None, now: datetime) -> OpenPipeline:
    month, quarter = periods(config, now)

    def in_period(p: Period) -> Any:
        return func.sum(case((and_(Deal.close_date >= p.start, Deal.close_date < p.end), Deal.amount)))

    stmt = _scoped(select(Deal.stage, func.count(Deal.id), func.sum(Deal.amount), in_period(month),
                          in_period(quarter)).where(Deal.status == "open"), Deal.owner_id, owner_ids)
    rows = {stage: (int(n), _dec(total), _dec(m), _dec(q))
            for stage, n, total, m, q in session.execute(stmt.group_by(Deal.stage))}
    return assemble_pipeline(config, rows)


def assemble_pipeline(config: Config, rows: dict[str, tuple[int, Decimal, Decimal, Decimal]]) -> OpenPipeline:
    """The open pipeline from (count, amount, amount closing this month, … this quarter) per stage."""
    open_keys = [s.key for s in config.pipeline.open_stages]
    keys = open_keys + sorted(k for k in rows if k not in open_keys)  # a stage since removed from the config
    stages: list[StageRow] = []
    weighted_month = weighted_quarter = ZERO
    for key in keys:
        stage = config.pipeline.get(key)
        probability = stage.probability if stage is not None else 0
        n, total, m, q = rows.get(key, (0, ZERO, ZERO, ZERO))
        stages.append(StageRow(key, probability, n, total, quantize(total * probability / 100)))
        weighted_month += m * probability / 100
        weighted_quarter += q * probability / 100
    return OpenPipeline(tuple(stages), quantize(weighted_month), quantize(weighted_quarter))


# --- conversion --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConversionRow:
    from_stage: str
    to_stage: str  # the next stage in pipeline order (reaching any later one counts)
    entered: int
    advanced: int

    @property
    def rate(self) -> Decimal | None:
        return None if self.entered == 0 else (Decimal(self.advanced) * 100 / self.entered).quantize(Decimal("0.1"))


def stage_conversion(session: Session, config: Config, owner_ids: set[int] | None, now: datetime, *,
                     days: int = WINDOW_DAYS) -> tuple[ConversionRow, ...]:
    forward = [s.key for s in config.pipeline.open_stages] + [config.pipeline.won.key]
    rank = {key: i for i, key in enumerate(forward)}
    entry, later = aliased(StageChange), aliased(StageChange)
    later_rank = case(rank, value=later.to_stage, else_=-1)
    entry_rank = case(rank, value=entry.to_stage, else_=-1)
    stmt = (select(entry.to_stage, func.count(distinct(entry.deal_id)), func.count(distinct(later.deal_id)))
            .select_from(entry).join(Deal, Deal.id == entry.deal_id)
            .outerjoin(later, and_(later.deal_id == entry.deal_id, later.id > entry.id, later_rank > entry_rank))
            .where(entry.at >= now - timedelta(days=days), entry.to_stage.in_(forward[:-1]))
            .group_by(entry.to_stage))
    counts = {stage: (int(a), int(b)) for stage, a, b in session.execute(_scoped(stmt, Deal.owner_id, owner_ids))}
    return tuple(ConversionRow(key, forward[i + 1], *counts.get(key, (0, 0))) for i, key in enumerate(forward[:-1]))


# --- closed deals: win rate and won amounts ----------------------------------------------------------

@dataclass(frozen=True)
class ClosedStats:
    won: int  # closed in the window
    lost: int
    won_in_month: Decimal  # amount won this month / quarter (company time)
    won_in_quarter: Decimal

    @property
    def win_rate(self) -> Decimal | None:
        closed = self.won + self.lost
        return None if closed == 0 else (Decimal(self.won) * 100 / closed).quantize(Decimal("0.1"))


def closed_stats(session: Session, config: Config, owner_ids: set[int] | None, now: datetime, *,
                 days: int = WINDOW_DAYS) -> ClosedStats:
    tz = company_tz(config)
    month, quarter = periods(config, now)
    since = now - timedelta(days=days)
    (ms, me), (qs, qe) = month.utc_bounds(tz), quarter.utc_bounds(tz)
    won, lost = Deal.status == "won", Deal.status == "lost"
    stmt = select(
        func.count(case((and_(won, Deal.closed_at >= since), Deal.id))),
        func.count(case((and_(lost, Deal.closed_at >= since), Deal.id))),
        func.sum(case((and_(won, Deal.closed_at >= ms, Deal.closed_at < me), Deal.amount))),
        func.sum(case((and_(won, Deal.closed_at >= qs, Deal.closed_at < qe), Deal.amount))),
    ).where(Deal.status.in_(("won", "lost")), Deal.closed_at >= min(since, qs))
    n_won, n_lost, m, q = session.execute(_scoped(stmt, Deal.owner_id, owner_ids)).one()
    return ClosedStats(int(n_won or 0), int(n_lost or 0), _dec(m), _dec(q))


# --- leads -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeadResponse:
    responded: int
    average_seconds: int | None


def lead_response(session: Session, config: Config, owner_ids: set[int] | None, now: datetime, *,
                  days: int = WINDOW_DAYS) -> LeadResponse:
    del config
    if session.get_bind().dialect.name == "postgresql":
        seconds: Any = func.extract("epoch", Lead.first_responded_at - Lead.assigned_at)
    else:
        seconds = (func.julianday(Lead.first_responded_at) - func.julianday(Lead.assigned_at)) * 86400.0
    stmt = select(func.count(Lead.id), func.avg(seconds)).where(
        Lead.first_responded_at.is_not(None), Lead.assigned_at >= now - timedelta(days=days))
    n, avg = session.execute(_scoped(stmt, Lead.owner_id, owner_ids)).one()
    return LeadResponse(int(n or 0), None if avg is None else max(0, round(float(avg))))


# --- quota and forecast ------------------------------------------------------------------------------

def monthly_quota(session: Session, config: Config, owner_ids: set[int] | None) -> Decimal | None:
    """The configured quotas of the people in scope, summed; None when nobody in scope has one."""
    quotas = {u.key: u.quota for u in config.users if u.quota is not None}
    if owner_ids is None:
        keys = set(quotas)
    else:
        keys = set(session.scalars(select(User.key).where(User.id.in_(sorted(owner_ids))))) & set(quotas)
    if not keys:
        return None
    return quantize(sum((quotas[k] for k in keys), Decimal(0)))  # type: ignore[misc]


@dataclass(frozen=True)
class Forecast:
    period: Period
    weighted_open: Decimal
    won: Decimal
    quota: Decimal | None

    @property
    def total(self) -> Decimal:
        return self.weighted_open + self.won

    @property
    def attainment(self) -> Decimal | None:
        """Forecast as % of quota."""
        if not self.quota:
            return None
        return (self.total * 100 / self.quota).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class PipelineReport:
    generated_at: datetime
    window_days: int
    open: OpenPipeline
    conversion: tuple[ConversionRow, ...]
    closed: ClosedStats
    leads: LeadResponse
    forecast: tuple[Forecast, Forecast]  # this month, this quarter


def pipeline_report(session: Session, config: Config, owner_ids: set[int] | None, now: datetime) -> PipelineReport:
    """The whole report in five queries (four when the scope is everybody)."""
    month, quarter = periods(config, now)
    opened = open_pipeline(session, config, owner_ids, now)
    closed = closed_stats(session, config, owner_ids, now)
    quota = monthly_quota(session, config, owner_ids)
    forecast = (
        Forecast(month, opened.weighted_in_month, closed.won_in_month, quota),
        Forecast(quarter, opened.weighted_in_quarter, closed.won_in_quarter,
                 None if quota is None else quota * quarter.months),
    )
    return PipelineReport(generated_at=now, window_days=WINDOW_DAYS, open=opened,
                          conversion=stage_conversion(session, config, owner_ids, now), closed=closed,
                          leads=lead_response(session, config, owner_ids, now), forecast=forecast)


# --- trend (the pipeline chart) ----------------------------------------------------------------------

@dataclass(frozen=True)
class TrendWeek:
    start: date  # Monday, company time
    won_count: int
    won_amount: Decimal


def won_trend(session: Session, config: Config, owner_ids: set[int] | None, now: datetime, *,
              weeks: int = 8) -> tuple[TrendWeek, ...]:
    """Deals won per week (Monday to Sunday, company time) over the last `weeks` weeks, this week last (so far).
    ONE aggregate query whatever the number of deals: a count and a sum per week, bounded by closed_at."""
    tz = company_tz(config)
    today = local_date(config, now)
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    bounds = [datetime.combine(d, time(0), tz).astimezone(timezone.utc) for d in [*starts, monday + timedelta(weeks=1)]]
    cols: list[Any] = []
    for lo, hi in zip(bounds, bounds[1:]):
        in_week = and_(Deal.closed_at >= lo, Deal.closed_at < hi)
        cols += [func.count(case((in_week, Deal.id))), func.sum(case((in_week, Deal.amount)))]
    stmt = select(*cols).where(Deal.status == "won", Deal.closed_at >= bounds[0], Deal.closed_at < bounds[-1])
    row = session.execute(_scoped(stmt, Deal.owner_id, owner_ids)).one()
    return tuple(TrendWeek(start, int(row[2 * i] or 0), _dec(row[2 * i + 1])) for i, start in enumerate(starts))
