"""The pipeline report card (funnel, conversion, win rate, lead response, forecast vs quota).

Pure: it formats a crm_core.queries.pipeline.PipelineReport (plain data) and touches no database.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from cards.builders.service import span
from cards.format import money_or_dash
from cards.i18n import translator
from cards.model import Card, Context, Field, Section
from crm_core.queries.pipeline import Forecast, PipelineReport

t = translator("reports")


def _pct(value: Decimal | None, locale: str) -> str:
    return t(locale, "none") if value is None else f"{value}%"


def period_label(locale: str, f: Forecast) -> str:
    p = f.period
    return t(locale, f"period.{p.name}", start=p.start, q=(p.start.month - 1) // 3 + 1)


def pipeline_card(locale: str, report: PipelineReport, *, scope: str, stage_names: Mapping[str, str],
                  currency: str) -> Card:
    """scope: mine | team | all. stage_names: stage key → its name in `locale`."""
    def m(x: Decimal) -> str:
        return money_or_dash(x, currency)

    def name(key: str) -> str:
        return stage_names.get(key, key)

    o, c, days = report.open, report.closed, report.window_days
    fields = [
        Field(t(locale, "f.open"), t(locale, "open", n=o.count, amount=m(o.amount), weighted=m(o.weighted))),
        Field(t(locale, "f.win_rate", days=days),
              t(locale, "win_rate", rate=_pct(c.win_rate, locale), won=c.won, lost=c.lost)),
        Field(t(locale, "f.lead_response", days=days),
              t(locale, "none") if report.leads.average_seconds is None else t(
                  locale, "lead_response", avg=span(locale, round(report.leads.average_seconds / 60)),
                  n=report.leads.responded)),
    ]
    funnel = [t(locale, "funnel")] + [
        t(locale, "funnel.row", stage=name(s.stage), p=s.probability, n=s.count, amount=m(s.amount),
          weighted=m(s.weighted)) for s in o.stages]
    conversion = [t(locale, "conversion", days=days)] + [
        t(locale, "conversion.row", a=name(r.from_stage), b=name(r.to_stage), advanced=r.advanced,
          entered=r.entered, rate=_pct(r.rate, locale)) for r in report.conversion]
    forecast = [t(locale, "forecast")] + [
        t(locale, "forecast.row", period=period_label(locale, f), weighted=m(f.weighted_open), won=m(f.won),
          total=m(f.total)) + (t(locale, "forecast.quota", quota=m(f.quota), pct=_pct(f.attainment, locale))
                               if f.quota else t(locale, "forecast.no_quota")) for f in report.forecast]
    return Card(title=t(locale, "title", scope=t(locale, f"scope.{scope}")), locale=locale, fields=tuple(fields),
                blocks=(Section("\n".join(funnel)), Section("\n".join(conversion)), Section("\n".join(forecast)),
                        Context(t(locale, "footer"))), kind="pipeline")


def pipeline_chart_card(locale: str, report: PipelineReport, *, scope: str, currency: str, filename: str) -> Card:
    """The reply to `pipeline chart`: what the attached picture is (the picture is the reply's attachment)."""
    o = report.open
    return Card(title=t(locale, "title", scope=t(locale, f"scope.{scope}")), locale=locale,
                blocks=(Section(t(locale, "chart.summary", n=o.count, amount=money_or_dash(o.amount, currency),
                                  weighted=money_or_dash(o.weighted, currency))),
                        Context(t(locale, "chart.attached", filename=filename))), kind="pipeline")
