"""Logging activities; the log button answers with how to log (Slack turns it into a modal).
Tasks (`task done` …) live in handlers/tasks.py."""
from __future__ import annotations

from cards.builders.common import notice_card
from cards.builders.sales import deal_card, kind_label, t
from cards.format import task_title
from cards.i18n import translator
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.models import User
from crm_core.refs import Ref
from crm_core.services.activities import do_log_activity
from crm_core.services.access import access_deal
from crm_core.services.leads import access_lead
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.registry import command
from handlers.presentation.sales import deal_view

t_chat = translator("chat")


@command("log")
def log_activity(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    ref: Ref = inv.args["record"]
    now = clock.now()
    activity = do_log_activity(uow, actor, ref, inv.args["kind"], inv.args["text"], now=now)
    note = t(locale, "activity.logged", kind=kind_label(locale, activity.kind), ref=str(ref))
    if activity.deal_id is not None:
        deal = access_deal(uow, actor, activity.deal_id)
        return Reply(cards=(deal_card(locale, deal_view(uow, deal, locale, now), notes=(note,)),))
    return Reply(cards=(notice_card(locale, note, f"“{activity.text[:200]}”", ref=str(ref)),))


def log_prompt(uow: UnitOfWork, actor: User, locale: str, ref: Ref) -> Reply:
    """What the log button shows where no form can be opened: the exact command to type."""
    if ref.kind == "deal":
        access_deal(uow, actor, ref.id)
    else:
        access_lead(uow, actor, ref.id)
    title = t_chat(locale, "log.title", ref=str(ref))
    text = t_chat(locale, "log.how", ref=str(ref))
    form = {"type": "log", "ref": str(ref)}
    return Reply(cards=(notice_card(locale, title, text, ref=str(ref), kind="prompt"),), form=form)

