"""Lists of deals, leads and tickets for `deal list` / `lead list` / `ticket list`: whose (a scope of owners),
which stage, overdue only.

A scope is the set of owners whose records the list may show (crm_core.services.permissions.list_owner_ids:
reps their own, managers their team, admins everyone), so a list never shows a record its reader may not
open. Each page is ONE query: the overdue flag of every row is computed in it (close date past, first
response late, or an open task past its due date), never per row.

`LeadLine` / `DealLine`: a record as one line of `my`, the Home tab or a picker, read as columns. Loading
ten ORM objects (identity map, every column's type, the instance events) cost three times the column
query, and `my` runs four such lists on every call.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional, TypeVar

from sqlalchemy import and_, case, exists, or_, select
from sqlalchemy.orm import Session

from crm_core.models import Deal, Lead, Task, Ticket
from crm_core.refs import ref_str

MAX_OFFSET = 1_000_000  # a page offset from a button value: anything beyond is an empty page, not an overflow


@dataclass(frozen=True, slots=True)
class LeadLine:
    """A lead as a list line: L-12 · name · company · score."""

    id: int
    name: str
    company: Optional[str]
    score: int

    @property
    def ref(self) -> str:
        return ref_str("lead", self.id)


@dataclass(frozen=True, slots=True)
class DealLine:
    """A deal as a list line: D-7 · name · stage · amount, or its close date."""

    id: int
    name: str
    stage: str
    amount: Optional[Decimal]
    currency: str
    close_date: Optional[date]

    @property
    def ref(self) -> str:
        return ref_str("deal", self.id)


LEAD_LINE = (Lead.id, Lead.name, Lead.company, Lead.score)  # select(*LEAD_LINE): the columns of a LeadLine
DEAL_LINE = (Deal.id, Deal.name, Deal.stage, Deal.amount, Deal.currency, Deal.close_date)


Line = TypeVar("Line", LeadLine, DealLine)


def read_lines(session: Session, line: type[Line], stmt: Any, params: dict[str, Any]) -> list[Line]:
    """`stmt` selects the columns of `line` (LEAD_LINE, DEAL_LINE), through the session, so pending changes
    are flushed first."""
    return [line(*row) for row in session.execute(stmt, params)]


@dataclass(frozen=True)
class ListFilter:
    owner_ids: frozenset[int] | None  # None: every owner
    stage: str | None = None  # a stage key (deals)
    overdue: bool = False


def _owners(column: Any, owner_ids: frozenset[int] | None) -> Any:
    return None if owner_ids is None else column.in_(sorted(owner_ids))


def deal_overdue(today: date) -> Any:
    """An open deal is overdue when its close date has passed or one of its open tasks is past due."""
    late_task = exists().where(Task.deal_id == Deal.id, Task.done_at.is_(None), Task.due_date < today)
    return or_(and_(Deal.close_date.is_not(None), Deal.close_date < today), late_task)


def lead_overdue(today: date, now: datetime) -> Any:
    """An open lead is overdue when its first response is late or one of its open tasks is past due."""
    late_task = exists().where(Task.lead_id == Lead.id, Task.done_at.is_(None), Task.due_date < today)
    late_response = and_(Lead.first_responded_at.is_(None), Lead.first_response_due_at.is_not(None),
                         Lead.first_response_due_at < now)
    return or_(late_response, late_task)


def deal_page(session: Session, f: ListFilter, today: date, *, limit: int, offset: int = 0) -> list[tuple[Deal, bool]]:
    """Open deals matching `f`, most recently changed first, each with its overdue flag."""
    return _open_page(session, Deal, deal_overdue(today), (Deal.stage == f.stage if f.stage else None,), f,
                      (Deal.updated_at.desc(), Deal.id.desc()), limit, offset)


def lead_page(session: Session, f: ListFilter, today: date, now: datetime, *, limit: int,
              offset: int = 0) -> list[tuple[Lead, bool]]:
    """Open leads matching `f`, best score first, each with its overdue flag."""
    return _open_page(session, Lead, lead_overdue(today, now), (), f, (Lead.score.desc(), Lead.id.desc()), limit,
                      offset)


def ticket_overdue(now: datetime) -> Any:
    """An open ticket is overdue when the clock still running has run out: the response's until someone
    responds, then the resolution's."""
    return or_(and_(Ticket.responded_at.is_(None), Ticket.respond_due_at < now), Ticket.resolve_due_at < now)


def ticket_page(session: Session, f: ListFilter, now: datetime, *, limit: int, offset: int = 0,
                opened_by: int | None = None) -> list[tuple[Ticket, bool]]:
    """Open tickets matching `f` (and, `opened_by`, those this person opened, whoever owns them), the one whose
    running clock runs out first first, each with its overdue flag (account and owner joined: one query)."""
    running = case((Ticket.responded_at.is_(None), Ticket.respond_due_at), else_=Ticket.resolve_due_at)
    owners = _owners(Ticket.owner_id, f.owner_ids)
    if opened_by is not None and owners is not None:
        owners = or_(owners, Ticket.created_by_id == opened_by)
    return _open_page(session, Ticket, ticket_overdue(now), (), f, (running, Ticket.id), limit, offset,
                      owners=owners)


def _open_page(session: Session, model: Any, overdue: Any, clauses: tuple[Any, ...], f: ListFilter,
               order: tuple[Any, ...], limit: int, offset: int, *, owners: Any = None) -> list[tuple[Any, bool]]:
    """One page of open records of `model` (Deal, Lead or Ticket) with their overdue flag: the filter's owners, the
    model's own `clauses` (None: not filtered), only overdue ones when asked. `owners`: the model's own clause
    for whose records (default: the filter's owners)."""
    stmt = select(model, overdue.label("overdue")).where(model.status == "open")
    whose = owners if owners is not None else _owners(model.owner_id, f.owner_ids)
    for clause in (whose, *clauses, overdue if f.overdue else None):
        if clause is not None:
            stmt = stmt.where(clause)
    stmt = stmt.order_by(*order).limit(limit).offset(min(max(0, offset), MAX_OFFSET))
    return [(record, bool(late)) for record, late in session.execute(stmt)]
