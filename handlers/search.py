"""`search <words>` (搜索), the Open button of a hit, and the pick-list button that re-runs a command."""
from __future__ import annotations

from dataclasses import replace

from cards.builders.search import MAX_CHOICES, related_card, results_card
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.config import Config
from crm_core.errors import NotFound
from crm_core.models import Account, Contact, User
from crm_core.queries.lookup import records_of_account, search
from crm_core.refs import parse_ref
from crm_core.services.permissions import can_access
from crm_core.uow import UnitOfWork
from handlers import registry
from handlers.grammar import UsageError, parse
from handlers.invocation import Invocation
from handlers.usage import usage_reply
from handlers.names import hit_view
from handlers.registry import action, command

# The command that shows a record of each kind, and the argument it reads.
SHOW = {"deal": ("deal", "deal"), "lead": ("lead", "lead"), "ticket": ("ticket", "ticket"),
        "contract": ("contract", "contract"), "quote": ("quote show", "quote")}


def run_search(uow: UnitOfWork, actor: User, locale: str, text: str) -> Reply:
    hits = search(uow.session, actor, text, limit=MAX_CHOICES + 1)
    shown = [hit_view(h) for h in hits[:MAX_CHOICES]]
    return Reply(cards=(results_card(locale, text, shown, more=len(hits) > MAX_CHOICES),))


@command("search", writes=False)
def search_records(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    return run_search(uow, actor, locale, str(inv.args["words"]))


@action("search.run", writes=False, value=("words",))
def search_again(inv: Invocation, uow: UnitOfWork, actor: User, locale: str) -> Reply:
    """The Search button under "no record named …"."""
    return run_search(uow, actor, locale, str(inv.args["words"]))


@action("search.open", writes=False, value=("token",))
def open_hit(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str, config: Config) -> Reply:
    """A hit's Open button: the record's own card (its show command), or an account's / contact's records."""
    token = str(inv.args["token"])
    kind, _, raw_id = token.partition(":")
    if kind in ("account", "contact") and raw_id.isdecimal() and len(raw_id) < 10:
        return _related(uow, actor, locale, kind, int(raw_id))
    ref = parse_ref(token)
    if ref is None or ref.kind not in SHOW:
        raise NotFound(ref=token[:40] or "?")
    name, arg = SHOW[ref.kind]
    shown = replace(inv, kind="command", name=name, args={arg: ref}, options={})
    deps = {"inv": shown, "uow": uow, "clock": clock, "actor": actor, "locale": locale, "config": config}
    return registry.call(registry.COMMANDS[name], deps)


def _related(uow: UnitOfWork, actor: User, locale: str, kind: str, record_id: int) -> Reply:
    model = Account if kind == "account" else Contact
    record = uow.session.get(model, record_id)
    if record is None:
        raise NotFound(ref=f"{kind}:{record_id}")
    account_id = record.id if isinstance(record, Account) else record.account_id
    account = uow.session.get(Account, account_id)
    hits = [hit_view(h) for h in records_of_account(uow.session, actor, account_id)]
    if not hits and not _may_see(uow, actor, record):
        raise NotFound(ref=record.name[:40])
    if isinstance(record, Contact):
        detail = " · ".join(x for x in (account.name if account else "", record.email or "", record.phone or "") if x)
        return Reply(cards=(related_card(locale, "related.contact", record.name, detail, hits),))
    return Reply(cards=(related_card(locale, "related.account", record.name, record.owner.name, hits),))


def _may_see(uow: UnitOfWork, actor: User, record: Account | Contact) -> bool:
    return can_access(uow.session, actor, record.owner_id)


@action("record.pick", value=("text",))
def pick_record(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str, config: Config) -> Reply:
    """A pick-list button: the command that asked, typed again with the chosen reference in place of the name."""
    text = str(inv.args["text"])
    parsed = parse(text)
    if isinstance(parsed, UsageError):  # only a tampered button: the texts are the ones this server wrote
        return usage_reply(locale, parsed)
    if parsed.name not in registry.COMMANDS or parsed.name == "search":
        raise NotFound(ref=text[:40])
    rerun = replace(inv, kind="command", name=parsed.name, args=parsed.args, options=parsed.options,
                    spans=parsed.spans, text=text)
    deps = {"inv": rerun, "uow": uow, "clock": clock, "actor": actor, "locale": locale, "config": config}
    return registry.call(registry.COMMANDS[parsed.name], deps)
