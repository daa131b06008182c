"""Loading one record by id, the way every `access_*` / `lock_*` function needs it."""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.errors import NotFound
from crm_core.refs import ref_str

M = TypeVar("M")


def load_record(session: Session, model: type[M], record_id: int, kind: str, *, for_update: bool = False) -> M:
    """The record, or NotFound naming it as people type it (D-7). With `for_update`, the row is locked
    (`FOR UPDATE OF` its own table only: PostgreSQL refuses to lock the nullable side of the outer joins
    that eager loading adds) and re-read, so the caller decides on the state it holds the lock for."""
    record: Any
    if for_update:
        stmt = select(model).where(model.id == record_id)  # type: ignore[attr-defined]
        record = session.scalar(stmt.with_for_update(of=model).execution_options(populate_existing=True))
    else:
        # The identity map first: a record this unit of work already loaded costs no statement. (A SELECT
        # would not refresh it either: without populate_existing the loaded object is returned as it is.)
        record = session.get(model, record_id)
    if record is None:
        raise NotFound(ref=ref_str(kind, record_id))
    return record  # type: ignore[no-any-return]
