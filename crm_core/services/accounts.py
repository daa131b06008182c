"""Accounts (the customer companies): found by their normalised name, created on first mention.

Deals, tickets and lead conversion all name a customer; they share this one lookup.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from crm_core.fields import COMPANY_MAX, check_text
from crm_core.models import Account, User
from crm_core.normalize import normalize_company
from crm_core.uow import UnitOfWork


def find_or_create_account(uow: UnitOfWork, name: str, *, owner: User, now: datetime,
                           industry: str | None = None, region: str | None = None) -> Account:
    name = check_text("account", name, COMPANY_MAX, required=True) or ""
    key = normalize_company(name)
    account = uow.session.scalar(select(Account).where(Account.name_key == key).order_by(Account.id))
    if account is None:
        account = Account(name=name.strip(), name_key=key, owner_id=owner.id, industry=industry, region=region,
                          created_at=now)
        uow.session.add(account)
        uow.session.flush()
    return account
