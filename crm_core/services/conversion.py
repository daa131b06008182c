"""Lead conversion into account + contact + deal."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from crm_core.errors import Conflict
from crm_core.models import Account, Contact, Deal, Lead, User
from crm_core.services import audit
from crm_core.services.accounts import find_or_create_account
from crm_core.services.deals import do_create_deal
from crm_core.services.leads import access_lead
from crm_core.uow import UnitOfWork


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    account: Account
    contact: Contact
    deal: Deal


def do_convert_lead(uow: UnitOfWork, actor: User, lead_id: int, *, amount: Decimal | None,
                    now: datetime, account_name: str | None = None) -> Conversion:
    """`account_name`: the customer the person chose (`account=`), else the lead's company (else its name)."""
    lead = access_lead(uow, actor, lead_id)
    if lead.status == "converted":
        raise Conflict("lead.already_converted", ref=lead.ref, deal=f"D-{lead.converted_deal_id}")
    owner = lead.owner
    account = find_or_create_account(uow, account_name or lead.company or lead.name, owner=owner, now=now,
                                     industry=lead.industry, region=lead.region)
    contact = Contact(account_id=account.id, name=lead.name, email=lead.email, phone=lead.phone,
                      owner_id=owner.id, created_at=now)
    uow.session.add(contact)
    uow.session.flush()
    deal = do_create_deal(uow, actor, account_name=account.name, amount=amount, name=None, close_date=None,
                          now=now, owner=owner, contact=contact, lead_id=lead.id)
    lead.status = "converted"
    lead.converted_deal_id = deal.id
    lead.updated_at = now
    if lead.first_responded_at is None:
        lead.first_responded_at = now
    audit.record(uow.session, actor_id=actor.id, action="lead.convert", record_type="lead", record_id=lead.id,
                 now=now, deal=deal.id)
    return Conversion(lead=lead, account=account, contact=contact, deal=deal)
