"""Keeps the search index (search_terms) in step with the records, in the same transaction.

One session listener (after_flush, on every factory crm_core.db.make_session_factory builds) sees every ORM write: a new lead/deal/account/contact/ticket gets its
keys, a rename replaces them, an owner change moves them, a delete drops them. Writes that bypass the
ORM call `index_rows` / `sync_owners` themselves (lead import, transfer). The migration that creates
the table backfills it with `backfill`.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, event, inspect, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from crm_core.models import Account, Contact, Deal, Lead, Ticket
from crm_core.models.search import SearchTerm
from crm_core.search_text import record_keys

# model → (kind, the attributes whose text the record is found by)
INDEXED: dict[type, tuple[str, tuple[str, ...]]] = {
    Lead: ("lead", ("name", "company")),
    Deal: ("deal", ("name",)),
    Account: ("account", ("name",)),
    Contact: ("contact", ("name",)),
    Ticket: ("ticket", ("subject",)),
}
MODEL_OF = {kind: model for model, (kind, _) in INDEXED.items()}
_KEEPS_INDEX = "_chatcrm_keeps_search_index"  # set on a factory whose sessions index (keep_search_index)
COPY_FROM = 1000  # keys at once from which PostgreSQL gets them by COPY (a bulk path: import, backfill)
COPY_SQL = "COPY search_terms (kind, record_id, field, key, owner_id) FROM STDIN"


def index_rows(conn: Connection | Session, kind: str,
               records: Iterable[tuple[int, int | None, Sequence[str | None]]], *, replace: bool = False) -> int:
    """(re)index records given as (id, owner_id, texts); one executemany."""
    records = list(records)
    if replace and records:
        ids = [r[0] for r in records]
        for start in range(0, len(ids), 500):
            conn.execute(delete(SearchTerm).where(SearchTerm.kind == kind,
                                                  SearchTerm.record_id.in_(ids[start:start + 500])))
    rows = [(kind, rid, field, key, owner) for rid, owner, texts in records
            for field, key in sorted(record_keys(*texts))]
    if rows:
        # The driver's own executemany of plain tuples: the rows are five ints and strings that need no type
        # processing. Through the ORM's bulk insert, 246 000 keys of a 10 000-lead import cost 1.5 s of Python
        # before the database saw them; through a Core insert of dicts, 0.7 s.
        raw = conn if isinstance(conn, Connection) else conn.connection()
        if len(rows) >= COPY_FROM and raw.dialect.driver == "psycopg":
            _copy(raw, rows)
        else:
            raw.exec_driver_sql(_insert_sql(raw.dialect.paramstyle), rows)
    return len(rows)


def _copy(conn: Connection, rows: list[tuple[str, int, str, str, int | None]]) -> None:
    """PostgreSQL's COPY through psycopg, on the transaction's own connection: 400 000 keys (a 20 000-lead
    import) in 2.5 s instead of 5.9 s by executemany. The engine's statement events do not see it; the
    records whose keys these are were written through the engine just before (crm_core.db.changes_so_far
    counts those)."""
    with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(COPY_SQL) as copy:
            for row in rows:
                copy.write_row(row)


def _insert_sql(paramstyle: str) -> str:
    """Positional placeholders as the driver spells them (sqlite3: ?, psycopg: %s)."""
    mark = {"qmark": "?", "numeric": ":{}"}.get(paramstyle, "%s")
    marks = ", ".join(mark.format(i) for i in range(1, 6))
    return f"INSERT INTO search_terms (kind, record_id, field, key, owner_id) VALUES ({marks})"


def sync_owners(session: Session, kinds: Sequence[str], old_owner_id: int, new_owner_id: int) -> None:
    """After a bulk owner change (transfer): the keys of the records that moved take their new owner
    (one UPDATE whatever the number of kinds)."""
    moved = [and_(SearchTerm.kind == kind, SearchTerm.record_id.in_(
        select(MODEL_OF[kind].id).where(MODEL_OF[kind].owner_id == new_owner_id))) for kind in kinds]
    session.execute(update(SearchTerm).where(SearchTerm.owner_id == old_owner_id, or_(*moved))
                    .values(owner_id=new_owner_id).execution_options(synchronize_session=False))


def _changed(obj: Any, attrs: Iterable[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[a].history.has_changes() for a in attrs)


def keep_search_index(factory: sessionmaker[Session]) -> None:
    """Every session of `factory` keeps search_terms in step (crm_core.db.make_session_factory calls it).

    The factory remembers it itself. `event.contains` is no guard: SQLAlchemy's registry keys a listener by
    the id() of its target and forgets it only when the garbage collector frees the factory's Session
    class, so a new factory at a freed factory's address looked registered and never indexed anything
    (a record created through it was not found by name until the next collection)."""
    if factory.__dict__.get(_KEEPS_INDEX):
        return
    event.listen(factory, "after_flush", _after_flush)
    factory.__dict__[_KEEPS_INDEX] = True


def _after_flush(session: Session, _ctx: Any) -> None:
    fresh: dict[str, list[tuple[int, int | None, tuple[str | None, ...]]]] = {}
    renamed: dict[str, list[tuple[int, int | None, tuple[str | None, ...]]]] = {}
    moved: list[tuple[str, int, int | None]] = []
    gone: dict[str, list[int]] = {}
    for obj in session.new:
        spec = INDEXED.get(type(obj))
        if spec is not None:
            fresh.setdefault(spec[0], []).append((obj.id, obj.owner_id, tuple(getattr(obj, a) for a in spec[1])))
    for obj in session.dirty:
        spec = INDEXED.get(type(obj))
        if spec is None:
            continue
        if _changed(obj, spec[1]):
            renamed.setdefault(spec[0], []).append((obj.id, obj.owner_id, tuple(getattr(obj, a) for a in spec[1])))
        elif _changed(obj, ("owner_id",)):
            moved.append((spec[0], obj.id, obj.owner_id))
    for obj in session.deleted:
        spec = INDEXED.get(type(obj))
        if spec is not None:
            gone.setdefault(spec[0], []).append(obj.id)
    if not (fresh or renamed or moved or gone):
        return
    conn = session.connection()
    for kind, records in fresh.items():
        index_rows(conn, kind, records)
    for kind, records in renamed.items():
        index_rows(conn, kind, records, replace=True)
    for kind, rid, owner in moved:
        conn.execute(update(SearchTerm).where(SearchTerm.kind == kind, SearchTerm.record_id == rid)
                     .values(owner_id=owner))
    for kind, ids in gone.items():
        conn.execute(delete(SearchTerm).where(SearchTerm.kind == kind, SearchTerm.record_id.in_(ids)))


def backfill(conn: Connection, *, batch: int = 2000) -> int:
    """Index every existing record (the migration that creates the table; `chatcrm` never needs it again)."""
    total = 0
    sources = {
        "lead": "SELECT id, owner_id, name, company FROM leads",
        "deal": "SELECT id, owner_id, name FROM deals",
        "account": "SELECT id, owner_id, name FROM accounts",
        "contact": "SELECT id, owner_id, name FROM contacts",
        "ticket": "SELECT id, owner_id, subject FROM tickets",
    }
    for kind, sql in sources.items():
        result = conn.execute(text(sql))
        while True:
            chunk = result.fetchmany(batch)
            if not chunk:
                break
            total += index_rows(conn, kind, [(r[0], r[1], tuple(r[2:])) for r in chunk])
    return total
