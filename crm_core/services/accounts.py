"""Accounts (the customer companies): found by their normalised name, created on first mention.

Deals, tickets and lead conversion all name a customer; they share this one lookup.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.fields import COMPANY_MAX, check_text
from crm_core.models import Account, User
from crm_core.normalize import normalize_company
from crm_core.uow import UnitOfWork


def account_named(session: Session, name: str) -> Account | None:
    """The account a customer's name means: the same company key (`Acme Inc.` is `ACME, Inc`), oldest first."""
    return session.scalar(select(Account).where(Account.name_key == normalize_company(name)).order_by(Account.id))


def find_or_create_account(uow: UnitOfWork, name: str, *, owner: User, now: datetime,
                           industry: str | None = None, region: str | None = None) -> Account:
    name = check_text("account", name, COMPANY_MAX, required=True) or ""
    account = account_named(uow.session, name)
    if account is None:
        account = Account(name=name.strip(), name_key=normalize_company(name), owner_id=owner.id, industry=industry,
                          region=region, created_at=now)
        uow.session.add(account)
        uow.session.flush()
    return account
