"""Which accounts and contacts a person may see, and finding them by what people type.

`find_accounts` / `find_contacts` are the ONE place the `account` and `contact` commands turn text into
records: a reference of a record that belongs to one (`D-7` → its account / contact, `T-9`, `C-4` → the
account), else a name, case-insensitive, exact before partial. A general resolver (pinyin, pick lists)
can replace the name part here without touching the commands.

Visibility follows crm_core.services.permissions: admins and the support team see every account; anyone
else an account they (or their team) own, or on which they (or their team) own a deal.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from crm_core.models import Account, Contact, Contract, Deal, Ticket, User
from crm_core.normalize import normalize_company
from crm_core.refs import parse_ref
from crm_core.services.permissions import visible_owner_ids

SUPPORT_TAG = "support"
MAX_MATCHES = 10


def account_scope(session: Session, actor: User) -> set[int] | None:
    """Owner ids whose accounts (and whose deals' accounts) the actor may see; None: every account."""
    if SUPPORT_TAG in (actor.tags or []):
        return None
    return visible_owner_ids(session, actor)


def visible_account_clause(owner_ids: set[int] | None) -> ColumnElement[bool]:
    if owner_ids is None:
        return true()
    ids = sorted(owner_ids)
    return or_(Account.owner_id.in_(ids),
               exists().where(Deal.account_id == Account.id, Deal.owner_id.in_(ids)))


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _by_ref(session: Session, text: str) -> int | None:
    """The account id of the record a reference names (D-7, T-9, C-4), or None when `text` is no such reference."""
    ref = parse_ref(text, "deal", "ticket", "contract")
    if ref is None:
        return None
    model: Any = {"deal": Deal, "ticket": Ticket, "contract": Contract}[ref.kind]
    return session.scalar(select(model.account_id).where(model.id == ref.id)) or 0


def find_accounts(session: Session, actor: User, text: str, *, limit: int = MAX_MATCHES) -> list[Account]:
    """Accounts the actor may see that `text` names: exact name matches if any, else names containing it."""
    text = (text or "").strip()
    if not text:
        return []
    scope = visible_account_clause(account_scope(session, actor))
    account_id = _by_ref(session, text)
    if account_id is not None:
        return list(session.scalars(select(Account).where(Account.id == account_id, scope)))
    key = normalize_company(text)
    exact = list(session.scalars(select(Account).where(
        scope, or_(func.lower(Account.name) == text.lower(), Account.name_key == key)).order_by(Account.id).limit(limit)))
    if exact:
        return exact
    partial = or_(func.lower(Account.name).like(_like(text), escape="\\"),
                  Account.name_key.like(_like(key), escape="\\") if key else false())
    return list(session.scalars(select(Account).where(scope, partial).order_by(Account.name, Account.id).limit(limit)))


def find_contacts(session: Session, actor: User, text: str, *, limit: int = MAX_MATCHES) -> list[Contact]:
    """Contacts (of accounts the actor may see) that `text` names: a deal reference (its contact), an exact
    name or e-mail, else names containing it."""
    text = (text or "").strip()
    if not text:
        return []
    scope = exists().where(Account.id == Contact.account_id, visible_account_clause(account_scope(session, actor)))
    ref = parse_ref(text, "deal")
    if ref is not None:
        contact_id = session.scalar(select(Deal.contact_id).where(Deal.id == ref.id))
        return list(session.scalars(select(Contact).where(Contact.id == (contact_id or 0), scope)))
    exact = list(session.scalars(select(Contact).where(
        scope, or_(func.lower(Contact.name) == text.lower(), func.lower(Contact.email) == text.lower()))
        .order_by(Contact.id).limit(limit)))
    if exact:
        return exact
    return list(session.scalars(select(Contact).where(scope, func.lower(Contact.name).like(_like(text), escape="\\"))
                                .order_by(Contact.name, Contact.id).limit(limit)))
