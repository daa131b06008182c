""""Nothing changed", checked: every row of every table of the schema, as plain values."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from crm_core.models import Base

# Bookkeeping a refused request legitimately leaves behind (a request that was answered — even with
# "you may not do that" — is remembered so a retry answers the same; a first contact creates the user's
# pacing row, etc.). Business state lives in every other table.
BOOKKEEPING = frozenset({"processed_invocations", "seen_signatures", "delivery_pacing", "delivery_log",
                         "wecom_inbound", "wecom_card_tasks", "wecom_response_codes", "wecom_access_tokens",
                         "inbox"})

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(engine: Engine, *, ignore: frozenset[str] = frozenset()) -> Snapshot:
    out: Snapshot = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in ignore:
                continue
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def changes(before: Snapshot, after: Snapshot) -> dict[str, tuple[int, int]]:
    """Tables whose rows differ: name -> (rows before, rows after)."""
    return {name: (len(before.get(name, [])), len(rows)) for name, rows in after.items()
            if rows != before.get(name, [])}
