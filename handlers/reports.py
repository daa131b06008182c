"""`pipeline` / 漏斗: the funnel and forecast card, for the records the actor may see."""
from __future__ import annotations

from cards.builders.reports import pipeline_card
from cards.format import stage_name
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.models import User
from crm_core.queries.pipeline import pipeline_report
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
