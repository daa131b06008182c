"""Who hears about what: domain events of the sales area → outbox rows (delivered by the scheduler)."""
from __future__ import annotations

from datetime import datetime

from cards.builders.common import notice_card
from cards.builders.sales import lead_card, t
from cards.i18n import translator
from cards.format import picklist_label
from crm_core.events import Event, Generic, LeadAssigned, LeadUpdatedByDuplicate, SwarmRequested
from crm_core.models import Lead, User
from crm_core.outbox import enqueue
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork
from handlers.notify import on, record_and_recipient
from handlers.presentation.sales import lead_view

t_chat = translator("chat")


@on(LeadAssigned)
def tell_new_owner(uow: UnitOfWork, event: Event, now: datetime) -> None:
    assert isinstance(event, LeadAssigned)
    found = record_and_recipient(uow, Lead, event.lead_id, event.owner_id)
    if found is None:
        return
    lead, owner, locale = found
    key = "lead.reassigned_to_you" if event.reason == "reassigned" else "lead.assigned_to_you"
    note = t(locale, key, ref=lead.ref, name=lead.name, minutes=uow.config.sla.lead.first_response_minutes)
    card = lead_card(locale, lead_view(uow, lead, locale, zone=owner.timezone), note=note)
    enqueue(uow.session, dedupe_key=f"lead-assigned:{lead.id}:{owner.id}:{lead.reassign_count}",
            kind="lead.assigned", target_type="user", target_id=owner.id, payload=card.to_dict(), now=now,
            record_type="lead", record_id=lead.id)


@on(LeadUpdatedByDuplicate)
def tell_owner_their_lead_came_again(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """Someone typed a lead that was this owner's (same e-mail, phone, or name at the company), or it came in
    again through the web form or the API (a buying signal): the owner hears who or whence, and how to split
    it, once a day per lead and colleague (or source). Every such addition is in the lead's merge records."""
    assert isinstance(event, LeadUpdatedByDuplicate)
    lead = uow.session.get(Lead, event.lead_id)
    if lead is None or lead.owner_id == event.actor_id:
        return
    actor = uow.session.get(User, event.actor_id) if event.actor_id is not None else None
    found = record_and_recipient(uow, Lead, lead.id, lead.owner_id)
    if found is None or (event.actor_id is not None and actor is None):
        return
    _, owner, locale = found
    matched_on = t(locale, f"matched.{event.matched_on}")
    if actor is not None:
        note = t(locale, "lead.duplicate_by_colleague", actor=actor.name, ref=lead.ref, matched_on=matched_on)
    else:
        source = picklist_label(uow.config, "source", event.source, locale) or event.source
        note = t(locale, "lead.came_again", ref=lead.ref, source=source, matched_on=matched_on)
    card = lead_card(locale, lead_view(uow, lead, locale, zone=owner.timezone), note=note)
    who = actor.id if actor is not None else f"source-{event.source}"
    enqueue(uow.session, dedupe_key=f"lead-duplicate:{lead.id}:{owner.id}:{who}:{now:%Y-%m-%d}", kind="lead.duplicate",
            target_type="user", target_id=owner.id, payload=card.to_dict(), now=now, record_type="lead",
            record_id=lead.id)


@on(SwarmRequested)
def request_swarm(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """Creating the swarm channel is an effect on other people: it goes through the outbox, once per record."""
    assert isinstance(event, SwarmRequested)
    enqueue(uow.session, dedupe_key=f"swarm-create:{event.record_type}:{event.record_id}", kind="swarm.create",
            op="swarm.create", target_type="swarm", target_id=event.record_id, record_type=event.record_type,
            record_id=event.record_id, payload={"requested_by": event.actor_id, "reason": event.reason}, now=now)


@on(Generic)
def tell_owner_about_imported_leads(uow: UnitOfWork, event: Event, now: datetime) -> None:
    """One message per owner per import batch, not one per lead."""
    assert isinstance(event, Generic)
    if event.name != "leads.imported":
        return
    owner = uow.session.get(User, event.data["owner_id"])
    if owner is None:
        return
    locale = locale_of(owner, uow.config)
    count = event.data["count"]
    title = t_chat(locale, "imported.title", count=count)
    text = t_chat(locale, "imported.how")
    card = notice_card(locale, title, text, kind="leads.imported")
    enqueue(uow.session, dedupe_key=f"leads-imported:{now:%Y%m%dT%H%M%S}:{event.data['batch']}:{owner.id}",
            kind="leads.imported", target_type="user", target_id=owner.id, payload=card.to_dict(), now=now)
