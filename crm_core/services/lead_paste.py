"""A lead from a pasted signature: the parts a lead has fields for go there, the rest into a note."""
from __future__ import annotations

from datetime import datetime

from crm_core.models import Activity, User
from crm_core.normalize import normalize_phone
from crm_core.services.leads import LeadInput, LeadResult, do_create_lead
from crm_core.signature import Signature
from crm_core.uow import UnitOfWork


def lead_input_of(sig: Signature) -> LeadInput:
    """Name, company, e-mail and the first number dedupe can use (the mobile, else the landline)."""
    if not sig.name:  # the handler answers a paste without a name before it gets here
        raise ValueError("a signature without a name makes no lead")
    phone = next((p for p in (sig.mobile, sig.landline) if p and normalize_phone(p)), None)
    return LeadInput(name=sig.name, company=sig.company, email=sig.email, phone=phone, source="chat")


def unfielded(sig: Signature, phone: str | None) -> list[tuple[str, str]]:
    """(part, text) of everything pasted that has no lead field: title, the other number, address, website, rest."""
    items = [(part, getattr(sig, part)) for part in ("title", "mobile", "landline", "address", "website")
             if getattr(sig, part) and getattr(sig, part) != phone]
    return items + [("other", p) for p in sig.other_phones] + [("other", r) for r in sig.rest]


def do_create_lead_from_signature(uow: UnitOfWork, sig: Signature, note: str | None, *, actor: User,
                                  now: datetime) -> LeadResult:
    """Create (or, for a known person, update) the lead, and keep `note` — the parts with no field — on it.
    The note is the paste's, not a contact with the customer: it does not count as the first response."""
    result = do_create_lead(uow, lead_input_of(sig), actor=actor, now=now)
    if note:
        uow.session.add(Activity(kind="note", text=note, actor_id=actor.id, at=now, lead_id=result.lead.id))
        uow.session.flush()
    return result
