from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from crm_core.models import AuditEntry

# An audit entry is written, never read back by the action that writes it: a plain INSERT of the table,
# built once, costs a sixth of an ORM object and its flush (16 µs against 100 µs; every change writes one).
_INSERT = insert(AuditEntry.__table__)


def record(session: Session, *, actor_id: int | None, action: str, record_type: str, record_id: int,
           now: datetime, **data: Any) -> None:
    session.execute(_INSERT, {"actor_id": actor_id, "action": action, "record_type": record_type,
                              "record_id": record_id, "data": _jsonable(data), "at": now})


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        out[k] = v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)
    return out
