"""Accounts (the customer companies) and their contacts: found by their normalised name, created on first mention.

Deals, tickets and lead conversion all name a customer; they share this one lookup. A deal's contact is one
of its account's people, found by name as people type it (`mallory brown` is Mallory Brown).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.fields import COMPANY_MAX, check_text
from crm_core.models import Account, Contact, User
from crm_core.normalize import SAME_KEY_READ, company_places, normalize_company, places_differ
from crm_core.search_text import name_keys, search_key, slips, slips_allowed
from crm_core.uow import UnitOfWork


def account_named(session: Session, name: str) -> Account | None:
    """The account a customer's name means: the one called exactly that, else the same company key (`Acme Inc.`
    is `ACME, Inc`; "Huaxing Tech" is "Shenzhen Huaxing Tech Co., Ltd." written in Chinese), oldest first —
    unless the two name different places ("Guangzhou Huaxing Tech" is not it), or the name says none and the
    key's accounts are in several (None: ask). Places: crm_core.normalize.company_places."""
    same_key = session.scalars(select(Account).where(Account.name_key == normalize_company(name))
                               .order_by(Account.id).limit(SAME_KEY_READ)).all()
    if exact := next((a for a in same_key if a.name == name.strip()), None):
        return exact
    fits = [a for a in same_key if not places_differ(name, a.name)]
    if len({places[-1] for places, _ in map(company_places, (a.name for a in fits)) if places}) > 1:
        return None  # "Huaxing Tech", with one in Shenzhen and one in Guangzhou: which is for the person to say
    return fits[0] if fits else None


def place_left_out(name: str) -> str | None:
    """The name without the places it starts with ("Guangzhou Huaxing Tech" in Chinese → "Huaxing Tech"), for
    finding the accounts of other places; None when it starts with none."""
    places, rest = company_places(name)
    return rest if places else None


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


CONTACTS_READ = 500  # an account's contacts compared by name; more than a customer has people in a deal


def _contacts(session: Session, account_id: int) -> Sequence[Contact]:
    return session.scalars(select(Contact).where(Contact.account_id == account_id).order_by(Contact.id)
                           .limit(CONTACTS_READ)).all()


def contact_named(session: Session, account_id: int, name: str) -> Contact | None:
    """The account's contact called `name` as people type it: case, spaces and punctuation aside, oldest first."""
    return _called(_contacts(session, account_id), search_key(name))


def _called(contacts: Sequence[Contact], key: str) -> Contact | None:
    return next((c for c in contacts if key and search_key(c.name) == key), None)


def contacts_to_ask_about(session: Session, account_id: int, name: str, *, limit: int) -> list[Contact]:
    """The account's contacts a name may mean when none is called that (one read of the account's people; none
    when one is called so): those it starts (`Mallory` for Mallory Brown), a later word of their name it starts
    (`Brown`), pinyin included (of a Chinese name), and those spelled within a slip or two of it (`Malory`).
    Best first."""
    key = search_key(name)
    contacts = _contacts(session, account_id)
    if not key or _called(contacts, key) is not None:
        return []
    most = slips_allowed(key)
    ranked: list[tuple[int, int, Contact]] = []
    for contact in contacts:
        keys = [k for _, k in name_keys(contact.name)]
        if any(k.startswith(key) for k in keys):
            ranked.append((0, contact.id, contact))
        elif most and (n := min((slips(key, k, most) for k in keys), default=most + 1)) <= most:
            ranked.append((n, contact.id, contact))
    return [c for _, _, c in sorted(ranked, key=lambda r: r[:2])][:limit]
