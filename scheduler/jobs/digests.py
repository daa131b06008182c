"""Digests: daily at digest.daily_at (company time) — on digest.weekly_on the weekly one instead —
to every manager (manager, director, vp) for their team and to every admin for everyone. The team
figures are queried once per run, per owner, and sliced for each recipient (scheduler.digests.RunFigures).

Once per person per day (key digest:<period>:<day>:<user>); the pipeline each digest showed is kept
(digest_snapshots) so the next one says what changed since.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from cards.builders.digests import DigestView, ForecastLine, RepLine, StageLine, bar, digest_card, duration
from cards.builders.reports import period_label
from cards.format import money_or_dash, stage_name
from cards.builders.reports import t as report_text
from cards.documents.chart import chart_attachment, pipeline_chart_png
from cards.model import Card
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.models import User
from crm_core.queries.pipeline import pipeline_report, won_trend
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from scheduler.digests import DigestData, RunFigures, save_snapshots
from crm_core.outbox import OutboxRow, enqueue_many
from scheduler.jobs.common import existing_keys, is_marked, local_date, mark, past_daily_time

log = logging.getLogger("chatcrm.scheduler.digests")
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
DIGEST_ROLES = ("manager", "director", "vp", "admin")


def period_of(config: Config, day: date) -> str:
    return "weekly" if day.weekday() == WEEKDAYS[config.digest.weekly_on] else "daily"


def digest_key(period: str, day: date, user_id: int) -> str:
    return f"digest:{period}:{day.isoformat()}:{user_id}"


def run_digests(*, uow: UnitOfWork, clock: Clock) -> int:
    """Every digest of the day in two short transactions: read (the team figures once, per owner, sliced for
    each recipient; cards built), then write (all outbox rows and snapshots at once). A statement count that
    does not grow with the number of recipients. A recipient whose card cannot be built is logged and left
    for the next run (its key is not written)."""
    now = clock.now()
    config = uow.config
    if not past_daily_time(config, now):
        return 0
    day = local_date(config, now)
    period = period_of(config, day)
    day_mark = f"digests:{day.isoformat()}"
    keys: dict[int, str] = {}
    with uow.reader() as reader:
        session = reader.session
        if is_marked(session, day_mark):
            return 0
        recipients = list(session.scalars(select(User).where(User.active.is_(True), User.role.in_(DIGEST_ROLES))
                                          .order_by(User.id)))
        keys = {u.id: digest_key(period, day, u.id) for u in recipients}
        done = existing_keys(session, keys.values())
        todo = [u for u in recipients if keys[u.id] not in done]
        built: list[tuple[User, Card, DigestData]] = []
        if todo:
            figures = RunFigures(session, config, period=period, day=day, now=now)
            for user in todo:
                try:
                    built.append((user, *_build(reader, figures, user, period, day, now)))
                except Exception:  # noqa: BLE001 - one bad digest must not stop the others; retried next run
                    log.exception("digests: building the digest of user %s failed; it will be retried", user.id)
    with uow:
        session = uow.session
        written = enqueue_many(session, [OutboxRow(dedupe_key=keys[user.id], kind=f"digest.{period}",
                                                   target_type="user", target_id=user.id, payload=card.to_dict())
                                         for user, card, _ in built], now=now)
        snapshots = {data.scope: data for _, _, data in built}
        save_snapshots(session, list(snapshots.values()), period, now)
        if period == "weekly":
            save_snapshots(session, list(snapshots.values()), "daily", now)  # tomorrow's daily digest compares
        if len(done) + len(built) == len(recipients):
            mark(session, day_mark, clock.now())
    return written


def _build(reader: UnitOfWork, figures: RunFigures, user: User, period: str, day: date,
           now: datetime) -> tuple[Card, DigestData]:
    if user.is_admin:
        scope, owner_ids, team_of = "all", None, None
    else:
        scope, owner_ids, team_of = f"team:{user.id}", figures.team_ids(user.id), user.name
    data = figures.collect(owner_ids, scope=scope)
    locale = locale_of(user, reader.config)
    card = digest_card(locale, digest_view(reader.config, data, locale, team_of=team_of))
    if period == "weekly":
        card = with_chart(reader, card, owner_ids, locale, scope="all" if owner_ids is None else "team", day=day,
                          now=now)
    return card, data


def digest_view(config: Config, data: DigestData, locale: str, *, team_of: str | None) -> DigestView:
    currency = config.company.currency

    def m(amount: Decimal) -> str:
        return money_or_dash(amount, currency)

    def delta(count: int, amount: Decimal, before: dict[str, object] | None) -> str | None:
        if data.previous is None:
            return None
        before = before or {}
        dn = count - int(str(before.get("count", 0)))
        da = amount - Decimal(str(before.get("amount", "0")))
        if dn == 0 and da == 0:
            return "±0"
        sign = "+" if da >= 0 else "-"
        return f"{dn:+d} · {sign}{m(abs(da))}"

    previous_stages = (data.previous or {}).get("stages", {})
    largest = max((float(s.amount) for s in data.pipeline.stages), default=0.0)
    stages = tuple(
        StageLine(name=stage_name(config, s.stage, locale), count=s.count, amount=m(s.amount),
                  bar=bar(float(s.amount), largest), delta=delta(s.count, s.amount, previous_stages.get(s.stage)))
        for s in data.pipeline.stages)
    previous_total = None if data.previous is None else {"count": data.previous.get("open_count", 0),
                                                         "amount": data.previous.get("open_amount", "0")}
    total = StageLine(name="", count=data.pipeline.count, amount=m(data.pipeline.amount),
                      delta=delta(data.pipeline.count, data.pipeline.amount, previous_total))
    forecast = tuple(ForecastLine(period=period_label(locale, f), weighted=m(f.weighted_open), won=m(f.won),
                                  total=m(f.total), quota=m(f.quota) if f.quota else None,
                                  attainment=f"{f.attainment}%" if f.attainment is not None else None)
                     for f in data.forecast)
    reps = tuple(RepLine(name=r.name, open=f"{r.open_count} · {m(r.open_amount)}", won=r.won, lost=r.lost,
                         win_rate=f"{r.win_rate}%" if r.win_rate is not None else None,
                         response=duration(locale, r.response_seconds), breaches=r.breaches, stale=r.stale)
                 for r in data.reps)
    return DigestView(period=data.period, team_of=team_of, day=data.day.isoformat(), previous_day=data.previous_day,
                      stages=stages, total=total, forecast=forecast, won=data.won, won_amount=m(data.won_amount),
                      lost=data.lost, lost_amount=m(data.lost_amount), breaches=data.breaches, stale=data.stale,
                      reps=reps)


def with_chart(uow: UnitOfWork, card: Card, owner_ids: set[int] | None, locale: str, *, scope: str, day: date,
               now: datetime) -> Card:
    """The weekly digest carries the pipeline chart (the picture `pipeline chart` shows) as a PNG file. A
    chart that cannot be drawn is logged and the digest goes without it."""
    try:
        report = pipeline_report(uow.session, uow.config, owner_ids, now)
        names = {s.key: stage_name(uow.config, s.key, locale) for s in uow.config.pipeline.stages}
        png = pipeline_chart_png(locale, report, scope_label=report_text(locale, f"scope.{scope}"),
                                 stage_names=names, currency=uow.config.company.currency, today=day.isoformat(),
                                 trend=won_trend(uow.session, uow.config, owner_ids, now))
    except Exception:  # noqa: BLE001 - the digest matters more than its picture
        log.exception("weekly digest: the pipeline chart could not be drawn; sending the digest without it")
        return card
    return replace(card, attachments=(chart_attachment(png, scope=scope, day=day.isoformat()),))
