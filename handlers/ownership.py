"""Ownership: `transfer li wang` (交接) for a person who leaves, and who hears about owner changes.

`deal set D-1 owner=tom` lives in handlers/deals.py and `lead assign L-3 tom` in handlers/leads.py;
both call crm_core/services/ownership.py and end up in the notifiers below: the old and the new owner
each get one message per change, and a handover sends one message to each side, not one per record.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cards.builders.common import notice_card
from cards.builders.sales import t
from cards.model import Card, Reply, Section
from crm_core.clock import Clock
from crm_core.events import Event, OwnerChanged, RecordsTransferred
from crm_core.models import Deal, Lead, User
from crm_core.outbox import enqueue
from crm_core.services.ownership import do_transfer_all, resolve_user
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.notify import on
from handlers.registry import command


@command("transfer")
def transfer_records(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    from_user = resolve_user(uow, inv.args["from"], active_only=False)  # typically someone who has left
    to_user = resolve_user(uow, inv.args["to"])
    done = do_transfer_all(uow, actor, from_user, to_user, now=clock.now())
    names = {"from_user": from_user.name, "to_user": to_user.name}
    card = Card(title=t(locale, "transfer.title", **names), locale=locale, kind="notice",
                blocks=(Section(t(locale, "transfer.summary", **names, **done.counts)),))
    return Reply(cards=(card,))


def _people(uow: UnitOfWork, actor_id: int, old_id: int, new_id: int) -> tuple[User, User, User] | None:
    """Who moved records, from whom, to whom; None when one of them is gone (nobody to tell then)."""
    actor, old, new = (uow.session.get(User, i) for i in (actor_id, old_id, new_id))
    return None if actor is None or old is None or new is None else (actor, old, new)


def _record(uow: UnitOfWork, event: OwnerChanged) -> tuple[str, str] | None:
    model = Deal if event.record_type == "deal" else Lead
    record = uow.session.get(model, event.record_id)
    return (record.ref, record.name) if record is not None else None


Notice = Callable[[str, str, User, User, User], tuple[str, str]]  # (locale, text key, actor, old, new) → title, text


def _tell_old_and_new(uow: UnitOfWork, now: datetime, actor_id: int, old_id: int, new_id: int, *, got: str,
                      lost: str, notice: Notice, kind: str, key: str, **record: Any) -> None:
    """One notice card to the new side (text `got`) and one to the old side (text `lost`) of a change of hands,
    each in its reader's language, once per `key`; nothing when one of the three people is gone."""
    people = _people(uow, actor_id, old_id, new_id)
    if people is None:
        return
    actor, old, new = people
    for user, text_key in ((new, got), (old, lost)):
        locale = locale_of(user, uow.config)
        title, text = notice(locale, text_key, actor, old, new)
        card = notice_card(locale, title, text, kind=kind)
        enqueue(uow.session, dedupe_key=f"{key}:{user.id}", kind=kind, target_type="user", target_id=user.id,
                payload=card.to_dict(), now=now, **record)


@on(OwnerChanged)
def tell_both_owners(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, OwnerChanged)
    found = _record(uow, event)
    if found is None:
        return
    ref, name = found

    def notice(locale: str, key: str, actor: User, old: User, new: User) -> tuple[str, str]:
        return (t(locale, "owner.title", ref=ref),
                t(locale, key, ref=ref, name=name, actor=actor.name, old=old.name, new=new.name))

    _tell_old_and_new(uow, now, event.actor_id, event.old_owner_id, event.new_owner_id, got="owner.you_got",
                      lost="owner.you_lost", notice=notice, kind="owner.changed", key=f"owner:{event.audit_id}",
                      record_type=event.record_type, record_id=event.record_id)


@on(RecordsTransferred)
def tell_both_sides_of_handover(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, RecordsTransferred)
    counts = event.counts

    def notice(locale: str, key: str, actor: User, old: User, new: User) -> tuple[str, str]:
        names = {"from_user": old.name, "to_user": new.name}
        return t(locale, "transfer.title", **names), t(locale, key, actor=actor.name, **names, **counts)

    _tell_old_and_new(uow, now, event.actor_id, event.from_user_id, event.to_user_id, got="transfer.you_got",
                      lost="transfer.you_lost", notice=notice, kind="owner.transferred",
                      key=f"transfer:{event.audit_id}")
