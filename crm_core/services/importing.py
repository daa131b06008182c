"""Bulk lead import: header mapping (English or Chinese), per-row validation with reasons, dedupe against
the database and within the file, scoring and round-robin assignment as for single leads, batches of a
bounded size (one transaction each), and resumable: a row already imported is skipped on a re-run.

Imported leads do not start a first-response clock: an imported list is not a fresh inbound request,
and starting 100 000 SLA clocks at once would only produce breaches. Their owners are told once per
batch how many leads they received (not once per lead).
"""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from crm_core.config import Config
from crm_core.errors import Conflict, DomainError, InvalidValue
from crm_core.events import Generic
from crm_core.search_index import index_rows
from crm_core.models import ImportedRow, Lead, LeadIdentity, LeadMerge
from crm_core.normalize import normalize_company, places_differ
from crm_core.services.assignment import BatchAssigner
from crm_core.services.lead_identity import identity_keys
from crm_core.services.leads import (LeadInput, MergeChange, check_lead_input, input_snapshot,
                                     insert_ignoring_conflicts, merge_duplicate)
from crm_core.services.scoring import score_lead
from crm_core.uow import UnitOfWork, UnitOfWorkFactory
from crm_core.vocabulary import IMPORT_HEADER_ALIASES

HEADER_ALIASES = IMPORT_HEADER_ALIASES
_LOOKUP = {alias: canonical for canonical, aliases in HEADER_ALIASES.items() for alias in aliases}


@dataclass
class ImportStats:
    read: int = 0
    created: int = 0
    merged: int = 0  # matched an existing lead (or an earlier row of the file) and updated it
    already_imported: int = 0  # the same row was imported by an earlier run
    rejected: int = 0


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: DomainError  # why the row was refused: a code and data, said by cards.errors.error_text
    values: dict[str, str]


@dataclass
class ImportResult:
    stats: ImportStats = field(default_factory=ImportStats)
    rejected: list[Rejected] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)


def map_columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column index per lead field, and the columns that were not recognised."""
    mapping: dict[str, int] = {}
    unmapped: list[str] = []
    for i, raw in enumerate(header):
        key = _LOOKUP.get(raw.strip().lstrip("\ufeff").lower())
        if key and key not in mapping:
            mapping[key] = i
        else:
            unmapped.append(raw)
    if "name" not in mapping:
        raise InvalidValue("header", ",".join(header)[:80], "import.header")
    return mapping, unmapped


def row_key(values: dict[str, str]) -> str:
    canonical = "\x1f".join(f"{k}={values.get(k, '').strip()}" for k in sorted(HEADER_ALIASES))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _row_values(mapping: dict[str, int], row: list[str]) -> dict[str, str]:
    return {k: (row[i].strip() if i < len(row) else "") for k, i in mapping.items()}


def _lead_input(values: dict[str, str]) -> LeadInput:
    return LeadInput(name=values.get("name", ""), company=values.get("company") or None,
                     email=values.get("email") or None, phone=values.get("phone") or None,
                     source=(values.get("source") or "import").lower(), region=values.get("region") or None,
                     industry=values.get("industry") or None, product=values.get("product") or None,
                     tags=[t for t in values.get("tags", "").replace("；", ";").replace(",", ";").split(";") if t])


def _batches(rows: Iterable[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_leads(uow_factory: UnitOfWorkFactory, header: list[str],
                 rows: Iterable[tuple[int, list[str]]], *, now: datetime, batch_size: int = 1000,
                 on_batch: Callable[[ImportStats], None] | None = None) -> ImportResult:
    """Import (line number, cells) rows. Each batch is one transaction (a unit of work of the process's
    transaction owner, so the batch's events become outbox rows in it); memory is bounded by the batch."""
    mapping, unmapped = map_columns(header)
    result = ImportResult(unmapped_columns=unmapped)
    for number, batch in enumerate(_batches(rows, batch_size)):
        with uow_factory() as uow:
            _import_batch(uow, mapping, batch, now, result, number)
        if on_batch is not None:
            on_batch(result.stats)
    return result


@dataclass
class _NewLead:
    """A lead this batch creates, before it is inserted: merge_duplicate can update it like a Lead."""

    name: str
    company: str | None
    company_key: str | None
    email: str | None
    phone: str | None
    source: str
    last_source: str
    region: str | None
    industry: str | None
    product: str | None
    tags: list[str]
    score: int
    owner_id: int
    assigned_at: datetime
    created_at: datetime
    updated_at: datetime
    duplicate_hits: int = 0
    id: int | None = None
    keys_at_creation: list[tuple[str, str]] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        values = {k: v for k, v in self.__dict__.items() if k not in ("id", "keys_at_creation")}
        values.update(status="open", created_by_id=None, first_response_due_at=None, reassign_count=0)
        return values


LeadRecord = Lead | _NewLead


@dataclass(frozen=True)
class _Valid:
    key: str
    data: LeadInput
    company_key: str | None  # normalised once per row


def _keys(lead: LeadRecord | LeadInput, company_key: str | None) -> list[tuple[str, str]]:
    return identity_keys(name=lead.name, company_key=company_key, email=lead.email, phone=lead.phone)


class _Index:
    """Leads of one batch by identity key (e-mail, phone, name at company): existing ones, then the batch's new ones.

    The same rule as a single lead (crm_core.services.leads): the same company with another person is a new lead.
    """

    def __init__(self, session: Session, rows: list[_Valid]) -> None:
        self.by: dict[tuple[str, str], LeadRecord] = {}
        self.in_db: set[tuple[str, str]] = set()
        wanted = {key for r in rows for key in _keys(r.data, r.company_key)}
        values = {v for _, v in wanted}
        if not values:
            return
        lead_ids = {lid for k, v, lid in session.execute(
            select(LeadIdentity.kind, LeadIdentity.value, LeadIdentity.lead_id).where(LeadIdentity.value.in_(values)))
            if (k, v) in wanted}
        if not lead_ids:
            return
        leads = {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))}
        # every key those leads hold, so a key a lead already has is never mistaken for one a row added
        for kind, value, lead_id in session.execute(select(LeadIdentity.kind, LeadIdentity.value, LeadIdentity.lead_id)
                                                    .where(LeadIdentity.lead_id.in_(lead_ids))):
            self.by[(kind, value)] = leads[lead_id]
            self.in_db.add((kind, value))

    def add(self, lead: LeadRecord) -> list[list[str]]:
        """Index the lead under its keys that nobody holds yet; returns those keys (new identities to store)."""
        added = []
        for key in _keys(lead, lead.company_key):
            if key not in self.by:
                self.by[key] = lead
                added.append(list(key))
        return added

    def find(self, row: _Valid) -> tuple[LeadRecord, str] | None:
        for key in _keys(row.data, row.company_key):
            lead = self.by.get(key)
            # the same name at the company of another city is another person (crm_core.services.leads)
            if lead is not None and not (key[0] == "name" and places_differ(row.data.company or "",
                                                                            lead.company or "")):
                return lead, key[0]
        return None

    def new_identities(self) -> list[dict[str, object]]:
        return [{"kind": k, "value": v, "lead_id": lead.id} for (k, v), lead in sorted(self.by.items())
                if (k, v) not in self.in_db and lead.id is not None]


@dataclass
class _Merged:
    """An automatic merge of a row into a lead (existing or new in this batch), recorded once ids are known."""

    lead: LeadRecord
    data: LeadInput
    matched_on: str
    change: MergeChange
    previous_source: str | None
    tags_added: list[str]
    identities_added: list[list[str]]


def _validate(keyed: list[tuple[int, dict[str, str]]], keys: list[str], done: set[str],
              result: ImportResult, config: Config | None = None) -> list[_Valid]:
    valid: list[_Valid] = []
    for (line, values), key in zip(keyed, keys):
        result.stats.read += 1
        if key in done:
            result.stats.already_imported += 1
            continue
        done.add(key)
        try:
            data = check_lead_input(_lead_input(values), config)  # picklists apply to imports too
            if not (data.email or data.phone or data.company):
                raise InvalidValue("row", values.get("name", ""), "import.contact")
        except DomainError as exc:
            result.stats.rejected += 1
            result.rejected.append(Rejected(line, exc, values))
            continue
        valid.append(_Valid(key, data, normalize_company(data.company) if data.company else None))
    return valid


def _import_batch(uow: UnitOfWork, mapping: dict[str, int], batch: list[tuple[int, list[str]]], now: datetime,
                  result: ImportResult, batch_number: int) -> None:
    session = uow.session
    keyed = [(line, _row_values(mapping, cells)) for line, cells in batch]
    keys = [row_key(values) for _, values in keyed]
    done = set(session.scalars(select(ImportedRow.key).where(ImportedRow.key.in_(set(keys)))))
    valid = _validate(keyed, keys, done, result, uow.config)
    index = _Index(session, valid)
    assigner = BatchAssigner(session, uow.config)
    received: Counter[int] = Counter()
    imported: list[tuple[str, LeadRecord, str]] = []
    created: list[_NewLead] = []
    merges: list[_Merged] = []
    for row in valid:
        found = index.find(row)
        if found is not None:
            existing, matched_on = found
            previous_source, previous_tags = existing.last_source, set(existing.tags or [])
            change = merge_duplicate(existing, row.data, now)
            merges.append(_Merged(existing, row.data, matched_on, change, previous_source,
                                  sorted(set(existing.tags) - previous_tags), index.add(existing)))
            result.stats.merged += 1
            imported.append((row.key, existing, "merged"))
            continue
        owner = assigner.assign({"region": row.data.region, "industry": row.data.industry,
                                 "product": row.data.product, "source": row.data.source})
        if owner is None:
            result.stats.rejected += 1
            result.rejected.append(Rejected(0, Conflict("import.no_rep"), {"name": row.data.name}))
            continue
        lead = _new_lead(uow, row, owner.id, now)
        created.append(lead)
        index.add(lead)
        received[owner.id] += 1
        result.stats.created += 1
        imported.append((row.key, lead, "created"))
    _insert(session, created, imported, now)
    _record_identities_and_merges(session, index, merges, now)
    for owner_id, count in received.items():
        uow.emit(Generic("leads.imported", {"owner_id": owner_id, "count": count, "batch": batch_number}))


def _insert(session: Session, created: list[_NewLead], imported: list[tuple[str, LeadRecord, str]],
            now: datetime) -> None:
    """New leads and the import ledger as Core executemany: no ORM object, no RETURNING per row.

    (INSERT … RETURNING with ids in parameter order runs row by row on SQLite and splices the results
    quadratically; a plain executemany and one query to read the ids back is far cheaper.) Every created
    lead has identity keys (e-mail, phone, name at company) that no other lead of the batch shares — the
    dedupe index guarantees it — so those keys find each new id among the rows this batch inserted.
    """
    if created:
        floor_id = session.scalar(select(func.max(Lead.id))) or 0
        # Core on the connection: every row binds every column (the ORM's bulk insert leaves out None
        # values, so rows with different empty fields split into one INSERT per column set).
        session.connection().execute(insert(Lead.__table__), [lead.row() for lead in created])
        fresh = session.execute(select(Lead.id, Lead.name, Lead.email, Lead.phone, Lead.company_key)
                                .where(Lead.id > floor_id, Lead.created_at == now, Lead.created_by_id.is_(None)))
        ids: dict[tuple[str, str], int] = {}
        for lead_id, name, email, phone, company_key in fresh:
            for key in identity_keys(name=name, company_key=company_key, email=email, phone=phone):
                ids.setdefault(key, lead_id)
        for lead in created:
            lead.id = next(ids[key] for key in lead.keys_at_creation if key in ids)
        # Core inserts bypass the ORM's flush listener: the new leads' search keys in the same transaction.
        index_rows(session, "lead", [(lead.id, lead.owner_id, (lead.name, lead.company)) for lead in created
                                     if lead.id is not None])
    session.flush()  # merged existing leads
    if imported:
        session.connection().execute(insert(ImportedRow.__table__), [{"key": key, "lead_id": lead.id, "outcome": outcome, "at": now}
                                              for key, lead, outcome in imported])


def _new_lead(uow: UnitOfWork, row: _Valid, owner_id: int, now: datetime) -> _NewLead:
    data = row.data
    return _NewLead(
        name=data.name, company=data.company, company_key=row.company_key, email=data.email, phone=data.phone,
        source=data.source, last_source=data.source, region=data.region, industry=data.industry,
        product=data.product, tags=list(data.tags),
        score=score_lead(uow.config.scoring, source=data.source, industry=data.industry, region=data.region,
                         product=data.product, has_email=bool(data.email), has_phone=bool(data.phone),
                         has_company=bool(data.company)),
        owner_id=owner_id, assigned_at=now, created_at=now, updated_at=now,
        keys_at_creation=_keys(data, row.company_key),
    )


def _record_identities_and_merges(session: Session, index: _Index, merges: list[_Merged], now: datetime) -> None:
    """The batch's new identity keys (ON CONFLICT DO NOTHING: a lead stored meanwhile by chat keeps its key) and
    one merge record per row that updated a lead, so each can be split back into a lead of its own."""
    rows = index.new_identities()
    if rows:
        session.connection().execute(insert_ignoring_conflicts(session), rows)
    if merges:
        session.connection().execute(insert(LeadMerge.__table__), [
            {"kind": "auto", "kept_lead_id": m.lead.id, "merged_lead_id": None, "actor_id": None,
             "matched_on": m.matched_on, "snapshot": input_snapshot(m.data),
             "moved": {"filled": m.change.filled, "identities_added": m.identities_added,
                       "tags_added": m.tags_added, "last_source": m.previous_source, "duplicate_hits": 1},
             "differences": m.change.differences, "at": now, "split_at": None, "split_by_id": None,
             "split_lead_id": None} for m in merges])
