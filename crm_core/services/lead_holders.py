"""Who held a lead and when (lead_holders): what keeps a lead from bouncing between two reps."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm_core.models import Lead, LeadHolder


def recent_holders(session: Session, lead: Lead, since: datetime) -> set[int]:
    """Who held the lead at any time after `since` (the current owner included)."""
    held = set(session.scalars(select(LeadHolder.user_id).where(
        LeadHolder.lead_id == lead.id, or_(LeadHolder.until.is_(None), LeadHolder.until >= since))))
    return held | {lead.owner_id}


def end_hold(session: Session, lead: Lead, how: str, now: datetime) -> None:
    """The current owner's stretch ends (an implicit stretch since `assigned_at` when none was recorded)."""
    open_hold = session.scalar(select(LeadHolder).where(LeadHolder.lead_id == lead.id, LeadHolder.until.is_(None),
                                                        LeadHolder.user_id == lead.owner_id))
    if open_hold is None:
        open_hold = LeadHolder(lead_id=lead.id, user_id=lead.owner_id, since=lead.assigned_at)
        session.add(open_hold)
    open_hold.until, open_hold.how = now, how
    session.flush()


def start_hold(session: Session, lead_id: int, user_id: int, now: datetime) -> None:
    session.add(LeadHolder(lead_id=lead_id, user_id=user_id, since=now))
    session.flush()
