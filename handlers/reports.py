"""`pipeline` / 漏斗: the funnel and forecast card; `pipeline chart` / 漏斗图: the same as a PNG picture.
Both for the records the actor may see."""
from __future__ import annotations

from cards.builders.reports import pipeline_card, pipeline_chart_card
from cards.builders.reports import t as report_text
from cards.documents.chart import chart_attachment, pipeline_chart_png
from cards.format import stage_name
from crm_core.company_time import local_date
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.models import User
from crm_core.queries.pipeline import pipeline_report, won_trend
from crm_core.services.permissions import visible_owner_ids
from crm_core.uow import UnitOfWork
from handlers.registry import command


@command("pipeline", writes=False)
def show_pipeline(uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    """A rep sees their own deals, a manager (director, vp) their team, admin everyone."""
    owners = visible_owner_ids(uow.session, actor)
    report = pipeline_report(uow.session, uow.config, owners, clock.now())
    scope = "all" if owners is None else "mine" if owners == {actor.id} else "team"
    names = {s.key: stage_name(uow.config, s.key, locale) for s in uow.config.pipeline.stages}
    return Reply(cards=(pipeline_card(locale, report, scope=scope, stage_names=names,
                                      currency=uow.config.company.currency),))


@command("pipeline chart", writes=False)
def show_pipeline_chart(uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    """The funnel by stage and the forecast vs quota as a PNG (cards.documents.chart), the same figures as
    `pipeline`. Slack uploads it to the person's DM, WeCom sends it as an image, the console saves it."""
    owners = visible_owner_ids(uow.session, actor)
    now = clock.now()
    report = pipeline_report(uow.session, uow.config, owners, now)
    scope = "all" if owners is None else "mine" if owners == {actor.id} else "team"
    names = {s.key: stage_name(uow.config, s.key, locale) for s in uow.config.pipeline.stages}
    today = local_date(uow.config, now).isoformat()
    png = pipeline_chart_png(locale, report, scope_label=report_text(locale, f"scope.{scope}"), stage_names=names,
                             currency=uow.config.company.currency, today=today,
                             trend=won_trend(uow.session, uow.config, owners, now))
    picture = chart_attachment(png, scope=scope, day=today)
    card = pipeline_chart_card(locale, report, scope=scope, currency=uow.config.company.currency,
                               filename=picture.filename)
    return Reply(cards=(card,), attachments=(picture,))

