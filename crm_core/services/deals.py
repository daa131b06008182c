"""Deals: the pipeline blueprint (required fields per stage, tasks on entry), won / lost, history."""
from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select

from crm_core.config import Config, PicklistChoice, Pipeline, Stage
from crm_core.fields import (COMPANY_MAX, FIELD_MAX, NAME_MAX, check_custom, check_date, check_text, find_decl,
                             unknown_field)
from crm_core.errors import (Conflict, DomainError, FieldName, InvalidValue, MissingFields, Problems, StaleAction,
                             Term)
from crm_core.events import DealClosed, DealStageChanged, SwarmRequested
from crm_core.models import Contact, Deal, Quote, StageChange, Task, User
from crm_core.queries.lists import DEAL_LINE, MAX_OFFSET, DealLine, read_lines
from crm_core.services import audit
from crm_core.services.accounts import contact_named, find_or_create_account
from crm_core.services.approvals import do_withdraw_for_closed_deal
from crm_core.services.money import parse_money
from crm_core.services.permissions import visible_owner_ids
from crm_core.company_time import local_date
from crm_core.uow import UnitOfWork

CORE_FIELDS = ("name", "amount", "close_date", "account", "contact")
FIELD_ALIASES = {"close": "close_date"}
_FIELD_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def do_create_deal(uow: UnitOfWork, actor: User, *, account_name: str, amount: Decimal | None,
                   name: str | None, close_date: date | None, now: datetime, owner: User | None = None,
                   contact: Contact | None = None, contact_name: str | None = None,
                   lead_id: int | None = None) -> Deal:
    """A new deal on the account `account_name` names (made on first mention), in the first stage. Its contact is
    `contact`, or the account's person `contact_name` names (added when the account has nobody called so)."""
    if not account_name.strip():
        raise InvalidValue("account", "", "deal.account")
    check_close_date(uow, close_date, now)
    owner = owner or actor
    name = check_text("name", name, COMPANY_MAX)
    contact_name = check_text("contact", contact_name, NAME_MAX)
    account = find_or_create_account(uow, account_name, owner=owner, now=now)
    if contact_name is not None:
        contact = _contact_for(uow, account.id, owner.id, contact_name, now)
    first = uow.config.pipeline.stages[0]
    deal = Deal(name=(name or account.name).strip()[:300], account_id=account.id, owner_id=owner.id,
                stage=first.key, status="open", amount=amount, currency=uow.config.company.currency,
                close_date=close_date, fields={}, stage_entered_at=now, created_at=now, updated_at=now,
                contact_id=contact.id if contact else None, lead_id=lead_id)
    uow.session.add(deal)
    uow.session.flush()
    uow.session.add(StageChange(deal_id=deal.id, from_stage=None, to_stage=first.key, actor_id=actor.id, at=now))
    _create_stage_tasks(uow, deal, first, now)
    audit.record(uow.session, actor_id=actor.id, action="deal.create", record_type="deal", record_id=deal.id,
                 now=now, amount=str(amount) if amount is not None else None)
    uow.emit(DealStageChanged(deal_id=deal.id, from_stage=None, to_stage=first.key, actor_id=actor.id))
    return deal


def normalise_field_name(name: str) -> str:
    key = name.strip().lower()
    key = FIELD_ALIASES.get(key, key)
    if not key or not set(key) <= _FIELD_NAME_OK or len(key) > 40:
        raise InvalidValue("field", name, "deal.field_name")
    return key


def parse_date(raw: str, field: str = "close_date", *, today: date | None = None) -> date:
    """A date field. With `today` (the company's calendar day), every form people write is read
    (`2027/3/31`, `next friday` and the Chinese forms: crm_core/dates.py); without it, ISO only."""
    if today is not None:
        return check_date(field, raw, today)
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidValue(field, raw, "date.format") from None


def deal_field_key(config: Config, raw_key: str) -> str:
    """The canonical name of a field `deal set` may fill, or UnknownField with the nearest names.

    Known: the deal's own fields, `owner` (the handler transfers it), every name a stage's `required`
    list uses (free-text custom fields, INTERFACE.md) and the declared [[fields.deal]] (key, labels, aliases).
    """
    key = FIELD_ALIASES.get(raw_key.strip().lower(), raw_key.strip().lower())
    required = {FIELD_ALIASES.get(f, f) for stage in config.pipeline.stages for f in stage.required}
    if key in CORE_FIELDS or key == "owner" or key in required:
        return key
    decl = find_decl(config, "deal", raw_key)
    if decl is not None:
        return decl.key
    # `close` is accepted for close_date but not listed beside it (the list names each field once)
    known = [*CORE_FIELDS, "owner", *sorted(required - set(CORE_FIELDS)), *(d.key for d in config.fields.deal)]
    raise unknown_field(raw_key, known, decls=config.fields.deal, record="deal")


def check_close_date(uow: UnitOfWork, close_date: date | None, now: datetime, *, ref: str = "D-1") -> None:
    """An open deal's expected close date is today or later (today in the company's timezone)."""
    if close_date is None:
        return
    today = local_date(uow.config, now)
    if close_date < today:
        raise InvalidValue("close_date", close_date.isoformat(), "deal.close_passed", today=today.isoformat(),
                           ref=ref, suggested=(today + timedelta(days=30)).isoformat())


def latest_approved_quote(uow: UnitOfWork, deal: Deal) -> Quote | None:
    """The deal's newest approved (or ordered) quote version, if any."""
    return uow.session.scalar(select(Quote).where(Quote.deal_id == deal.id, Quote.status == "approved")
                              .order_by(Quote.version.desc()).limit(1))


def amount_from_quote(uow: UnitOfWork, deal: Deal) -> str:
    """`deal set D-1 amount=quote`: the latest approved quote's total, as the text do_set_fields parses."""
    quote = latest_approved_quote(uow, deal)
    if quote is None:
        raise Conflict("deal.no_approved_quote", ref=deal.ref)
    return str(quote.total)


def is_backwards(uow: UnitOfWork, deal: Deal, target: Stage) -> bool:
    pipeline = uow.config.pipeline
    return deal.status == "open" and pipeline.index(target.key) < pipeline.index(deal.stage)


def do_set_fields(uow: UnitOfWork, actor: User, deal: Deal, values: dict[str, str], *, now: datetime) -> list[str]:
    """Fill deal fields; returns the names changed. Everything is validated before anything changes.

    `owner` is let through by the validation but not stored here: the deal handler transfers ownership.
    """
    if not values:
        raise InvalidValue("fields", "", "deal.set_what", ref=deal.ref)
    parsed: dict[str, Any] = {}
    problems = Problems()  # every field is checked, and every problem told at once
    for raw_key, raw_value in values.items():
        key = problems.check(deal_field_key, uow.config, raw_key)
        if key is None or key == "owner":
            continue
        try:
            parsed[key] = _field_value(uow.config, key, raw_value, now)
        except DomainError as exc:
            problems.add(exc)
    if "close_date" in parsed:
        problems.check(check_close_date, uow, parsed["close_date"], now, ref=deal.ref)
    problems.raise_any()
    if deal.status != "open":
        raise Conflict("deal.closed_no_change", ref=deal.ref, status=Term("status", deal.status))
    custom = dict(deal.fields or {})
    for key, value in sorted(parsed.items(), key=lambda kv: kv[0] == "contact"):  # a contact of the new account
        if key == "amount":
            deal.amount = value
        elif key == "close_date":
            deal.close_date = value
        elif key == "name":
            deal.name = value
        elif key == "account":
            # the relationships, not their ids: the card answered from this session shows the new ones
            deal.account = find_or_create_account(uow, value, owner=deal.owner, now=now)
        elif key == "contact":
            deal.contact = None if value is None else _contact_for(uow, deal.account.id, deal.owner_id, value, now)
        elif value == "":
            custom.pop(key, None)
        else:
            custom[key] = value
    deal.fields = custom
    deal.updated_at = now
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="deal.set", record_type="deal", record_id=deal.id,
                 now=now, fields={k: "" if v is None else str(v) for k, v in parsed.items()})
    return list(parsed)


def _field_value(config: Config, key: str, raw: str, now: datetime) -> Any:
    """What `deal set` stores for `key=raw`: checked and parsed (None or "" takes an optional value off)."""
    decl = find_decl(config, "deal", key)
    if key == "amount":
        return parse_money(check_text(key, raw, 50, required=True) or "")
    if key == "close_date":  # `close=` takes the date off, like `contact=` the contact
        return parse_date(check_text(key, raw, 50) or "", today=local_date(config, now)) if raw.strip() else None
    if key in ("name", "account"):
        return check_text(key, raw, COMPANY_MAX, required=True)
    if key == "contact":
        return check_text(key, raw, NAME_MAX) or None
    if decl is not None and key not in CORE_FIELDS:
        return check_custom(config, decl, raw, local_date(config, now)) if raw.strip() else ""
    return check_text(key, raw, FIELD_MAX) or ""


def _contact_for(uow: UnitOfWork, account_id: int, owner_id: int, name: str, now: datetime) -> Contact:
    """The account's person called `name` (in any case), or a new contact owned by the deal's owner."""
    contact = contact_named(uow.session, account_id, name)
    if contact is None:
        contact = Contact(account_id=account_id, name=name, owner_id=owner_id, created_at=now)
        uow.session.add(contact)
        uow.session.flush()
    return contact


def field_is_set(deal: Deal, name: str) -> bool:
    name = FIELD_ALIASES.get(name, name)
    if name == "amount":
        return deal.amount is not None and deal.amount > 0
    if name == "close_date":
        return deal.close_date is not None
    if name == "name":
        return bool(deal.name)
    if name == "account":
        return deal.account_id is not None
    if name == "contact":
        return deal.contact_id is not None
    value = (deal.fields or {}).get(name)
    return value is not None and str(value).strip() != ""


def missing_fields(uow: UnitOfWork, deal: Deal, target: Stage) -> list[str]:
    """Required fields of the target stage and of every open stage skipped on the way to it."""
    stages = uow.config.pipeline.stages
    current_i = uow.config.pipeline.index(deal.stage)
    target_i = uow.config.pipeline.index(target.key)
    needed: list[str] = []
    if target_i > current_i and target_i < len(stages) - 2:
        span = stages[current_i + 1: target_i + 1]
    else:
        span = [target]
    for stage in span:
        for f in stage.required:
            f = FIELD_ALIASES.get(f, f)
            if f not in needed and not field_is_set(deal, f):
                needed.append(f)
    return needed


def resolve_stage(uow: UnitOfWork, deal: Deal, name: str | None) -> Stage:
    pipeline = uow.config.pipeline
    if name is None:
        i = pipeline.index(deal.stage)
        if i + 1 >= len(pipeline.open_stages):
            raise Conflict("deal.last_stage", ref=deal.ref)
        return pipeline.stages[i + 1]
    return stage_named(pipeline, name, offered=pipeline.open_stages)


def stage_named(pipeline: Pipeline, name: str, *, offered: Sequence[Stage]) -> Stage:
    """A stage by key or by its English or Chinese name, or by the start of one stage's name only (neg →
    negotiation, either language); else InvalidValue listing `offered`, with the nearest names when there are.
    `advance` and the list filters (deal list stage=…) read stages the same way."""
    wanted = unicodedata.normalize("NFKC", name).strip().lower()
    spellings = [(stage, {stage.key, stage.name.en.lower(), unicodedata.normalize("NFKC", stage.name.zh_CN).lower()})
                 for stage in pipeline.stages]
    for stage, names in spellings:
        if wanted in names:
            return stage
    starts = [stage for stage, names in spellings if wanted and any(n.startswith(wanted) for n in names)]
    if len(starts) == 1:
        return starts[0]
    by_name = {n: stage for stage, names in spellings for n in names}
    near = list(dict.fromkeys(by_name[n].key for n in difflib.get_close_matches(wanted, list(by_name), n=3, cutoff=0.5)))
    choices = {s.key: PicklistChoice(key=s.key, zh_CN=s.name.zh_CN, en=s.name.en) for s in pipeline.stages}
    shown = [choices[s.key] for s in offered]
    if near:
        raise InvalidValue("stage", name[:40], "stage.near", near=[choices[k] for k in near], stages=shown)
    raise InvalidValue("stage", name[:40], "stage.choices", stages=shown)


@dataclass(frozen=True)
class StageMove:
    change: StageChange
    tasks: list[Task]


def check_shown_stage(uow: UnitOfWork, deal: Deal, shown_stage: str | None) -> None:
    """A click on a card shown at another stage (a double click, an old card) changes nothing."""
    if shown_stage is None or shown_stage == deal.stage:
        return
    pipeline = uow.config.pipeline
    now_at = pipeline.get(deal.stage)
    raise StaleAction("deal.moved_on", ref=deal.ref, stage=now_at.name if now_at else deal.stage)


def do_move_stage(uow: UnitOfWork, actor: User, deal: Deal, target: Stage, *, now: datetime,
                  confirmed: bool = False) -> StageMove:
    """Move an open deal to another open stage, enforcing the blueprint; backwards only when confirmed."""
    pipeline = uow.config.pipeline
    if deal.status != "open":
        raise Conflict("deal.already_closed", ref=deal.ref, status=Term("status", deal.status))
    if target.key in (pipeline.won.key, pipeline.lost.key):
        raise Conflict("deal.close_with", ref=deal.ref)
    if target.key == deal.stage:
        raise Conflict("deal.already_in", ref=deal.ref, stage=target.name)
    if is_backwards(uow, deal, target) and not confirmed:
        raise Conflict("deal.backwards", ref=deal.ref, stage=target.name, key=target.key)
    missing = missing_fields(uow, deal, target)
    if missing:
        raise MissingFields(deal.ref, target.name, field_names(uow.config, missing))
    return _enter_stage(uow, actor, deal, target, now)


def _enter_stage(uow: UnitOfWork, actor: User, deal: Deal, target: Stage, now: datetime) -> StageMove:
    previous = deal.stage
    seconds = int((now - deal.stage_entered_at).total_seconds()) if deal.stage_entered_at else None
    deal.stage = target.key
    deal.stage_entered_at = now
    deal.updated_at = now
    change = StageChange(deal_id=deal.id, from_stage=previous, to_stage=target.key, actor_id=actor.id, at=now,
                         seconds_in_previous=seconds)
    uow.session.add(change)
    tasks = _create_stage_tasks(uow, deal, target, now)
    uow.session.flush()
    audit.record(uow.session, actor_id=actor.id, action="deal.stage", record_type="deal", record_id=deal.id,
                 now=now, from_stage=previous, to_stage=target.key)
    uow.emit(DealStageChanged(deal_id=deal.id, from_stage=previous, to_stage=target.key, actor_id=actor.id))
    if target.swarm and deal.amount is not None and deal.amount >= uow.config.swarm.min_amount:
        uow.emit(SwarmRequested(record_type="deal", record_id=deal.id, actor_id=actor.id, reason="stage"))
    return StageMove(change, tasks)


def _create_stage_tasks(uow: UnitOfWork, deal: Deal, stage: Stage, now: datetime) -> list[Task]:
    """The stage's tasks, except those already created for this deal and stage (open or done)."""
    today = local_date(uow.config, now)
    existing = set(uow.session.scalars(select(Task.title).where(Task.deal_id == deal.id, Task.stage == stage.key)))
    tasks = [Task(title=tpl.title, owner_id=deal.owner_id, deal_id=deal.id, stage=stage.key,
                  due_date=today + timedelta(days=tpl.due_days), created_at=now) for tpl in stage.task_templates()
             if tpl.title not in existing]
    uow.session.add_all(tasks)
    return tasks


def record_close(uow: UnitOfWork, actor: User, deal: Deal, *, won: bool, reason: str | None, now: datetime) -> None:
    """The deal's own part of closing it (stage, status, tasks, pending approvals).

    Closing a deal also has effects in other areas (a won deal becomes a contract): use cases call
    crm_core.services.closing.do_close, which calls this and then those.
    """
    pipeline = uow.config.pipeline
    if deal.status != "open":
        raise Conflict("deal.already_closed", ref=deal.ref, status=Term("status", deal.status))
    target = pipeline.won if won else pipeline.lost
    if not won and not (reason or "").strip():
        raise InvalidValue("reason", "", "deal.lost_reason", ref=deal.ref)
    if won and pipeline.won_requires_amount and not field_is_set(deal, "amount"):
        quoted = latest_approved_quote(uow, deal) is not None
        raise Conflict("deal.won_needs_amount_quote" if quoted else "deal.won_needs_amount", ref=deal.ref)
    missing = [f for f in target.required if not field_is_set(deal, f)]
    if missing:
        raise MissingFields(deal.ref, target.name, field_names(uow.config, missing))
    _enter_stage(uow, actor, deal, target, now)
    deal.status = "won" if won else "lost"
    deal.lost_reason = None if won else reason.strip()[:2000]  # type: ignore[union-attr]
    deal.closed_at = now
    for task in uow.session.scalars(select(Task).where(Task.deal_id == deal.id, Task.done_at.is_(None))):
        task.done_at = now
    uow.session.flush()
    do_withdraw_for_closed_deal(uow, actor, deal, now=now)
    uow.emit(DealClosed(deal_id=deal.id, won=won, actor_id=actor.id))


def field_names(config: Config, keys: list[str]) -> list[FieldName]:
    """The fields as an error names them: with their declared labels where [[fields.deal]] has them."""
    names = []
    for key in keys:
        decl = find_decl(config, "deal", key)
        names.append(FieldName(key, decl.name if decl is not None and decl.key == key else None))
    return names




def _open_deals_page(*owner_is: Any) -> Any:
    # Its callers show list lines (ref, name, stage, amount): columns, no account, contact or owner.
    return (select(*DEAL_LINE).where(Deal.status == "open", *owner_is).order_by(Deal.updated_at.desc(), Deal.id.desc())
            .limit(bindparam("limit")).offset(bindparam("offset")))


# `my`, the Home tab and the deal picker run these on every call: built once (building a select cost more than
# running it).
_MY_OPEN_DEALS = _open_deals_page(Deal.owner_id == bindparam("owner_id"))
_OPEN_DEALS_OF_OWNERS = _open_deals_page(Deal.owner_id.in_(bindparam("owner_ids", expanding=True)))
_ALL_OPEN_DEALS = _open_deals_page()


def list_deals(uow: UnitOfWork, actor: User, *, scope: str = "mine", limit: int = 20,
               offset: int = 0) -> list[DealLine]:
    """Open deals as list lines, most recently changed first: the actor's own, or ("team") all they may see."""
    # a tampered "More" button must not reach the database as 10**20
    page = {"limit": limit, "offset": min(max(0, offset), MAX_OFFSET)}
    if scope != "team":
        return read_lines(uow.session, DealLine, _MY_OPEN_DEALS, {"owner_id": actor.id, **page})
    visible = visible_owner_ids(uow.session, actor)
    if visible is None:
        return read_lines(uow.session, DealLine, _ALL_OPEN_DEALS, page)
    return read_lines(uow.session, DealLine, _OPEN_DEALS_OF_OWNERS, {"owner_ids": list(visible), **page})


_MY_OPEN_DEAL_COUNT = select(func.count()).select_from(Deal).where(Deal.owner_id == bindparam("owner_id"),
                                                                  Deal.status == "open")


def open_deal_count(uow: UnitOfWork, actor: User) -> int:
    """How many open deals the actor owns (for a list that shows the first of them, asked when it is full)."""
    return int(uow.session.scalar(_MY_OPEN_DEAL_COUNT, {"owner_id": actor.id}) or 0)


def weighted_amount(uow: UnitOfWork, deal: Deal) -> Decimal:
    stage = uow.config.pipeline.get(deal.stage)
    if deal.amount is None or stage is None:
        return Decimal("0.00")
    return (deal.amount * Decimal(stage.probability) / Decimal(100)).quantize(Decimal("0.01"))


def stage_history(uow: UnitOfWork, deal: Deal) -> list[StageChange]:
    return list(uow.session.scalars(select(StageChange).where(StageChange.deal_id == deal.id).order_by(StageChange.id)))
