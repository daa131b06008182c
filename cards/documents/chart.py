"""The pipeline chart as a PNG (matplotlib, Agg backend, no pyplot): the funnel of open deals by stage
(amount and weighted amount) beside the forecast against quota for this month and this quarter. Drawn from
the same `PipelineReport` as the pipeline card (crm_core.queries.pipeline), with the CJK font of
cards.documents.fonts so Chinese labels render. No pyplot and no global settings: the figure is its own
object, drawn under a process-wide lock.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cards.format import compact_money as compact
from cards.documents.fonts import cjk_font
from cards.i18n import normalise_locale, translator
from cards.model import Attachment
from crm_core.queries.pipeline import PipelineReport, TrendWeek

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

t = translator("chart")

AMOUNT = "#9ec5e8"
WEIGHTED = "#1f5f99"
WON = "#2e8b57"
QUOTA = "#c0392b"
_lock = threading.Lock()


def _trend(ax: Any, trend: tuple[TrendWeek, ...], locale: str, scope_label: str, fp: FontProperties,
           c: Callable[[float], str]) -> None:
    xs = list(range(len(trend)))
    amounts = [float(w.won_amount) for w in trend]
    ax.bar(xs, amounts, color=WON, width=0.6)
    top = max(amounts, default=0.0) or 1.0
    for x, w in zip(xs, trend):
        if w.won_count:
            ax.text(x, float(w.won_amount) + top * 0.04, f"{c(w.won_amount)} ({w.won_count})", ha="center",
                    va="bottom", fontproperties=fp, fontsize=8)
    ax.set_xticks(xs, [_plain(t(locale, "trend.week", d=w.start)) for w in trend])
    ax.set_ylim(0, top * 1.3)
    if any(amounts):
        from matplotlib.ticker import MaxNLocator
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_formatter(lambda y, _pos: c(y))
    else:
        ax.set_yticks([])
    ax.set_title(_plain(t(locale, "trend", n=len(trend), scope=scope_label)), fontproperties=fp, fontsize=11)


def _plain(text: str) -> str:
    """Text as typed: matplotlib reads $…$ as math (two amounts in dollars would turn into a formula)."""
    return text.replace("$", r"\$")


def chart_filename(scope: str, day: str) -> str:
    """scope: mine | team | all (team:<id> becomes team); day: the company date, 2026-11-30."""
    return f"pipeline-{scope.split(':')[0]}-{day}.png"


def chart_attachment(png: bytes, *, scope: str, day: str) -> Attachment:
    return Attachment(chart_filename(scope, day), "image/png", png)


def pipeline_chart_png(locale: str, report: PipelineReport, *, scope_label: str, stage_names: Mapping[str, str],
                       currency: str, today: str, trend: Sequence[TrendWeek] = (), width_px: int = 1000,
                       height_px: int | None = None, dpi: int = 100) -> bytes:
    """With `trend` (crm_core.queries.pipeline.won_trend), a third panel below: won per week. Default size
    1000×560 px, 1000×800 with the trend.

    One chart at a time per process: matplotlib shares its font objects between figures and is not
    thread-safe, and web processes serve requests on several threads."""
    with _lock:
        return _draw(locale, report, scope_label=scope_label, stage_names=stage_names, currency=currency,
                     today=today, trend=tuple(trend), width_px=width_px,
                     height_px=height_px or (800 if trend else 560), dpi=dpi)


def _draw(locale: str, report: PipelineReport, *, scope_label: str, stage_names: Mapping[str, str],
          currency: str, today: str, trend: tuple[TrendWeek, ...], width_px: int, height_px: int, dpi: int) -> bytes:
    # matplotlib is imported by the first chart, not by every process that may draw one: it was a fifth of
    # the start-up of every `chatcrm` command (0.56 s of 2.5).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator
    locale = normalise_locale(locale)
    font = cjk_font()
    fp = FontProperties(fname=str(font.path))

    def c(x: Decimal | float) -> str:
        return _plain(compact(x, currency, locale))

    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(_plain(t(locale, "title", scope=scope_label, date=today)), fontproperties=fp, fontsize=14)
    if trend:
        axes = fig.subplot_mosaic([["funnel", "forecast"], ["trend", "trend"]], width_ratios=(3, 2),
                                  height_ratios=(3, 2))
        left, right = axes["funnel"], axes["forecast"]
        _trend(axes["trend"], trend, locale, scope_label, fp, c)
    else:
        left, right = fig.subplots(1, 2, width_ratios=(3, 2))

    # The funnel: one row per open stage, first stage on top; weighted drawn inside the amount.
    stages = list(report.open.stages)
    labels = [_plain(t(locale, "stage", name=stage_names.get(s.stage, s.stage), n=s.count)) for s in stages]
    ys = list(range(len(stages)))[::-1]
    amounts = [float(s.amount) for s in stages]
    weighted = [float(s.weighted) for s in stages]
    left.barh(ys, amounts, color=AMOUNT, height=0.7, label=t(locale, "amount"))
    left.barh(ys, weighted, color=WEIGHTED, height=0.4, label=t(locale, "weighted"))
    top = max(amounts, default=0.0) or 1.0
    for y, a, w in zip(ys, amounts, weighted):
        if a <= 0:
            continue
        left.text(a + top * 0.02, y, f"{c(a)} / {c(w)}", va="center", fontproperties=fp, fontsize=9)
    left.set_yticks(ys, labels)
    left.set_xlim(0, top * 1.6)  # room for the value labels: nothing is clipped
    left.set_title(t(locale, "funnel"), fontproperties=fp, fontsize=11)
    if not stages or not any(amounts):
        left.text(0.5, 0.5, t(locale, "empty"), transform=left.transAxes, ha="center", fontproperties=fp)
    left.xaxis.set_major_locator(MaxNLocator(5))
    left.xaxis.set_major_formatter(lambda x, _pos: c(x))
    if not any(amounts):
        left.set_xticks([])  # no scale for nothing (it would repeat ¥0, ¥0, ¥1 …)

    # Forecast vs quota: won + weighted open stacked, the quota as a red line over each bar.
    xs = list(range(len(report.forecast)))
    won = [float(f.won) for f in report.forecast]
    wopen = [float(f.weighted_open) for f in report.forecast]
    right.bar(xs, won, color=WON, width=0.55, label=t(locale, "won"))
    right.bar(xs, wopen, bottom=won, color=WEIGHTED, width=0.55, label=t(locale, "weighted_open"))
    highest = max([w + o for w, o in zip(won, wopen)] + [float(f.quota or 0) for f in report.forecast]) or 1.0
    for x, f in zip(xs, report.forecast):
        total = float(f.total)
        if f.quota:
            right.hlines(float(f.quota), x - 0.38, x + 0.38, colors=QUOTA, linewidth=2.5,
                         label=t(locale, "quota") if x == 0 else None)
            note = f"{c(total)}\n" + t(locale, "pct", pct=f.attainment)
        else:
            note = f"{c(total)}\n" + t(locale, "no_quota")
        right.text(x, max(total, float(f.quota or 0)) + highest * 0.03, note, ha="center", va="bottom",
                   fontproperties=fp, fontsize=9)
    right.set_xticks(xs, [_plain(t(locale, f"period.{f.period.name}", start=f.period.start, m=f.period.start.month,
                                   q=(f.period.start.month - 1) // 3 + 1)) for f in report.forecast])
    if highest == 1.0:
        right.set_yticks([])
    right.set_ylim(0, highest * 1.35)
    right.set_xlim(-0.6, len(xs) - 0.4)
    right.set_title(t(locale, "forecast"), fontproperties=fp, fontsize=11)
    right.yaxis.set_major_formatter(lambda y, _pos: c(y))
    # One legend under both charts, so it never covers a bar or its label (constrained layout makes room).
    handles, names = left.get_legend_handles_labels()
    more, more_names = right.get_legend_handles_labels()
    fig.legend(handles + more, names + more_names, loc="outside lower center", ncol=len(names + more_names),
               prop=fp, frameon=False, handlelength=1.2, columnspacing=1.2)

    for ax in fig.axes:
        for tick in (*ax.get_xticklabels(), *ax.get_yticklabels()):
            tick.set_fontproperties(fp)
            tick.set_fontsize(9)
        ax.spines[["top", "right"]].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()
