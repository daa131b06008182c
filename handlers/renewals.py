"""Contracts and renewals: `renewals [days]`, `contract C-4`, `contract set C-4 usage= nps=`,
`contract renew C-4` (and its button)."""
from __future__ import annotations

from datetime import datetime

from cards.builders.sales import deal_card
from cards.builders.service import MAX_RENEWAL_ROWS, RenewalRowView, contract_card, notice, renewals_card
from cards.format import field_names, local_date, money_or_dash
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.events import Event, RenewalDealCreated
from crm_core.models import Contract, Deal, User
from crm_core.outbox import enqueue
from crm_core.services.contracts import (access_contract, create_renewal_deal, do_set_contract,
                                         health_of, renewals_due)
from crm_core.services.permissions import visible_owner_ids
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.notify import on
from handlers.registry import action, command
from handlers.presentation.sales import deal_view
from handlers.presentation.service import contract_view

DEFAULT_DAYS = 90
MAX_DAYS = 3650


def _card(uow: UnitOfWork, contract: Contract, locale: str, now: datetime, *notes: str) -> Reply:
    health = health_of(uow.session, uow.config, [contract], now)[contract.id]
    return Reply(cards=(contract_card(locale, contract_view(uow, contract, health, now), notes=notes),))


@command("renewals", writes=False)
def list_renewals(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    days = min(inv.args.get("days") or DEFAULT_DAYS, MAX_DAYS)
    now = clock.now()
    contracts = renewals_due(uow.session, uow.config, visible_owner_ids(uow.session, actor), now, days=days,
                             limit=MAX_RENEWAL_ROWS + 1)
    more = len(contracts) > MAX_RENEWAL_ROWS
    contracts = contracts[:MAX_RENEWAL_ROWS]
    health = health_of(uow.session, uow.config, contracts, now)
    today = local_date(uow.config, now)
    rows = [RenewalRowView(ref=c.ref, account=c.account.name, end=c.end_date.isoformat(),
                           days_left=(c.end_date - today).days, value=money_or_dash(c.value, c.currency),
                           score=health[c.id].score, band=health[c.id].band, owner=c.owner.name,
                           renewal_ref=f"D-{c.renewal_deal_id}" if c.renewal_deal_id else None) for c in contracts]
    return Reply(cards=(renewals_card(locale, days, rows, more=more),))


@command("contract", writes=False)
def show_contract(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _card(uow, access_contract(uow, actor, inv.args["contract"].id), locale, clock.now())


@command("contract set")
def set_contract(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    now = clock.now()
    contract = access_contract(uow, actor, inv.args["contract"].id, for_update=True)
    changed = do_set_contract(uow, actor, contract, inv.options, now=now)
    fields = field_names(uow.config, "contract", changed, locale)
    return _card(uow, contract, locale, now, notice(locale, "contract.set", fields=fields))


@command("contract renew")
@action("contract.renew", value=("contract",))
def renew_contract(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    return _renew(uow, clock, actor, locale, inv.args["contract"].id)


def _renew(uow: UnitOfWork, clock: Clock, actor: User, locale: str, contract_id: int) -> Reply:
    now = clock.now()
    contract = access_contract(uow, actor, contract_id, for_update=True)
    existed = contract.renewal_deal_id is not None
    deal = create_renewal_deal(uow, contract, actor, now)
    note = (notice(locale, "contract.renewal_exists", ref=contract.ref, deal=deal.ref) if existed else
            notice(locale, "contract.renewal_created", deal=deal.ref,
                   close=deal.close_date.isoformat() if deal.close_date else "—"))
    return Reply(cards=(deal_card(locale, deal_view(uow, deal, locale, now), notes=(note,)),))


@on(RenewalDealCreated)
def tell_contract_owner(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """The scheduler (or a manager) created a renewal deal: the contract owner hears about it."""
    assert isinstance(event, RenewalDealCreated)
    contract = uow.session.get(Contract, event.contract_id)
    deal = uow.session.get(Deal, event.deal_id)
    if contract is None or deal is None or event.actor_id == contract.owner_id:
        return
    owner = uow.session.get(User, contract.owner_id)
    assert owner is not None
    locale = locale_of(owner, uow.config)
    note = notice(locale, "contract.renewal_for_you", deal=deal.ref, ref=contract.ref, account=contract.account.name,
                  end=contract.end_date.isoformat())
    card = deal_card(locale, deal_view(uow, deal, locale, now), notes=(note,))
    enqueue(uow.session, dedupe_key=f"renewal-deal:{contract.id}:{deal.id}", kind="contract.renewal",
            target_type="user", target_id=owner.id, payload=card.to_dict(), now=now, record_type="deal",
            record_id=deal.id)
