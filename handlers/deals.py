"""Deal use cases: new, show, list, set fields, advance (blueprint), won, lost."""
from __future__ import annotations

from cards.builders.sales import deal_card, t
from cards.builders.tasks import understood_date
from cards.format import field_names, money, picklist_label, stage_name, task_title
from cards.model import Button, Card, Reply, Section
from crm_core.clock import Clock
from crm_core.fields import check_lost_reason
from crm_core.company_time import local_date
from crm_core.models import Deal, User
from crm_core.services.access import access_deal
from crm_core.services.accounts import account_named
from crm_core.services.closing import do_close
from crm_core.services.deals import (amount_from_quote, check_shown_stage, do_create_deal,
                                     do_move_stage, do_set_fields, is_backwards, parse_date,
                                     resolve_stage)
from crm_core.services.ownership import do_transfer_deal, resolve_user
from crm_core.services.quotes import access_quote
from crm_core.services.money import parse_money
from crm_core.uow import UnitOfWork
from handlers.activities import log_prompt
from handlers.invocation import Invocation
from handlers.names import ask_which_account, ask_which_contact
from handlers.registry import action, command
from handlers.presentation.sales import deal_view


def _card(uow: UnitOfWork, deal: Deal, locale: str, clock: Clock, *notes: str) -> Reply:
    return Reply(cards=(deal_card(locale, deal_view(uow, deal, locale, clock.now()), notes=notes),))


@command("deal new")
def new_deal(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    if (ask := ask_which_account(inv, uow, actor, locale)) is not None:
        return ask
    o = inv.options
    if o.get("contact") and (ask := ask_which_contact(inv, uow, locale, account_named(uow.session, inv.args["account"]))):
        return ask
    amount = parse_money(o["amount"])
    close = parse_date(o["close"], today=local_date(uow.config, clock.now())) if o.get("close") else None
    deal = do_create_deal(uow, actor, account_name=inv.args["account"], amount=amount, name=o.get("name"),
                          close_date=close, contact_name=o.get("contact"), now=clock.now())
    notes = [t(locale, "deal.created", stage=stage_name(uow.config, deal.stage, locale))]
    if close is not None:  # echo the day the words meant: "close date 2027-03-31 (Wed)"
        notes.append(understood_date(locale, "close", close))
    return _card(uow, deal, locale, clock, *notes)


@command("deal", writes=False)
def show_deal(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _card(uow, access_deal(uow, actor, inv.args["deal"].id), locale, clock)


@command("deal set")
def set_deal_fields(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    deal = access_deal(uow, actor, inv.args["deal"].id, for_update=True)
    options = dict(inv.options)
    if "account" in options:  # a typo in the customer's name asks before it makes a new account
        if (ask := ask_which_account(inv, uow, actor, locale, as_option=True)) is not None:
            return ask
        options.pop("new_account", None)
    if "contact" in options:  # and one in a contact's name before it makes a new contact
        account = account_named(uow.session, str(options["account"])) if "account" in options else deal.account
        if (ask := ask_which_contact(inv, uow, locale, account)) is not None:
            return ask
        options.pop("new_contact", None)
    notes = []
    owner_raw = options.pop("owner", None)
    if owner_raw is not None:  # a transfer, not a field: its own rules (who may) and notifications (both owners)
        new_owner = resolve_user(uow, owner_raw)
        do_transfer_deal(uow, actor, deal, new_owner, now=clock.now())
        notes.append(t(locale, "deal.owner_changed", ref=deal.ref, owner=new_owner.name))
    if str(options.get("amount", "")).strip().lower() in ("quote", "报价"):
        options["amount"] = amount_from_quote(uow, deal)
    if options or owner_raw is None:
        changed = do_set_fields(uow, actor, deal, options, now=clock.now())
        notes.insert(0, t(locale, "deal.set", fields=field_names(uow.config, "deal", changed, locale)))
        if "close_date" in changed and deal.close_date is not None:
            notes.insert(1, understood_date(locale, "close", deal.close_date))
    return _card(uow, deal, locale, clock, *notes)


@action("deal.amount_from_quote", value=("quote",))
def amount_from_quote_button(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    """The approved quote's "Use quote total as deal amount" button."""
    quote, _deal = access_quote(uow, actor, inv.args["quote"].id)
    deal = access_deal(uow, actor, quote.deal_id, for_update=True)
    if quote.status != "approved" or quote.superseded_at is not None:
        amount = amount_from_quote(uow, deal)  # the latest approved version, or the refusal saying there is none
    else:
        amount = str(quote.total)
    changed = do_set_fields(uow, actor, deal, {"amount": amount}, now=clock.now())
    return _card(uow, deal, locale, clock, t(locale, "deal.set", fields=field_names(uow.config, "deal", changed, locale)))


CONFIRM_WORDS = ("confirm", "确认")


def _advance(uow: UnitOfWork, clock: Clock, actor: User, locale: str, deal_id: int, stage: str | None,
             shown_stage: str | None = None, confirmed: bool = False) -> Reply:
    deal = access_deal(uow, actor, deal_id, for_update=True)
    check_shown_stage(uow, deal, shown_stage)
    if stage is not None and stage.strip().lower() in CONFIRM_WORDS:
        stage, confirmed = None, True
    target = resolve_stage(uow, deal, stage)
    if is_backwards(uow, deal, target) and not confirmed:
        return _confirm_back(uow, deal, target.key, locale, clock)
    previous = deal.stage
    move = do_move_stage(uow, actor, deal, target, now=clock.now(), confirmed=confirmed)
    notes = [t(locale, "deal.moved", from_stage=stage_name(uow.config, previous, locale),
               to_stage=stage_name(uow.config, target.key, locale))]
    if move.tasks:
        notes.append(t(locale, "deal.tasks", tasks="; ".join(f"{task_title(uow.config, x.title, locale)} ({x.due_date:%m-%d})"
                                                            for x in move.tasks)))
    return _card(uow, deal, locale, clock, *notes)


def _confirm_back(uow: UnitOfWork, deal: Deal, target: str, locale: str, clock: Clock) -> Reply:
    """Moving back asks first: nothing changes until Confirm (or the text form with `confirm`)."""
    names = {"from_stage": stage_name(uow.config, deal.stage, locale), "to_stage": stage_name(uow.config, target, locale)}
    body = t(locale, "deal.back.body", ref=deal.ref, stage=target, **names)
    card = Card(title=t(locale, "deal.back.title", ref=deal.ref, **names), locale=locale, blocks=(Section(body),),
                buttons=(Button(t(locale, "btn.confirm_back"), "deal.advance_confirm", f"{deal.ref}:{deal.stage}:{target}",
                                "danger"),), kind="prompt", ref=deal.ref)
    return Reply(cards=(card,))


@command("advance")
@action("deal.advance", value=("deal", "shown"))  # D-1:<stage shown>: a stale card changes nothing
# the Confirm button of a backwards move: D-1:<stage shown>:<target>
@action("deal.advance_confirm", value=("deal", "shown!", "stage!"), fixed={"confirm": "confirm"},
        usage="button.advance_back")
def advance_deal(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _advance(uow, clock, actor, locale, inv.args["deal"].id, inv.args.get("stage"), inv.args.get("shown"),
                    confirmed=inv.args.get("confirm") is not None)


@command("won")
def close_won(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    deal = access_deal(uow, actor, inv.args["deal"].id, for_update=True)
    do_close(uow, actor, deal, won=True, reason=None, now=clock.now())
    return _card(uow, deal, locale, clock, t(locale, "deal.won"))


@command("lost")
def close_lost(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    deal = access_deal(uow, actor, inv.args["deal"].id, for_update=True)
    typed = [x for x in (inv.options.get("reason"), inv.args.get("reason")) if x]  # reason=… and/or free text
    reason = check_lost_reason(uow.config, " ".join(typed))
    do_close(uow, actor, deal, won=False, reason=reason, now=clock.now())
    shown = picklist_label(uow.config, "lost_reason", reason, locale) if reason else reason
    return _card(uow, deal, locale, clock, t(locale, "deal.lost", reason=shown))


@action("deal.log", writes=False, value=("deal",))
def log_deal_prompt(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    return log_prompt(uow, actor, locale, inv.args["deal"])
