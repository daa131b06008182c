"""Renewal reminders: the contract owner hears at each of [renewals] remind_days before the end date.

The first reminder that fires (normally the largest of remind_days) also creates the renewal deal
(crm_core.services.contracts.create_renewal_deal; its owner is told by the RenewalDealCreated notifier).
A contract whose health is low ("risk" band) also tells the owner's manager. Once the renewal deal is
closed (won or lost) the later reminders stop.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cards.builders.nudges import t
from cards.builders.service import contract_card
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.models import Contract, Deal, User
from crm_core.services.contracts import create_renewal_deal, health_of
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.presentation.service import contract_view
from scheduler.jobs.common import existing_keys, local_date, notify, run_each

LOOKBACK_DAYS = 2  # a threshold crossed longer ago than this was handled (or the contract came later)
KIND = "nudge.contract.renewal"


@dataclass(frozen=True)
class DueRenewal:
    contract_id: int
    days: int  # the remind_days threshold
    end: date

    def key(self, who: str = "owner") -> str:
        return f"renewal:{self.contract_id}:{self.days}:{self.end.isoformat()}:{who}"


def scan_renewals(session: Session, config: Config, now: datetime) -> list[DueRenewal]:
    """Contracts that crossed a reminder threshold in the last LOOKBACK_DAYS (index ranges on end_date)."""
    today = local_date(config, now)
    thresholds = sorted(set(config.renewals.remind_days), reverse=True)
    if not thresholds:
        return []
    found: dict[int, date] = {}
    for d in thresholds:  # one tight range per threshold (an OR of ranges can fall back to a wide scan)
        lowest = max(today, today + timedelta(days=d - LOOKBACK_DAYS + 1))
        rows = session.execute(select(Contract.id, Contract.end_date).where(
            Contract.end_date >= lowest, Contract.end_date <= today + timedelta(days=d)))
        found.update({contract_id: end for contract_id, end in rows})
    out: list[DueRenewal] = []
    for contract_id, end in sorted(found.items(), key=lambda kv: (kv[1], kv[0])):
        # The smallest threshold the contract has crossed is the current reminder.
        crossed = [d for d in thresholds if end <= today + timedelta(days=d)]
        out.append(DueRenewal(contract_id, min(crossed), end))
    return out


def run_renewals(*, uow: UnitOfWork, clock: Clock) -> int:
    now = clock.now()
    with uow:
        due = scan_renewals(uow.session, uow.config, now)
        done = existing_keys(uow.session, [d.key() for d in due])
    return run_each(uow, clock, [d for d in due if d.key() not in done], _remind, what="renewals")


def _remind(uow: UnitOfWork, due: DueRenewal, now: datetime) -> int:
    session = uow.session
    contract = session.get(Contract, due.contract_id)
    if contract is None or contract.end_date != due.end:
        return 0
    if contract.renewal_deal_id is not None:
        renewal = session.get(Deal, contract.renewal_deal_id)
        if renewal is not None and renewal.status != "open":
            return 0  # renewed (or lost): no more reminders
    else:
        create_renewal_deal(uow, contract, None, now)
    health = health_of(session, uow.config, [contract], now)[contract.id]
    owner = contract.owner
    people: list[tuple[User, str]] = [(owner, "owner")]
    if health.band == "risk" and owner.manager_id is not None:
        manager = session.get(User, owner.manager_id)
        if manager is not None and manager.active:
            people.append((manager, "manager"))
    sent = 0
    for person, who in people:
        locale = locale_of(person, uow.config)
        view = contract_view(uow, contract, health, now)
        notes = [t(locale, "renewal.text", ref=contract.ref, end=contract.end_date.isoformat(),
                   days=view.days_left, value=view.value)]
        if contract.renewal_deal_id is not None:
            notes.append(t(locale, "renewal.deal", deal=f"D-{contract.renewal_deal_id}"))
        if health.band == "risk":
            notes.append(t(locale, "renewal.health", health=health.score))
        if who == "manager":
            notes.append(t(locale, "renewal.manager", owner=owner.name))
        card = contract_card(locale, view, notes=notes)
        sent += notify(session, person, card, key=due.key(who), kind=KIND, now=now, record_type="contract",
                       record_id=contract.id)
    return sent
