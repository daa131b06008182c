"""Lead use cases: add (with dedupe), show, list, convert, log prompt."""
from __future__ import annotations

from cards.builders.common import list_card
from cards.builders.sales import deal_card, lead_card, t
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.models import User
from crm_core.services.conversion import do_convert_lead
from crm_core.services.leads import LeadInput, access_lead, do_create_lead, list_leads
from crm_core.services.money import parse_money
from crm_core.uow import UnitOfWork
from handlers.activities import log_prompt
from handlers.common import button_ref
from handlers.invocation import Invocation
from handlers.registry import action, command
from handlers.views import deal_view, lead_view


@command("lead add")
def add_lead(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    o = inv.options
    data = LeadInput(name=inv.args["name"], company=o.get("company"), email=o.get("email"), phone=o.get("phone"),
                     source=o.get("source", "chat"), region=o.get("region"), industry=o.get("industry"),
                     product=o.get("product"), tags=[x for x in o.get("tags", "").split(",") if x])
    result = do_create_lead(uow, data, actor=actor, now=clock.now())
    if result.created:
        note = t(locale, "lead.created", owner=result.lead.owner.name)
    else:
        note = t(locale, "lead.duplicate", ref=result.lead.ref, matched_on=t(locale, f"matched.{result.matched_on}"))
    return Reply(cards=(lead_card(locale, lead_view(uow, result.lead), note=note),))


@command("lead", writes=False)
def show_lead(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    lead = access_lead(uow, actor, inv.args["lead"].id)
    return Reply(cards=(lead_card(locale, lead_view(uow, lead)),))


@command("lead list", writes=False)
def list_my_leads(uow: UnitOfWork, actor: User, locale: str) -> Reply:
    leads = list_leads(uow, actor)
    rows = [f"{lead.ref} · {lead.name} · {lead.company or '—'} · {lead.score}" for lead in leads]
    title = "我的线索" if locale == "zh_CN" else "My leads"
    return Reply(cards=(list_card(locale, title, rows),))


def _convert(uow: UnitOfWork, clock: Clock, actor: User, locale: str, lead_id: int, amount_raw: str | None) -> Reply:
    amount = parse_money(amount_raw) if amount_raw else None
    now = clock.now()
    conv = do_convert_lead(uow, actor, lead_id, amount=amount, now=now)
    note = t(locale, "deal.converted", lead=conv.lead.ref, account=conv.account.name, contact=conv.contact.name,
             deal=conv.deal.ref)
    return Reply(cards=(deal_card(locale, deal_view(uow, conv.deal, locale, now), notes=(note,)),))


@command("lead convert")
def convert_lead(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _convert(uow, clock, actor, locale, inv.args["lead"].id, inv.options.get("amount"))


@action("lead.convert")
def convert_lead_button(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    ref = button_ref(inv, "lead")
    return _convert(uow, clock, actor, locale, ref.id, inv.args.get("amount"))


@action("lead.log", writes=False)
def log_lead_prompt(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    return log_prompt(uow, actor, locale, button_ref(inv, "lead"))


@command("lead assign")
def assign_lead(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    """`lead assign L-3 tom` (线索 分配): the owner gives it away, or a manager / admin reassigns it."""
    from crm_core.services.ownership import do_assign_lead, resolve_user  # noqa: PLC0415 - kept with this handler

    new_owner = resolve_user(uow, inv.args["owner"])
    lead = do_assign_lead(uow, actor, inv.args["lead"].id, new_owner, now=clock.now())
    note = t(locale, "lead.assigned", ref=lead.ref, owner=new_owner.name)
    return Reply(cards=(lead_card(locale, lead_view(uow, lead), note=note),))
