"""`home.show`: what a person sees on their home surface (Slack App Home): open deals by stage, tasks
due, and every section other areas register in `handlers.help.MY_SECTIONS` (approvals waiting on me,
tickets near breach, ...). Read-only."""
from __future__ import annotations

from cards.builders.home import StageGroup, deals_by_stage_card, tasks_due_card
from cards.format import money_or_dash, stage_name
from cards.model import Card, Reply
from crm_core.clock import Clock
from crm_core.company_time import local_date
from crm_core.models import User
from crm_core.services.deals import list_deals, open_deal_count
from crm_core.services.tasks import open_task_count, tasks_due
from crm_core.uow import UnitOfWork
from handlers.help import my_sections
from handlers.registry import action

HOME_DEALS = 60
HOME_TASKS = 30  # the oldest due first; the rest are counted


@action("home.show", writes=False)
def show_home(uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    now = clock.now()
    listed = list_deals(uow, actor, limit=HOME_DEALS + 1)  # one more: whether the card shows them all
    deals = listed[:HOME_DEALS]
    total = open_deal_count(uow, actor) if len(listed) > HOME_DEALS else len(deals)
    groups = []
    for stage in uow.config.pipeline.open_stages:
        rows = [f"{d.ref} · {d.name[:80]} · {money_or_dash(d.amount, d.currency)}" for d in deals if d.stage == stage.key]
        if rows:
            groups.append(StageGroup(stage_name(uow.config, stage.key, locale), rows))
    today = local_date(uow.config, now)
    due = tasks_due(uow, actor, due_by=today, limit=HOME_TASKS + 1)  # one more: whether there are more to tell of
    tasks = [f"{x.due_date.isoformat()} · {x.title[:120]}" + (f" · D-{x.deal_id}" if x.deal_id else "")
             for x in due[:HOME_TASKS]]
    more = open_task_count(uow, actor, due_by=today) - HOME_TASKS if len(due) > HOME_TASKS else 0
    cards: list[Card] = [deals_by_stage_card(locale, groups, total=total, shown=len(deals)),
                         tasks_due_card(locale, tasks, more=more)]
    return Reply(cards=(*cards, *my_sections(uow, actor, locale, clock)))
