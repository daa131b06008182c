"""Closing a deal, with its effects in other areas, in the one transaction of the use case.

Deals know nothing of contracts; contracts build on deals (a renewal is a deal). So the cross-area
effect of a win is called here, explicitly, by the use case (chat, buttons, the demo), not from inside
deals.py:

- won  → the deal's own close (crm_core.services.deals.record_close), then the contract it becomes
         (crm_core.services.contracts.contract_for_won_deal: once per deal);
- lost → the deal's own close only.
"""
from __future__ import annotations

from datetime import datetime

from crm_core.models import Deal, User
from crm_core.services.contracts import contract_for_won_deal
from crm_core.services.deals import record_close
from crm_core.uow import UnitOfWork


def do_close(uow: UnitOfWork, actor: User, deal: Deal, *, won: bool, reason: str | None, now: datetime) -> None:
    """Mark the deal won or lost (refused, changing nothing, when it cannot be); a won deal becomes a contract."""
    record_close(uow, actor, deal, won=won, reason=reason, now=now)
    if won:
        contract_for_won_deal(uow, deal, actor_id=actor.id, now=now)
