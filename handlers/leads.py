"""Lead use cases: add (with dedupe), show, list, convert, log prompt, merge, split, undo."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from cards.builders.common import notice_card
from cards.builders.sales import deal_card, lead_card, merge_button, t
from cards.i18n import translator
from cards.format import field_name, field_names, picklist_label, t as labels_t
from cards.model import Card, Reply
from crm_core.clock import Clock
from crm_core.events import Event, LeadMerged
from crm_core.models import Lead, LeadMerge, User
from crm_core.outbox import enqueue
from crm_core.services.conversion import do_convert_lead
from crm_core.services.lead_merge import UNDO_DAYS, do_merge_leads, do_split, last_merge_of, merge_to_split
from crm_core.services.ownership import do_assign_lead, resolve_user
from crm_core.services.leads import LEAD_FIELDS, LeadInput, LeadResult, access_lead, do_create_lead
from crm_core.services.permissions import can_access
from crm_core.services.pool import check_owner
from crm_core.services.users import locale_of
from crm_core.services.money import parse_money
from crm_core.uow import UnitOfWork
from handlers.activities import log_prompt
from handlers.invocation import Invocation
from handlers.names import ask_which_account, ask_which_account_for
from handlers.notify import on
from handlers.registry import action, command
from handlers.presentation.sales import deal_view, lead_view

t_chat = translator("chat")


@command("lead add")
def add_lead(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    o = inv.options
    data = LeadInput(name=inv.args["name"], company=o.get("company"), email=o.get("email"), phone=o.get("phone"),
                     source=o.get("source", "chat"), region=o.get("region"), industry=o.get("industry"),
                     product=o.get("product"), tags=[x for x in o.get("tags", "").split(",") if x],
                     fields={k: v for k, v in o.items() if k not in LEAD_FIELDS})  # declared, or refused
    result = do_create_lead(uow, data, actor=actor, now=clock.now())
    return Reply(cards=(lead_result_card(uow, locale, result, actor),))


def lead_result_card(uow: UnitOfWork, locale: str, result: LeadResult, actor: User) -> Card:
    """What `lead add` answers: new (maybe with a colleague at the same company to merge with), or updated. A
    colleague's lead the person may not see is named with its owner, never shown: its e-mail, phone and history
    are not theirs to read because they typed the same phone."""
    lead, notes, buttons = result.lead, [], []
    if not result.created and not can_access(uow.session, actor, lead.owner_id):
        words = {"ref": lead.ref, "owner": lead.owner.name, "matched_on": t(locale, f"matched.{result.matched_on}")}
        return notice_card(locale, t(locale, "lead.known_elsewhere.title", **words),
                           t(locale, "lead.known_elsewhere.text", **words), ref=lead.ref)
    if result.created:
        notes.append(t(locale, "lead.created", owner=lead.owner.name))
        if result.same_company is not None:
            other = result.same_company
            notes.append(t(locale, "lead.same_company", ref=other.ref, owner=other.owner.name, new=lead.ref))
            buttons.append(merge_button(locale, lead.ref, other.ref))
        elif lead.company and (others := _who_else_works_with(uow, lead)):
            notes.append(t(locale, "lead.company_known", owners=labels_t(locale, "sep").join(others),
                           company=lead.company))
    else:
        notes.append(t(locale, "lead.duplicate", ref=lead.ref, matched_on=t(locale, f"matched.{result.matched_on}")))
        if result.differences:
            items = labels_t(locale, "sep").join(  # 地区=华南: each field and picklisted value as the reader knows it
                f"{field_name(uow.config, 'lead', k, locale)}={picklist_label(uow.config, k, v, locale)}"
                for k, v in sorted(result.differences.items()))
            notes.append(t(locale, "lead.differences", items=items))
        notes.append(t(locale, "lead.split_hint", ref=lead.ref, days=UNDO_DAYS))
    return lead_card(locale, lead_view(uow, lead, locale, zone=actor.timezone), notes=notes, extra_buttons=buttons)


def _who_else_works_with(uow: UnitOfWork, lead: Lead) -> list[str]:
    """Who else owns a lead or a customer at this company, or at one named like it (`check` asks the same): a new
    lead at a colleague's customer is worth a word before anyone calls."""
    found = check_owner(uow.session, lead.company or "", except_lead=lead.id)
    return sorted({f.owner_name for f in found if f.owner_name and f.owner_name != lead.owner.name})


@command("lead", writes=False)
def show_lead(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    lead = access_lead(uow, actor, inv.args["lead"].id)
    notes = []
    if lead.status == "merged":
        into = merged_into(uow, lead.id)
        if into is not None:
            notes.append(t(locale, "lead.merged_into", ref=f"L-{into}", self=lead.ref, days=UNDO_DAYS))
    return Reply(cards=(lead_card(locale, lead_view(uow, lead, locale, zone=actor.timezone), notes=notes),))


def _convert(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str, lead_id: int,
             amount_raw: str | None) -> Reply:
    amount = parse_money(amount_raw) if amount_raw else None
    lead = access_lead(uow, actor, lead_id)
    if lead.status != "converted" and (ask := _ask_account(inv, uow, actor, locale, lead, amount_raw)) is not None:
        return ask
    now = clock.now()
    conv = do_convert_lead(uow, actor, lead_id, amount=amount, now=now, account_name=inv.options.get("account"))
    note = t(locale, "deal.converted", lead=conv.lead.ref, account=conv.account.name, contact=conv.contact.name,
             deal=conv.deal.ref)
    return Reply(cards=(deal_card(locale, deal_view(uow, conv.deal, locale, now), notes=(note,)),))


@command("lead convert")
@action("lead.convert", value=("lead",))
def convert_lead(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    # typed: `amount=5万` (an option); a form behind the button sends the amount as an argument
    return _convert(inv, uow, clock, actor, locale, inv.args["lead"].id,
                    inv.options.get("amount", inv.args.get("amount")))


def _ask_account(inv: Invocation, uow: UnitOfWork, actor: User, locale: str, lead: Lead,
                 amount_raw: str | None) -> Reply | None:
    """The account the deal goes to: typed (`account=`), else the lead's company; a name like an existing
    account's asks which (handlers.names). A button has no text to re-run: its command is written out."""
    if "account" in inv.options:
        return ask_which_account(inv, uow, actor, locale, as_option=True)
    command = inv.text if inv.kind == "command" and inv.text else (
        f"lead convert {lead.ref}" + (f' amount="{amount_raw}"' if amount_raw and '"' not in amount_raw else ""))
    return ask_which_account_for(uow, actor, locale, lead.company or lead.name, command, inv.options)


@action("lead.log", writes=False, value=("lead",))
def log_lead_prompt(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    return log_prompt(uow, actor, locale, inv.args["lead"])


def merged_into(uow: UnitOfWork, lead_id: int) -> int | None:
    return uow.session.scalar(select(LeadMerge.kept_lead_id).where(LeadMerge.merged_lead_id == lead_id,
                                                                   LeadMerge.split_at.is_(None))
                              .order_by(LeadMerge.id.desc()).limit(1))


def _merge(uow: UnitOfWork, clock: Clock, actor: User, locale: str, merged_id: int, kept_id: int) -> Reply:
    merge = do_merge_leads(uow, actor, merged_id, kept_id, now=clock.now())
    moved = merge.moved
    filled = (t(locale, "lead.merged_filled", fields=field_names(uow.config, "lead", sorted(moved["filled"]), locale))
              if moved["filled"] else "")
    kept = uow.session.get(Lead, merge.kept_lead_id)
    assert kept is not None
    note = t(locale, "lead.merged", merged=f"L-{merged_id}", kept=kept.ref, activities=len(moved["activities"]),
             tasks=len(moved["tasks"]), filled=filled, days=UNDO_DAYS)
    return Reply(cards=(lead_card(locale, lead_view(uow, kept, locale), note=note),))


@command("lead merge")
@action("lead.merge", value=("lead", "keep@lead!"))
def merge_leads(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _merge(uow, clock, actor, locale, inv.args["lead"].id, inv.args["keep"].id)


def _split(uow: UnitOfWork, clock: Clock, actor: User, locale: str, merge_id: int) -> Reply:
    result = do_split(uow, actor, merge_id, now=clock.now())
    key = "lead.split" if result.merge.kind == "manual" else "lead.split_auto"
    note = t(locale, key, restored=result.restored.ref, kept=result.kept.ref)
    return Reply(cards=(lead_card(locale, lead_view(uow, result.restored, locale), note=note),
                        lead_card(locale, lead_view(uow, result.kept, locale))))


@command("lead split")
def split_lead(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _split(uow, clock, actor, locale, merge_to_split(uow, actor, inv.args["lead"].id).id)


@command("undo")
def undo_last_merge(uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _split(uow, clock, actor, locale, last_merge_of(uow, actor).id)


@on(LeadMerged)
def tell_owners_about_merge(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """Both owners learn of a merge (or split) that takes or gives back their lead; the actor already knows."""
    assert isinstance(event, LeadMerged)
    actor = uow.session.get(User, event.actor_id) if event.actor_id else None
    kept = uow.session.get(Lead, event.kept_lead_id)
    other = uow.session.get(Lead, event.merged_lead_id) if event.merged_lead_id else None
    if kept is None or other is None:
        return
    for owner_id in event.owner_ids:
        owner = uow.session.get(User, owner_id)
        if owner is None or (actor is not None and owner.id == actor.id):
            continue
        locale = locale_of(owner, uow.config)
        who = actor.name if actor else "—"
        if event.split:
            note = t(locale, "lead.split_notice", actor=who, restored=other.ref, kept=kept.ref)
        else:
            note = t(locale, "lead.merged_notice", actor=who, merged=other.ref, name=other.name, kept=kept.ref,
                     days=UNDO_DAYS)
        card = lead_card(locale, lead_view(uow, kept, locale), note=note)
        enqueue(uow.session, dedupe_key=f"lead-merge:{event.merge_id}:{int(event.split)}:{owner.id}",
                kind="lead.split" if event.split else "lead.merged", target_type="user", target_id=owner.id,
                payload=card.to_dict(), now=now, record_type="lead", record_id=kept.id)


@command("lead assign")
def assign_lead(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    """`lead assign L-3 tom` (线索 分配): the owner gives it away, or a manager / admin reassigns it."""
    new_owner = resolve_user(uow, inv.args["owner"])
    lead = do_assign_lead(uow, actor, inv.args["lead"].id, new_owner, now=clock.now())
    note = t(locale, "lead.assigned", ref=lead.ref, owner=new_owner.name)
    return Reply(cards=(lead_card(locale, lead_view(uow, lead, locale, zone=actor.timezone), note=note),))
