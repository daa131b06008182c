"""The transactional inbox (crm_core.models.inbox.InboxItem): record, claim, finish, mark the reply sent.

The life of a row:

    record()         pending   written and committed BEFORE the platform is acknowledged
    claim_key()      pending   the process that acknowledged takes it (attempts 0 → 1); a recovery pass
                               that already took it (lease expired) wins instead, never both
    mark_done()      done      in the runner's own transaction: the change and "done + reply" commit together
    finish()         done      outcomes that committed nothing (usage error, refusal, crash): saved = False
    settled()        (pending) a read's first attempt writes nothing: it is redone if its process dies
                               (handlers.runner.Runner.settle decides which of the three applies)
    mark_replied()   replied   the reply reached the person (or was handed to the outbox)

`claim_due()` is the recovery pass: rows still pending or done-but-not-replied whose lease ran out (their
process died, or is stuck), oldest first; on PostgreSQL with FOR UPDATE SKIP LOCKED so several processes
share them, on SQLite inside one IMMEDIATE transaction.
"""
from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, delete, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db import WRITE_INTENT
from crm_core.models import InboxItem

LEASE = timedelta(seconds=60)  # how long a process owns a row before a recovery pass may take it over
MAX_ATTEMPTS = 5  # work that crashed this often is given up (answered with an error card, nothing saved)
KEEP = timedelta(days=7)  # replied rows are forgotten after this (platform retries come within minutes)
OPEN = ("pending", "done")


@dataclass(frozen=True)
class Item:
    """A detached snapshot of a row, safe to hand to another thread."""

    id: int
    key: str
    platform: str
    kind: str
    external_user: str
    team: str | None
    payload: dict[str, Any]
    reply_to: dict[str, Any]
    status: str
    saved: bool | None
    actor_id: int | None
    reply: dict[str, Any] | None
    attempts: int
    received_at: datetime
    reply_sent_at: datetime | None

    @classmethod
    def of(cls, row: "InboxItem | Row[Any]") -> "Item":
        """From the mapped row, or a plain row of the table's columns (an UPDATE … RETURNING)."""
        return cls(id=row.id, key=row.key, platform=row.platform, kind=row.kind, external_user=row.external_user,
                   team=row.team, payload=dict(row.payload or {}), reply_to=dict(row.reply_to or {}),
                   status=row.status, saved=row.saved, actor_id=row.actor_id,
                   reply=dict(row.reply) if row.reply is not None else None, attempts=row.attempts,
                   received_at=row.received_at, reply_sent_at=row.reply_sent_at)


def new_row(*, key: str, platform: str, kind: str, external_user: str, team: str | None, payload: dict[str, Any],
            reply_to: dict[str, Any], now: datetime, lease: timedelta = LEASE, taken: bool = False,
            due: bool = False) -> InboxItem:
    """`taken`: the recording process owns it from the start (attempts 1, as if `claim_key(first=True)` had
    run: one transaction fewer). `due`: any recovery pass may take it at once (nobody here will work on it
    soon: the work queue was full)."""
    return InboxItem(key=key[:200], platform=platform, kind=kind, external_user=external_user[:64],
                     team=(team or None) and team[:64], payload=payload, reply_to=reply_to, status="pending",
                     attempts=1 if taken else 0, received_at=now, lease_until=now if due else now + lease,
                     saved=None, error_ref=None, actor_id=None, reply=None, last_error=None, done_at=None,
                     reply_sent_at=None)


def record(factory: sessionmaker[Session], row: InboxItem) -> bool:
    """Commit a new row. False when a row with its key exists (a platform retry: nothing is written)."""
    try:
        with factory.begin() as session:
            session.add(row)
    except IntegrityError:
        return False
    return True


# Written before every ack and finished after every change: plain statements built once (an ORM flush of the
# row, and building the UPDATE per call, cost more than the database's own work on this path).
_TABLE = InboxItem.__table__
_COLUMNS = [c.key for c in _TABLE.columns if c.key != "id"]
_INSERT_ROW = insert(_TABLE).returning(_TABLE.c.id)
_MARK_DONE = (update(_TABLE).where(_TABLE.c.key == bindparam("k"), _TABLE.c.status == "pending")
              .values(status="done", saved=bindparam("saved"), reply=bindparam("reply"), actor_id=bindparam("actor"),
                      done_at=bindparam("now")))
_MARK_DONE_REPLIED = _MARK_DONE.values(status="replied", reply_sent_at=bindparam("now"))
# An outcome that committed nothing: the same, unless a reply went out already, with its error id; the row back.
_FINISH = (_MARK_DONE.where(_TABLE.c.reply_sent_at.is_(None)).values(error_ref=bindparam("ref"))
           .returning(*_TABLE.c))
_FINISH_REPLIED = _FINISH.values(status="replied", reply_sent_at=bindparam("now"), last_error=None)


def record_item(factory: sessionmaker[Session], row: InboxItem) -> Item | None:
    """`record`, returning the committed row as an Item (no second read); None for a platform retry."""
    try:
        with factory.begin() as session:
            row.id = session.execute(_INSERT_ROW, {c: getattr(row, c) for c in _COLUMNS}).scalar_one()
    except IntegrityError:
        return None
    return Item.of(row)


def get(factory: sessionmaker[Session], key: str) -> Item | None:
    with factory() as session:
        row = session.scalar(select(InboxItem).where(InboxItem.key == key[:200]))
        return Item.of(row) if row is not None else None


def claim_key(factory: sessionmaker[Session], key: str, now: datetime, *, lease: timedelta = LEASE,
              first: bool = False) -> Item | None:
    """Take one open row for this process: `first` (the process that acknowledged it) only while nobody took
    it yet; otherwise only when its lease ran out. None when it is not ours to work on."""
    cond = [InboxItem.key == key[:200], InboxItem.status.in_(OPEN)]
    cond.append(InboxItem.attempts == 0 if first else InboxItem.lease_until <= now)
    with factory.begin() as session:
        session.connection(execution_options={WRITE_INTENT: True})
        # One statement: the claim returns the row it took (UPDATE … RETURNING, SQLite ≥ 3.35 and PostgreSQL).
        row = session.execute(update(InboxItem).where(*cond).values(
            attempts=InboxItem.attempts + 1, lease_until=now + lease).returning(InboxItem)).scalar_one_or_none()
        return Item.of(row) if row is not None else None


def claim_due(factory: sessionmaker[Session], now: datetime, *, kinds: tuple[str, ...], lease: timedelta = LEASE,
              limit: int = 20) -> list[Item]:
    """The recovery pass: up to `limit` open rows of `kinds` (what this process can answer) whose lease ran
    out, now leased to this process."""
    with factory.begin() as session:
        session.connection(execution_options={WRITE_INTENT: True})
        ids = list(session.scalars(
            select(InboxItem.id).where(InboxItem.status.in_(OPEN), InboxItem.lease_until <= now,
                                       InboxItem.kind.in_(kinds))
            .order_by(InboxItem.id).limit(limit).with_for_update(skip_locked=True)))
        if not ids:
            return []
        session.execute(update(InboxItem).where(InboxItem.id.in_(ids)).values(
            attempts=InboxItem.attempts + 1, lease_until=now + lease))
        rows = session.scalars(select(InboxItem).where(InboxItem.id.in_(ids)).order_by(InboxItem.id))
        return [Item.of(r) for r in rows]


@dataclass
class InlineReply:
    """Set (in `INLINE`) by an adapter around work whose reply may leave in the request's own HTTP response.
    `mark_done` asks `offer()` inside the work's transaction; when the request still waits, the row is marked
    done AND replied in that same transaction (no third commit), and `committed` turns True only once that
    transaction has committed — the adapter hands the reply over then, and never sends it anywhere else."""

    offer: Callable[[], bool]
    claimed: bool = False  # offer() said yes: the waiting request expects this reply
    committed: bool = False  # ... and the transaction that marked the row replied has committed


INLINE: ContextVar[InlineReply | None] = ContextVar("chatcrm_inbox_inline", default=None)


def mark_done(session: Session, key: str, reply: dict[str, Any], now: datetime, *, actor_id: int | None,
              saved: bool = True) -> int:
    """In the work's own transaction: the change is saved and this is its reply (`saved=False`: the work was
    refused before it wrote anything, and this is the refusal). 0 when no inbox row (the console, a test
    calling the runner directly) or the row was finished already. With an `InlineReply` in `INLINE` whose
    request still waits, the row is marked replied too (see there)."""
    inline = INLINE.get()
    replied = False
    if inline is not None and not inline.claimed and not reply.get("form") and inline.offer():
        inline.claimed = replied = True
    done = int(session.execute(_MARK_DONE_REPLIED if replied else _MARK_DONE, {
        "k": key[:200], "reply": reply, "actor": actor_id, "now": now, "saved": saved}).rowcount or 0)
    if done and replied:
        event.listen(session, "after_commit", lambda _s: setattr(inline, "committed", True), once=True)
    return done


def finish(factory: sessionmaker[Session], key: str, reply: dict[str, Any], now: datetime, *,
           actor_id: int | None, error_ref: str | None = None, saved: bool = False,
           replied: bool = False) -> Item | None:
    """An outcome that committed no change (usage error, refusal, internal error; `saved`: a read being done
    again) — unless the work's own transaction already marked the row done. `replied`: the reply leaves in the
    HTTP response the moment this commits, so the row is marked replied in the same transaction (never sent
    again). Returns the row as it stands."""
    with factory.begin() as session:
        session.connection(execution_options={WRITE_INTENT: True})
        # The usual case, a pending row never replied to, is one statement that returns the row it finished.
        found = session.execute(_FINISH_REPLIED if replied else _FINISH, {
            "k": key[:200], "saved": saved, "reply": reply, "actor": actor_id, "ref": error_ref, "now": now}).first()
        if found is not None:
            return Item.of(found)
        # done already (by the work's own transaction, or another process): as it stands
        if replied:
            mark_replied(session, key, now)
        row = session.scalar(select(InboxItem).where(InboxItem.key == key[:200]))
        return Item.of(row) if row is not None else None


def settled(item: Item, reply: dict[str, Any], *, saved: bool, actor_id: int | None) -> Item:
    """The claimed row as it stands once its work is over, without reading it back: done, with this reply —
    stored by the work's own transaction (a change), or by nobody (a read: redone after a crash)."""
    return replace(item, status="done", saved=saved, reply=reply, actor_id=actor_id)


def mark_replied(session: Session, key: str, now: datetime) -> bool:
    """The reply reached the person (or the outbox, in this same transaction). False when it had already."""
    return bool(session.execute(update(InboxItem).where(
        InboxItem.key == key[:200], InboxItem.reply_sent_at.is_(None)).values(
        status="replied", reply_sent_at=now, last_error=None)).rowcount)


def note_error(factory: sessionmaker[Session], key: str, error: str) -> None:
    with factory.begin() as session:
        session.execute(update(InboxItem).where(InboxItem.key == key[:200]).values(last_error=error[:2000]))


def prune(factory: sessionmaker[Session], now: datetime, keep: timedelta = KEEP) -> int:
    with factory.begin() as session:
        return int(session.execute(delete(InboxItem).where(
            InboxItem.status == "replied", InboxItem.received_at < now - keep)).rowcount or 0)


__all__ = ["INLINE", "InlineReply", "Item", "KEEP", "LEASE", "MAX_ATTEMPTS", "claim_due", "claim_key", "finish", "get",
           "mark_done", "mark_replied", "new_row", "note_error", "prune", "record", "record_item", "settled"]
