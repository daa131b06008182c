"""Contracts: created from won deals, renewed through renewal deals, and scored for health.

Health score (0–100) = usage + NPS + tickets + payments points, each out of its weight in [health]
(defaults 40 / 20 / 20 / 20):
- usage: weight × usage% (usage is 100 until somebody sets it);
- NPS (−100..100): weight × (NPS + 100) / 200; not set yet counts as neutral (half the weight);
- open tickets on the account: each costs a quarter of the weight (4 or more: 0);
- overdue payments (orders) of the account: each costs half the weight (2 or more: 0).
Each part is rounded half up to whole points, so the parts shown on the card add up to the score
(when the weights do not add up to 100 the total is scaled to 100).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.company_time import local_date
from crm_core.config import Config, Health, label_language
from crm_core.errors import InvalidValue
from crm_core.events import RenewalDealCreated
from crm_core.models import Contract, Deal, User
from crm_core.services import audit
from crm_core.services.records import load_record
from crm_core.services.deals import do_create_deal
from crm_core.services.orders import overdue_orders_count
from crm_core.services.permissions import can_access, require_access
from crm_core.services.tickets import open_counts_by_account
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from crm_core.vocabulary import CONTRACT_FIELD_ALIASES, RENEWAL_WORD

TICKETS_TO_ZERO = 4
OVERDUE_TO_ZERO = 2


# --- health ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HealthPart:
    name: str  # usage | nps | tickets | payments
    value: int | None  # the input: usage %, NPS, open tickets, overdue payments (None: NPS not set)
    points: int
    weight: int


@dataclass(frozen=True)
class HealthScore:
    score: int
    parts: tuple[HealthPart, ...]

    @property
    def band(self) -> str:
        """good (70+), watch (40–69), risk (below 40)."""
        return "good" if self.score >= 70 else "watch" if self.score >= 40 else "risk"


def _points(weight: int, fraction: Decimal) -> int:
    fraction = min(Decimal(1), max(Decimal(0), fraction))
    return int((Decimal(weight) * fraction).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def health_score(weights: Health, *, usage_pct: int, nps: int | None, open_tickets: int,
                 overdue_payments: int) -> HealthScore:
    parts = (
        HealthPart("usage", usage_pct, _points(weights.usage, Decimal(usage_pct) / 100), weights.usage),
        HealthPart("nps", nps, _points(weights.nps, Decimal(1) / 2 if nps is None else Decimal(nps + 100) / 200),
                   weights.nps),
        HealthPart("tickets", open_tickets,
                   _points(weights.tickets, Decimal(TICKETS_TO_ZERO - open_tickets) / TICKETS_TO_ZERO),
                   weights.tickets),
        HealthPart("payments", overdue_payments,
                   _points(weights.payments, Decimal(OVERDUE_TO_ZERO - overdue_payments) / OVERDUE_TO_ZERO),
                   weights.payments),
    )
    total_weight = sum(p.weight for p in parts)
    total = sum(p.points for p in parts)
    if total_weight <= 0:
        score = 100
    elif total_weight == 100:
        score = total
    else:
        score = int((Decimal(total) * 100 / total_weight).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return HealthScore(score=max(0, min(100, score)), parts=parts)


def health_of(session: Session, config: Config, contracts: Sequence[Contract],
              now: datetime | None = None) -> dict[int, HealthScore]:
    """Health per contract id: one query for the open tickets of all their accounts, and one
    overdue-orders count per distinct account (crm_core.services.orders). Pass `now` so an open order
    past its due date counts even before the daily job marks it overdue; without it only orders
    already marked overdue count."""
    today = local_date(config, now) if now is not None else None
    account_ids = sorted({c.account_id for c in contracts})
    tickets = open_counts_by_account(session, account_ids)
    overdue = {a: overdue_orders_count(session, a, today=today) for a in account_ids}
    return {c.id: health_score(config.health, usage_pct=c.usage_pct, nps=c.nps,
                               open_tickets=tickets.get(c.account_id, 0), overdue_payments=overdue[c.account_id])
            for c in contracts}


# --- creating, reading, changing ---------------------------------------------------------------------

def do_create_contract(uow: UnitOfWork, *, account_id: int, owner_id: int, start: date, value: Decimal,
                       now: datetime, end: date | None = None, deal_id: int | None = None,
                       actor_id: int | None = None, currency: str | None = None) -> Contract:
    end = end or start + timedelta(days=uow.config.renewals.default_term_days)
    if end <= start:
        raise InvalidValue("end", end.isoformat(), "contract.end_after_start")
    contract = Contract(account_id=account_id, owner_id=owner_id, deal_id=deal_id, start_date=start, end_date=end,
                        value=value, currency=currency or uow.config.company.currency, usage_pct=100, nps=None,
                        created_at=now, updated_at=now)
    uow.session.add(contract)
    uow.session.flush()
    audit.record(uow.session, actor_id=actor_id, action="contract.create", record_type="contract",
                 record_id=contract.id, now=now, deal=deal_id, value=str(value), end=end.isoformat())
    return contract


def contract_for_won_deal(uow: UnitOfWork, deal: Deal, *, actor_id: int | None, now: datetime) -> Contract:
    """The contract a won deal becomes (once per deal): starts on the close day (company time), or where
    the contract it renews ends, runs renewals.default_term_days, worth the deal amount."""
    existing = uow.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
    if existing is not None:
        return existing
    start = local_date(uow.config, deal.closed_at or now)
    renewed = uow.session.scalar(select(Contract).where(Contract.renewal_deal_id == deal.id))
    if renewed is not None and renewed.end_date > start:
        start = renewed.end_date
    return do_create_contract(uow, account_id=deal.account_id, owner_id=deal.owner_id, start=start,
                              value=deal.amount if deal.amount is not None else Decimal("0.00"), now=now,
                              deal_id=deal.id, actor_id=actor_id, currency=deal.currency)


def can_see(session: Session, actor: User, contract: Contract) -> bool:
    return can_access(session, actor, contract.owner_id, contract.account.owner_id)


def access_contract(uow: UnitOfWork, actor: User, contract_id: int, *, for_update: bool = False) -> Contract:
    contract = load_record(uow.session, Contract, contract_id, "contract", for_update=for_update)
    if not can_see(uow.session, actor, contract):
        require_access(uow.session, actor, contract.owner_id, "forbidden.work_on", ref=f"C-{contract_id}")
    return contract


def _int_in(raw: str, field: str, low: int, high: int, hint: str, ref: str) -> int:
    text = raw.strip().rstrip("%\uff05")  # 80% or 80％ (full width)
    try:
        value = int(text)
    except ValueError:
        raise InvalidValue(field, raw, hint, ref=ref) from None
    if not low <= value <= high:
        raise InvalidValue(field, raw, hint, ref=ref)
    return value


def do_set_contract(uow: UnitOfWork, actor: User, contract: Contract, values: dict[str, str], *,
                    now: datetime) -> list[str]:
    """Set usage (0–100 %) and/or NPS (−100..100; "none" clears it). Validates everything first."""
    ref = contract.ref
    if not values:
        raise InvalidValue("fields", "", "contract.set_what", ref=ref)
    parsed: dict[str, int | None] = {}
    for raw_key, raw in values.items():
        key = CONTRACT_FIELD_ALIASES.get(raw_key.lower(), raw_key.lower())
        if key == "usage":
            parsed["usage"] = _int_in(raw, "usage", 0, 100, "contract.usage", ref)
        elif key == "nps":
            parsed["nps"] = None if raw.strip().lower() in ("none", "-", "") else _int_in(
                raw, "nps", -100, 100, "contract.nps", ref)
        else:
            raise InvalidValue("field", raw_key, "contract.fields", ref=ref)
    if "usage" in parsed:
        contract.usage_pct = int(parsed["usage"])  # type: ignore[arg-type]
    if "nps" in parsed:
        contract.nps = parsed["nps"]
    contract.updated_at = now
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="contract.set", record_type="contract",
                 record_id=contract.id, now=now, **{k: v for k, v in parsed.items()})
    return list(parsed)


# --- renewals ----------------------------------------------------------------------------------------

def renewals_due(session: Session, config: Config, owner_ids: set[int] | None, now: datetime, *, days: int = 90,
                 limit: int = 50) -> list[Contract]:
    """Contracts ending within `days` from today (company time), soonest first (index range on end_date)."""
    today = local_date(config, now)
    stmt = select(Contract).where(Contract.end_date >= today, Contract.end_date <= today + timedelta(days=days))
    if owner_ids is not None:
        stmt = stmt.where(Contract.owner_id.in_(owner_ids))
    return list(session.scalars(stmt.order_by(Contract.end_date, Contract.id).limit(limit)))


def renewal_deal_name(config: Config, contract: Contract) -> str:
    """"<account> renewal C-4", in the language of the deal's owner (who reads it in every list), not the
    company's: an English rep's renewals were all named in Chinese."""
    word = RENEWAL_WORD[label_language(locale_of(contract.owner, config))]
    return f"{contract.account.name} {word} {contract.ref}"[:300]


def create_renewal_deal(uow: UnitOfWork, contract: Contract, actor: User | None, now: datetime) -> Deal:
    """The renewal deal of a contract, created once: owner = the contract owner, amount = its value,
    close date = its end date, custom field renewal_of = "C-4". Calling it again returns the same deal.

    The contract row is locked (FOR UPDATE on PostgreSQL) first, so two clicks or a click racing the
    scheduler create one deal. actor None means the scheduler (the owner is recorded as the creator).
    """
    uow.session.scalar(select(Contract).where(Contract.id == contract.id).with_for_update(of=Contract)
                       .execution_options(populate_existing=True))  # re-read renewal_deal_id under the lock
    if contract.renewal_deal_id is not None:
        existing = uow.session.get(Deal, contract.renewal_deal_id)
        assert existing is not None
        return existing
    owner = contract.owner
    previous = uow.session.get(Deal, contract.deal_id) if contract.deal_id else None
    deal = do_create_deal(uow, actor or owner, account_name=contract.account.name, amount=contract.value,
                          name=renewal_deal_name(uow.config, contract), close_date=contract.end_date, now=now,
                          owner=owner, contact=previous.contact if previous else None)
    deal.account = contract.account
    deal.fields = {"renewal_of": contract.ref}
    contract.renewal_deal_id = deal.id
    contract.updated_at = now
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id if actor else None, action="contract.renewal_deal",
                 record_type="contract", record_id=contract.id, now=now, deal=deal.id)
    uow.emit(RenewalDealCreated(contract_id=contract.id, deal_id=deal.id, actor_id=actor.id if actor else None))
    return deal
