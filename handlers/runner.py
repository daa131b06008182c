"""Runs one invocation in exactly one transaction and turns every outcome into a Reply.

- A DomainError (a user mistake, a refusal, a stale click) rolls back and becomes an error card in
  the actor's language. A request with an inbox row that was refused before it wrote anything commits that
  row, finished with the refusal, in the same transaction instead (nothing else was written to roll back).
- Any other exception rolls back, is logged with a short reference id, and the user sees the id.
- Events recorded by services become outbox rows before the commit (the unit of work's before-commit step).
- The actor and its language are read once, inside the transaction; the reply carries the language.
- An invocation carrying an idempotency key that was already handled returns the stored reply and
  changes nothing (platform retries, double clicks).
- Reads are reads: a use case registered `writes=False` runs in a read-only (deferred, on SQLite)
  transaction and stores nothing — not even its reply. What the durable inbox needs of a request (Outcome,
  `settle`): a change stores its reply in the change's own transaction, since doing it again would do it
  twice; a read, or an outcome that changed nothing, can simply be worked out again after a crash.
- How long it took, from parsing to the committed reply, goes to `LATENCY` (docs/operations.md "Metrics"): a
  prometheus-client Histogram in this process's memory, exported by this process's /metrics — unlike the
  other metrics, which are read from the database.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
import time
from typing import Any, Union

from prometheus_client import Histogram
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cards.builders.common import t as common_t
from cards.builders.common import error_card, internal_error_card
from cards.model import Reply
from crm_core import inbox
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.db import changes_so_far, read_only
from cards.errors import error_text
from crm_core.errors import DomainError
from crm_core.models import ProcessedInvocation, User
from crm_core.services.users import locale_of
from crm_core.uow import UnitOfWork, UnitOfWorkFactory
from handlers import registry
from handlers.grammar import Parsed, UsageError, parse
from handlers.invocation import Invocation
from handlers.request_id import current as current_request_id
from handlers.request_id import error_ref
from handlers.usage import usage_reply

log = logging.getLogger("chatcrm.runner")

LATENCY = Histogram(
    "chatcrm_invocation_seconds", "Time the runner took to answer a command or a click, in this process.",
    labelnames=("kind", "platform"),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
    registry=None,  # bot.ops registers it with each app's registry
)

# An adapter's look-up of the acting user (its chat identity → our user id), run inside the request's own
# transaction instead of a session of its own; None: nobody yet (a first contact: `UnknownActor`).
ActorLookup = Callable[[Session], Union[int, None]]


def problem_field(exc: DomainError) -> str | None:
    """The field a refusal is about (InvalidValue and kin carry it as `field`), else None."""
    named = exc.data.get("field")
    return None if named is None else str(getattr(named, "key", named))


class UnknownActor(LookupError):
    """The actor look-up found nobody, and nothing was done: the adapter creates (or binds) the user — a first
    contact — and asks again with its id."""


class Runner:
    """Runs invocations; its units of work come from the process's one transaction owner (bot/wiring.py)."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory

    @property
    def session_factory(self) -> sessionmaker[Session]:
        return self.uow_factory.session_factory

    @property
    def config(self) -> Config:
        return self.uow_factory.config

    @property
    def clock(self) -> Clock:
        return self.uow_factory.clock

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return self.uow_factory(read_only=read_only)

    def locale_for(self, actor_id: int) -> str:
        """The actor's language outside any request (an adapter's own error message); a request reads it once,
        with the actor, inside its transaction (Reply.locale)."""
        with read_only(self.session_factory)() as session:
            return locale_of(session.get(User, actor_id), self.config)

    def _actor_and_locale(self, actor: "int | ActorLookup") -> tuple[int, str]:
        """For an outcome decided before any unit of work (a usage error, an unknown command): who, and in
        which language, in one read-only session."""
        with read_only(self.session_factory)() as session:
            actor_id = actor if isinstance(actor, int) else actor(session)
            if actor_id is None:
                raise UnknownActor()
            return actor_id, locale_of(session.get(User, actor_id), self.config)

    def run_text(self, actor_id: int, text: str, *, platform: str = "console", conversation: str | None = None,
                 idempotency_key: str | None = None) -> Reply:
        return self.answer_text(actor_id, text, platform=platform, conversation=conversation,
                                idempotency_key=idempotency_key).reply

    def answer_text(self, actor: "int | ActorLookup", text: str, *, platform: str = "console",
                    conversation: str | None = None, idempotency_key: str | None = None,
                    inboxed: bool = False, parsed: "Parsed | UsageError | None" = None) -> "Outcome":
        """`actor`: our user id, or the adapter's look-up of it (run inside the request's transaction);
        `parsed`: the parse of `text` when the adapter has it already (`parse_read`)."""
        parsed = parse(text) if parsed is None else parsed
        if isinstance(parsed, UsageError):
            actor_id, locale = self._actor_and_locale(actor)
            return Outcome(replace(self.usage_reply(locale, parsed), locale=locale), saved=False, actor_id=actor_id)
        inv = Invocation(actor_id=0, kind="command", name=parsed.name,
                         args=parsed.args, options=parsed.options, spans=parsed.spans, platform=platform,
                         conversation=conversation, idempotency_key=idempotency_key, text=text, inboxed=inboxed)
        return self.answer_as(actor, inv)

    def parse_read(self, text: str) -> "Parsed | UsageError | None":
        """The parse of `text` when it can be answered without writing anything (a use case registered
        `writes=False`, a usage error or an unknown command), else None. An adapter may then answer it at once,
        with no inbox row (a read is simply done again should its answer not get through), handing the parse
        to `answer_text` so the text is read once."""
        parsed = parse(text)
        if isinstance(parsed, UsageError):
            return parsed
        reg = registry.COMMANDS.get(parsed.name)
        return parsed if reg is None or not reg.writes else None

    def usage_reply(self, locale: str, err: UsageError) -> Reply:
        return usage_reply(locale, err)

    def run(self, inv: Invocation) -> Reply:
        return self.answer(inv).reply

    def answer_as(self, actor: "int | ActorLookup", inv: Invocation) -> "Outcome":
        """`inv` run as `actor`: our user id, or the adapter's look-up of it (run inside the request's transaction;
        UnknownActor when it finds nobody). `inv.actor_id` is not read."""
        if isinstance(actor, int):
            return self.answer(replace(inv, actor_id=actor))
        return self.answer(inv, actor=actor)

    def answer(self, inv: Invocation, *, actor: ActorLookup | None = None) -> "Outcome":
        """The reply, and what the request left behind (for the durable inbox: `settle`). With `actor`, the
        actor is looked up inside the request's transaction (`inv.actor_id` is then a placeholder); nobody
        found raises UnknownActor, having done nothing."""
        started = time.perf_counter()  # a duration for the latency histogram, not a wall-clock read
        observe = True
        try:
            return self._run(inv, actor)
        except UnknownActor:
            observe = False  # nothing was done: the adapter asks again, and that request is the one counted
            raise
        finally:
            if observe:
                LATENCY.labels(kind="click" if inv.kind == "action" else inv.kind,
                               platform=inv.platform).observe(time.perf_counter() - started)

    def settle(self, item: inbox.Item, outcome: "Outcome") -> inbox.Item:
        """The request's inbox row once its work is over, written only when a later pass needs it:
        - a change: its reply was stored with the change, in the use case's own transaction — nothing to write;
        - a read, on its first attempt: nothing written; should the process die before the reply is out, the
          recovery pass simply reads again (it changed nothing);
        - a refusal before anything was written: stored with the refusal, in the use case's transaction;
        - a read being redone (its first reply did not get through), or another outcome that saved nothing (a
          refusal after a write, a usage or internal error): stored now, so that the next pass only delivers
          it."""
        if outcome.row is not None:
            return outcome.row  # another process finished this request first: its row, as it stands
        reply, actor_id = outcome.reply.to_dict(), outcome.actor_id
        now = self.clock.now()
        if outcome.recorded or (outcome.saved and item.attempts <= 1):
            return inbox.settled(item, reply, saved=outcome.saved, actor_id=actor_id)
        done = inbox.finish(self.session_factory, item.key, reply, now, actor_id=actor_id, saved=outcome.saved)
        assert done is not None
        return done

    def _run(self, inv: Invocation, lookup: ActorLookup | None) -> "Outcome":
        table = registry.COMMANDS if inv.kind == "command" else registry.ACTIONS
        reg = table.get(inv.name)
        if reg is None:
            actor_id, locale = self._actor_and_locale(lookup or inv.actor_id)
            return Outcome(Reply(cards=(error_card(locale, _not_available(locale, inv.name)),), locale=locale),
                           saved=False, actor_id=actor_id)
        read = _ActorRead(None if lookup else inv.actor_id)
        # A use case that only reads runs in a read-only transaction (no write lock on SQLite, READ ONLY on
        # PostgreSQL) unless it must leave a record of itself in processed_invocations (an idempotency key
        # without an inbox row: a modal submission). An inbox row needs nothing of a read (see `settle`).
        keeps_record = bool(inv.idempotency_key) and not inv.inboxed
        transaction = ExitStack()
        # Outside the try: a transaction that cannot even begin (SQLite's lock held past the busy timeout, the
        # database gone) is reported by the adapter, as before any work — nothing was saved.
        uow = transaction.enter_context(self.uow(read_only=not reg.writes and not keeps_record))
        uow.hold_loaded()  # one request's rows stay in its session: the notifiers find them without a query
        try:
            with transaction:
                return self._run_in_transaction(uow, inv, reg, read, lookup)
        except UnknownActor:
            raise
        except _FinishedElsewhere as done:
            return Outcome(Reply.from_dict(done.row.reply or {}), saved=bool(done.row.saved), recorded=True,
                           row=done.row, actor_id=read.actor_id)
        except DomainError as exc:
            return Outcome(_refusal(exc, read.locale_or(self)), saved=False, actor_id=read.actor_id)
        except IntegrityError as exc:
            if keeps_record and inv.idempotency_key and _already_processed(self.session_factory,
                                                                            inv.idempotency_key):
                # Two deliveries of the same request raced; the other one won. Answer with its reply.
                return Outcome(self._stored_reply(inv.idempotency_key) or Reply(), saved=True,
                               actor_id=read.actor_id)
            return Outcome(self._internal_error(inv, read.locale_or(self), exc), saved=False, actor_id=read.actor_id)
        except Exception as exc:  # noqa: BLE001 - the runner is the one place that turns crashes into ids
            return Outcome(self._internal_error(inv, read.locale_or(self), exc), saved=False, actor_id=read.actor_id)

    def _run_in_transaction(self, uow: UnitOfWork, inv: Invocation, reg: registry.Registered,
                            read: "_ActorRead", lookup: ActorLookup | None) -> "Outcome":
        """The work inside the request's one unit of work (committed by the caller's `with`)."""
        if lookup is not None:
            found = lookup(uow.session)
            if found is None:
                raise UnknownActor()
            inv = replace(inv, actor_id=found)
        read.actor_id = inv.actor_id
        keeps_record = bool(inv.idempotency_key) and not inv.inboxed
        if keeps_record:
            done = uow.session.get(ProcessedInvocation, inv.idempotency_key)
            if done is not None:
                return Outcome(Reply.from_dict(done.reply), saved=True, actor_id=inv.actor_id)
        # The one read of the actor, and of its language, for the whole request.
        actor = uow.session.get(User, inv.actor_id)
        if actor is None:
            raise RuntimeError(f"unknown actor {inv.actor_id}")
        read.actor = actor  # held until the commit: the event flush then finds it in the identity map
        locale = read.locale = locale_of(actor, self.config)
        deps: dict[str, Any] = {"inv": inv, "uow": uow, "clock": self.clock, "actor": actor, "locale": locale,
                                "config": self.config}
        before = changes_so_far(uow.session) if inv.inboxed and inv.idempotency_key and not uow.read_only else None
        try:
            reply = registry.call(reg, deps)
        except DomainError as exc:
            if before is None or not _wrote_nothing(uow, before):
                raise  # rolled back; its inbox row is finished on its own (`settle`)
            # Refused before it wrote anything: its inbox row is finished in this same transaction, which
            # then commits only that — one write transaction for the request where there were two.
            refusal = _refusal(exc, locale)
            self._finish_row(uow, inv, refusal, saved=False)
            return Outcome(refusal, saved=False, recorded=True, actor_id=inv.actor_id)
        if reply.locale is None:
            reply = replace(reply, locale=locale)
        if uow.read_only or not inv.idempotency_key:
            return Outcome(reply, saved=True, actor_id=inv.actor_id)
        if keeps_record:
            uow.session.add(ProcessedInvocation(key=inv.idempotency_key[:200], reply=reply.to_dict(),
                                                at=self.clock.now()))
            # Its inbox row, should a caller hold one without saying so (`inboxed`), is finished with it.
            inbox.mark_done(uow.session, inv.idempotency_key, reply.to_dict(), self.clock.now(),
                            actor_id=inv.actor_id)
            return Outcome(reply, saved=True, actor_id=inv.actor_id)
        self._finish_row(uow, inv, reply, saved=True)
        return Outcome(reply, saved=True, recorded=True, actor_id=inv.actor_id)

    def _finish_row(self, uow: UnitOfWork, inv: Invocation, reply: Reply, *, saved: bool) -> None:
        """The request's inbox row is finished in the use case's own transaction: a crash leaves either
        "pending, nothing done" or "done, reply stored" (crm_core.inbox). The row's status is the idempotency
        record: should another process have finished it meanwhile (its lease ran out), this transaction rolls
        back."""
        key = inv.idempotency_key or ""
        if not inbox.mark_done(uow.session, key, reply.to_dict(), self.clock.now(), actor_id=inv.actor_id,
                               saved=saved):
            row = inbox.get(self.session_factory, key)
            if row is not None:
                raise _FinishedElsewhere(row)
            raise RuntimeError(f"no inbox row {key!r} for an inboxed invocation")

    def _stored_reply(self, key: str) -> Reply | None:
        with self.session_factory() as session:
            row = session.get(ProcessedInvocation, key)
            return Reply.from_dict(row.reply) if row else None

    def _internal_error(self, inv: Invocation, locale: str, exc: Exception) -> Reply:
        ref = error_ref(4)  # the HTTP request's id when serving one (docs/operations.md "Logs")
        log.error("internal error ref=%s request_id=%s invocation=%s %s args=%s", ref, current_request_id(),
                  inv.kind, inv.name, inv.args, exc_info=exc)
        return Reply(cards=(internal_error_card(locale, ref),))


@dataclass(frozen=True)
class Outcome:
    """What one request left behind. `saved`: the use case ran to its end and its transaction committed (a
    read too; the inbox's `saved` column has always meant that); `recorded`: its inbox row was marked done,
    with this reply, in that transaction; `row`: another process had finished the request first (its row)."""

    reply: Reply
    saved: bool
    recorded: bool = False
    row: inbox.Item | None = None
    actor_id: int | None = None  # who acted (found by the runner when the adapter handed it a look-up)


class _FinishedElsewhere(Exception):
    def __init__(self, row: inbox.Item) -> None:
        super().__init__(row.key)
        self.row = row


class _ActorRead:
    """What the request's transaction read of its actor: kept until the commit, and its language for the
    error paths after a rollback."""

    def __init__(self, actor_id: int | None) -> None:
        self.actor_id = actor_id
        self.actor: User | None = None
        self.locale: str | None = None

    def locale_or(self, runner: Runner) -> str:
        if self.locale is not None:
            return self.locale
        return runner.locale_for(self.actor_id) if self.actor_id is not None else runner.config.company.locale


def _refusal(exc: DomainError, locale: str) -> Reply:
    return Reply(cards=(error_card(locale, error_text(exc, locale)),), locale=locale, field=problem_field(exc))


def _wrote_nothing(uow: UnitOfWork, before: int) -> bool:
    """Whether the unit of work has changed nothing since `changes_so_far` said `before`: no statement that may
    have written, nothing waiting to be flushed, no event recorded. Committing it then commits nothing of the
    use case's."""
    s = uow.session
    return not uow.events and not (s.new or s.dirty or s.deleted) and changes_so_far(s) == before


def _already_processed(factory: sessionmaker[Session], key: str) -> bool:
    with factory() as session:
        return session.get(ProcessedInvocation, key) is not None


def _not_available(locale: str, name: str) -> str:
    return common_t(locale, "not_available", name=name)


__all__ = ["ActorLookup", "Outcome", "Parsed", "Runner", "UnknownActor"]
