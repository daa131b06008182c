"""The one resolver: what a person typed → the records they may see, ranked.

    find(session, actor, text, kinds=("deal",)) -> list[Hit]   # ranked, permission-filtered
    resolve(session, actor, text, kinds=("deal",)) -> Resolution  # .one (act on it) or .choices / nothing
    search(session, actor, text) -> list[Hit]                   # every kind, for `search`
    account_by_name / contact_by_name(session, actor, text)     # the `account` / `contact` commands

Accepted: an exact reference (D-7, l-3, Ｄ－５２), a name or part of it — of the record itself or, for
deals, tickets, contracts, quotes and approvals, of its account (and a deal's contact) — Chinese or Latin,
pinyin (`shenzhen`) and pinyin initials (`szmm`) of Chinese names. Ranks: exact reference 0, exact name 1,
name prefix 2, contains 3, pinyin 4. Each tier is one bounded index range on search_terms
(crm_core.search_index), so cost follows the number of hits shown, not the number of records.

When no tier finds anything, the last resort is a name spelled alike (`Cyberdine`, `shenzen`): the keys next to
what was typed, a few bounded index ranges, within one or two slips of it (crm_core.search_text.slips); rank 5
and above. When those find none either, a slip in the first letter (`Kyberdyne`) is looked for in the short
ranges each such slip would start (`first_letter_slips`): one more statement. A record found that way is never
acted on alone (`Resolution.one`): the person is asked.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from string import ascii_lowercase
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, literal, or_, select, true, union_all
from sqlalchemy.orm import Session

from crm_core.models import Account, Approval, ApprovalStep, Contact, Contract, Deal, Lead, Quote, Ticket, User
from crm_core.models.search import SearchTerm
from crm_core.normalize import normalize_company
from crm_core.refs import Ref, parse_ref
from crm_core.search_text import fold, prefix_end, search_key, slips, slips_allowed, strip_trailing
from crm_core.services.access import is_support
from crm_core.services.permissions import visible_owner_ids

SEARCH_KINDS = ("lead", "contact", "account", "deal", "ticket", "contract")
RESOLVABLE = ("lead", "deal", "ticket", "contract", "quote", "approval", "account", "contact")
RANK_REF, RANK_EXACT, RANK_PREFIX, RANK_CONTAINS, RANK_PINYIN = 0, 1, 2, 3, 4
RANK_NEAR = 5  # spelled alike: 5 for one slip, 6 for two
TIER_LIMIT = 60  # index rows read per tier
NEAR_ROWS = 30  # index rows read per range of the spelled-alike look-up
FIRST_LETTER_ROWS = 4  # …and per range of a slip in the first letter (53 starts, of names and of words)
FIRST_CHARACTER_MIN = 4  # a Chinese key whose first character may be taken for a slip: three more to go on
MIN_KEY = 1


@dataclass(frozen=True)
class Hit:
    kind: str  # lead | deal | account | contact | ticket | contract | quote | approval
    id: int
    name: str  # what the record is called (a deal's name, a ticket's subject, a contract's account)
    rank: int
    detail: str = ""  # the account (of a deal, contact, ticket), a lead's company
    open: bool = True
    via: bool = False  # found by its account's (or contact's) name rather than its own

    @property
    def near(self) -> bool:
        """Found only as spelled alike: a guess, never acted on without asking."""
        return self.rank >= RANK_NEAR

    @property
    def tier(self) -> tuple[int, bool]:
        return (self.rank, self.via)

    @property
    def ref(self) -> str | None:
        """D-7, or None for accounts and contacts (they have no reference)."""
        prefix = {"lead": "L", "deal": "D", "ticket": "T", "contract": "C", "quote": "Q", "approval": "A"}.get(self.kind)
        return f"{prefix}-{self.id}" if prefix else None

    @property
    def token(self) -> str:
        """What a button carries to reopen the record: its reference, or account:12 / contact:5."""
        return self.ref or f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Resolution:
    text: str
    kinds: tuple[str, ...]
    hits: tuple[Hit, ...] = field(default_factory=tuple)

    @property
    def one(self) -> Hit | None:
        """The record to act on: the only hit of the best rank, or the exact reference (never a guess)."""
        if not self.hits or self.hits[0].near:
            return None
        best = [h for h in self.hits if h.rank == self.hits[0].rank]
        return best[0] if len(best) == 1 else None

    @property
    def choices(self) -> tuple[Hit, ...]:
        return self.hits if self.one is None else ()


class _Scope:
    """The actor's visibility, read once per lookup (one query of users for a manager)."""

    def __init__(self, session: Session, actor: User) -> None:
        self.actor = actor
        self.visible = visible_owner_ids(session, actor)
        self.support = is_support(actor)

    def sees(self, owner_id: int | None) -> bool:
        return self.visible is None or owner_id in self.visible


def parse_typed_ref(text: str, kinds: Sequence[str]) -> Ref | None:
    """A reference as people type it, full-width and with trailing punctuation (`Ｄ－52，`)."""
    return parse_ref(strip_trailing(fold(text)).replace(" ", ""), *kinds)


def find(session: Session, actor: User, text: str, kinds: Sequence[str] = SEARCH_KINDS, *,
         limit: int = 10) -> list[Hit]:
    """Records of `kinds` matching `text` that `actor` may see, best first (at most `limit`).

    One statement reads every tier (exact name, prefix, contains, pinyin, initials), each a bounded index range;
    then one column query per kind loads the records found, rank by rank until the page is full (a later
    rank can only rank lower)."""
    scope = _Scope(session, actor)
    ref = parse_typed_ref(text, RESOLVABLE)
    if ref is not None and ref.kind in kinds:
        hit = _by_ref(session, scope, ref)
        if hit is not None:
            return [hit]
    key = search_key(strip_trailing(text))
    if len(key) < MIN_KEY:
        return []
    cap = max(2 * limit, 12)
    hits = _hits(session, scope, _terms(session, scope, key, _term_kinds(kinds), cap), kinds, limit, cap)
    if not hits and len(words := text.split()) > 1:  # two words: records matching the first word and all others
        others = [search_key(w) for w in words[1:]]
        hits = [h for h in find(session, actor, words[0], kinds, limit=limit * 5)
                if all(o in search_key(f"{h.name} {h.detail}") for o in others)][:limit]
        if hits:
            return hits
    if not hits:  # the last resort: names spelled alike
        hits = _hits(session, scope, _near_terms(session, scope, key, _term_kinds(kinds)), kinds, limit, cap)
    return hits


def _hits(session: Session, scope: _Scope, terms: dict[tuple[str, int], int], kinds: Sequence[str], limit: int,
          cap: int) -> list[Hit]:
    """Index rows → the best `limit` visible records, loaded rank by rank until the page is full (a later rank
    can only rank lower)."""
    hits: dict[tuple[str, int], Hit] = {}
    for rank in sorted(set(terms.values())):
        for hit in _expand(session, scope, {k: r for k, r in terms.items() if r == rank}, kinds, cap):
            k = (hit.kind, hit.id)
            if k not in hits or hit.tier < hits[k].tier:
                hits[k] = hit
        if len(hits) >= limit:
            break
    ordered = sorted(hits.values(), key=lambda h: (h.tier, not h.open, len(h.name), -h.id))
    return ordered[:limit]


def resolve(session: Session, actor: User, text: str, kinds: Sequence[str], *, limit: int = 10) -> Resolution:
    return Resolution(text, tuple(kinds), tuple(find(session, actor, text, kinds, limit=limit)))


def search(session: Session, actor: User, text: str, *, limit: int = 20) -> list[Hit]:
    return find(session, actor, text, SEARCH_KINDS, limit=limit)


# --- the index ------------------------------------------------------------------------------------------

def _term_kinds(kinds: Sequence[str]) -> set[str]:
    wanted: set[str] = set()
    for kind in kinds:
        wanted |= {"lead": {"lead"}, "contact": {"contact"}, "account": {"account"},
                   "deal": {"deal", "account", "contact"}, "quote": {"deal", "account"},
                   "approval": {"deal", "account"}, "ticket": {"ticket", "account"},
                   "contract": {"deal", "account"}}[kind]
    return wanted


def _tiers(key: str) -> list[tuple[int, Any]]:
    end = prefix_end(key)
    tiers = [
        (RANK_EXACT, and_(SearchTerm.field == "name", SearchTerm.key == key)),
        (RANK_PREFIX, and_(SearchTerm.field == "name", SearchTerm.key > key, SearchTerm.key < end)),
        (RANK_CONTAINS, and_(SearchTerm.field == "word", SearchTerm.key >= key, SearchTerm.key < end)),
    ]
    if key.isascii():  # pinyin keys are ASCII
        tiers += [(RANK_PINYIN, and_(SearchTerm.field == "pinyin", SearchTerm.key >= key, SearchTerm.key < end)),
                  (RANK_PINYIN, and_(SearchTerm.field == "initials", SearchTerm.key >= key, SearchTerm.key < end))]
    return tiers


def _terms(session: Session, scope: _Scope | None, key: str, kinds: Iterable[str],
           cap: int) -> dict[tuple[str, int], int]:
    """(kind, id) → best rank: every tier's bounded index range (LIMIT 2×cap each), in one UNION ALL.

    Records with an owner are filtered by the owners the actor may see in the index itself (a rep's search
    never fills its page with colleagues' records); account keys are not, since a rep's deal on a colleague's
    account is found by the account's name. Every record found is checked again when it is loaded (a caller
    whose check is not the owner's passes no scope and reads the index unfiltered)."""
    parts = []
    seen = _seen(scope, kinds)  # the reader's filter, built once for every tier
    for rank, cond in _tiers(key):
        stmt = select(SearchTerm.kind, SearchTerm.record_id, literal(rank).label("rank")).where(
            cond, SearchTerm.kind.in_(sorted(kinds)))
        if seen is not None:
            stmt = stmt.where(seen)
        sub = stmt.order_by(SearchTerm.key).limit(cap * 2).subquery()
        parts.append(select(sub.c.kind, sub.c.record_id, sub.c.rank))
    found: dict[tuple[str, int], int] = {}
    for kind, rid, rank in _rows(session, union_all(*parts)):
        if (kind, rid) not in found or rank < found[(kind, rid)]:
            found[(kind, rid)] = rank
    return found


def _seen(scope: _Scope | None, kinds: Iterable[str]) -> ColumnElement[bool] | None:
    """The index rows `scope`'s reader may be shown (None: every row)."""
    if scope is None or scope.visible is None:
        return None
    unfiltered = ["account"] + (["ticket"] if scope.support else [])
    # tickets the reader may work on without owning them
    theirs = [] if scope.support or "ticket" not in kinds else [_tickets_seen(scope)]
    return or_(SearchTerm.kind.in_(unfiltered), SearchTerm.owner_id.in_(sorted(scope.visible)), *theirs)


def _near_terms(session: Session, scope: _Scope | None, key: str, kinds: Iterable[str]) -> dict[tuple[str, int], int]:
    """(kind, id) → rank of the records whose name, part of a name or pinyin is one or two slips from `key`
    (none for a key too short to guess from). The candidates are the keys next to `key` on either side among
    those with its first character, and those sharing its first half (a slip late in a long name), each range
    at most NEAR_ROWS index rows: one statement."""
    most = slips_allowed(key)
    if not most:
        return {}
    seen = _seen(scope, kinds)
    first, half = key[:1], key[:(len(key) + 1) // 2]
    ranges = ((and_(SearchTerm.key >= key, SearchTerm.key < prefix_end(first)), SearchTerm.key.asc()),
              (and_(SearchTerm.key < key, SearchTerm.key >= first), SearchTerm.key.desc()),
              (and_(SearchTerm.key >= half, SearchTerm.key < prefix_end(half)), SearchTerm.key.asc()))
    parts = []
    for field_ in ("name", "word", "pinyin") if key.isascii() else ("name", "word"):
        fuzzy = tuple((and_(SearchTerm.key >= start, SearchTerm.key < prefix_end(start[:2])), SearchTerm.key.asc())
                      for start in fuzzy_starts(key)) if field_ == "pinyin" else ()
        for cond, order in ranges + fuzzy:
            stmt = select(SearchTerm.kind, SearchTerm.record_id, SearchTerm.key).where(
                SearchTerm.field == field_, cond, SearchTerm.kind.in_(sorted(kinds)))
            if seen is not None:
                stmt = stmt.where(seen)
            sub = stmt.order_by(order).limit(NEAR_ROWS).subquery()
            parts.append(select(sub.c.kind, sub.c.record_id, sub.c.key))
    found = _within_slips(session, union_all(*parts), key, most)
    if not found and (starts := first_letter_slips(key)):
        # None: perhaps the slip is in the first letter, where none of those ranges look (one more statement,
        # built once: who may see a record is checked when the records are read, `_expand`)
        params: dict[str, Any] = {f"s{i}": start for i, start in enumerate(starts)}
        params.update({f"e{i}": prefix_end(start) for i, start in enumerate(starts)})
        found = _within_slips(session, _first_letter_ranges(len(starts)), key, most,
                              {**params, "kinds": sorted(kinds)})
    elif not found and not key.isascii() and len(key) >= FIRST_CHARACTER_MIN:
        # Chinese: the first character wrong (sen for shen in Shenzhen: often a homophone the input method
        # offered first).
        # The names that go on as the typed key does after its first character, compared whole.
        rest = key[1:]
        found = _within_slips(session, _after_first_character(), key, most,
                              {"rest": rest, "rest_end": prefix_end(rest), "kinds": sorted(kinds)})
    return found


FUZZY_INITIALS = {"s": "sh", "z": "zh", "c": "ch", "sh": "s", "zh": "z", "ch": "c", "l": "n", "n": "l"}


def fuzzy_starts(key: str) -> list[str]:
    """Where a pinyin key starts when its first initial is one that many speakers do not tell apart (the "fuzzy
    pinyin" of Chinese input methods: s/sh, z/zh, c/ch, l/n): `senzhen` for shenzhen, `lanjing` for nanjing.
    The keys next to the typed one share its first letters, so these starts are read too (one range each)."""
    if not (key.isascii() and key[:1].isalpha() and len(key) >= 4):
        return []
    initial = key[:2] if key[:2] in FUZZY_INITIALS else key[:1]
    other = FUZZY_INITIALS.get(initial)
    return [other + key[len(initial):]] if other else []


@lru_cache(maxsize=1)
def _after_first_character() -> Any:
    """The name keys of the records with a name or word key starting `:rest` (at most NEAR_ROWS of those):
    the names a Chinese key with a wrong first character may mean. Built once."""
    rest = (select(SearchTerm.kind, SearchTerm.record_id)
            .where(SearchTerm.field.in_(("name", "word")), SearchTerm.key >= bindparam("rest"),
                   SearchTerm.key < bindparam("rest_end"), SearchTerm.kind.in_(bindparam("kinds", expanding=True)))
            .limit(NEAR_ROWS).subquery())
    return (select(SearchTerm.kind, SearchTerm.record_id, SearchTerm.key)
            .join(rest, and_(SearchTerm.kind == rest.c.kind, SearchTerm.record_id == rest.c.record_id))
            .where(SearchTerm.field == "name"))


@lru_cache(maxsize=2)
def _first_letter_ranges(n: int) -> Any:
    """One statement for `n` short index ranges (`:s0`…`:e0`, …) of names and words: built once, since
    building 2n selects costs more than running them."""
    parts = []
    for field_ in ("name", "word"):
        for i in range(n):
            sub = (select(SearchTerm.kind, SearchTerm.record_id, SearchTerm.key)
                   .where(SearchTerm.field == field_, SearchTerm.key >= bindparam(f"s{i}"),
                          SearchTerm.key < bindparam(f"e{i}"), SearchTerm.kind.in_(bindparam("kinds", expanding=True)))
                   .order_by(SearchTerm.key.asc()).limit(FIRST_LETTER_ROWS).subquery())
            parts.append(select(sub.c.kind, sub.c.record_id, sub.c.key))
    return union_all(*parts)


def first_letter_slips(key: str) -> list[str]:
    """The starts a name has when `key` holds a slip in its first letter (Latin keys only: a letter changed,
    dropped, added in front, or the first two swapped) — each a short index range; always 53 of them (one may
    repeat another), so the statement has one shape."""
    if not (key.isascii() and key[:1].isalpha() and len(key) >= 4):
        return []
    changed = [letter + key[1:3] for letter in ascii_lowercase if letter != key[0]]
    dropped = [letter + key[:2] for letter in ascii_lowercase]
    return changed + dropped + [key[1:4], key[1] + key[0] + key[2]]  # a letter added in front; first two swapped


def _within_slips(session: Session, stmt: Any, key: str, most: int,
                  params: dict[str, Any] | None = None) -> dict[tuple[str, int], int]:
    found: dict[tuple[str, int], int] = {}
    for kind, rid, stored in _rows(session, stmt, params):
        n = slips(key, stored, most)
        if n <= most:
            rank = RANK_NEAR + max(n - 1, 0)
            found[(kind, rid)] = min(rank, found.get((kind, rid), rank))
    return found


def _tickets_seen(scope: _Scope) -> Any:
    """Tickets a person may work on without owning them (crm_core.services.access.can_work): the ones they
    opened, and those on accounts whose owner's records they may see. Support's owner is in neither."""
    visible = sorted(scope.visible or ())
    theirs = select(Ticket.id).where(or_(Ticket.created_by_id == scope.actor.id, Ticket.account_id.in_(
        select(Account.id).where(Account.owner_id.in_(visible)))))
    return and_(SearchTerm.kind == "ticket", SearchTerm.record_id.in_(theirs))


def _rows(session: Session, stmt: Any, params: dict[str, Any] | None = None) -> Any:
    """Column queries run on the session's connection (Core): no ORM result machinery per row."""
    return session.connection().execute(stmt, params or {})


def _ids(terms: dict[tuple[str, int], int], kind: str) -> dict[int, int]:
    return {rid: rank for (k, rid), rank in terms.items() if k == kind}


def _expand(session: Session, scope: _Scope, terms: dict[tuple[str, int], int], kinds: Sequence[str],
            cap: int = 40) -> list[Hit]:
    """Index rows → visible records (column queries: no ORM objects, no eager loads), at most `cap` per kind."""
    accounts, contacts, deals = _ids(terms, "account"), _ids(terms, "contact"), _ids(terms, "deal")
    hits: list[Hit] = []
    if "lead" in kinds and (ids := _ids(terms, "lead")):
        for lid, name, company, status, owner in _rows(session, 
                select(Lead.id, Lead.name, Lead.company, Lead.status, Lead.owner_id)
                .where(Lead.id.in_(ids), Lead.status != "merged")):
            if scope.sees(owner):
                hits.append(Hit("lead", lid, name, ids[lid], company or "", status == "open"))
    deal_ranks: dict[int, int] = {}
    if {"deal", "quote", "approval", "contract"} & set(kinds) and (deals or accounts or contacts):
        conds = [Deal.id.in_(deals)] if deals else []
        if accounts:
            conds.append(Deal.account_id.in_(accounts))
        if contacts:
            conds.append(Deal.contact_id.in_(contacts))
        stmt = (select(Deal.id, Deal.name, Deal.status, Deal.owner_id, Deal.account_id, Deal.contact_id, Account.name)
                .join(Account, Account.id == Deal.account_id).where(or_(*conds)))
        if scope.visible is not None:
            stmt = stmt.where(Deal.owner_id.in_(sorted(scope.visible)))
        for did, name, status, owner, account_id, contact_id, account_name in _rows(session, 
                stmt.order_by(Deal.id.desc()).limit(cap * 4)):
            rank, via = _best(deals.get(did), accounts.get(account_id), contacts.get(contact_id or 0))
            deal_ranks[did] = rank
            if "deal" in kinds:
                hits.append(Hit("deal", did, name, rank, _detail(name, account_name), status == "open", via))
    if "quote" in kinds and deal_ranks:
        for qid, version, deal_id in _rows(session, select(Quote.id, Quote.version, Quote.deal_id).where(
                Quote.deal_id.in_(deal_ranks), Quote.superseded_at.is_(None))):
            hits.append(Hit("quote", qid, f"v{version}", deal_ranks[deal_id]))
    if "approval" in kinds and (deal_ranks or deals or accounts):
        hits += _approvals(session, scope, deals, accounts, deal_ranks)
    if "account" in kinds and accounts:
        hits += _accounts(session, scope, accounts)
    if "contact" in kinds and contacts:
        for cid, name, owner, account_name, account_owner in _rows(session, 
                select(Contact.id, Contact.name, Contact.owner_id, Account.name, Account.owner_id)
                .join(Account, Account.id == Contact.account_id).where(Contact.id.in_(contacts))):
            if scope.sees(owner) or scope.sees(account_owner):
                hits.append(Hit("contact", cid, name, contacts[cid], account_name))
    if "ticket" in kinds and ((ids := _ids(terms, "ticket")) or accounts):
        conds = [Ticket.id.in_(ids)] if ids else []
        if accounts:
            conds.append(Ticket.account_id.in_(accounts))
        for tid, subject, closed_at, owner, created_by, account_id, account_name, account_owner in _rows(session, 
                select(Ticket.id, Ticket.subject, Ticket.closed_at, Ticket.owner_id, Ticket.created_by_id,
                       Ticket.account_id, Account.name, Account.owner_id)
                .join(Account, Account.id == Ticket.account_id).where(or_(*conds))
                .order_by(Ticket.id.desc()).limit(cap * 4)):
            if scope.support or created_by == scope.actor.id or scope.sees(owner) or scope.sees(account_owner):
                rank, via = _best(ids.get(tid), accounts.get(account_id))
                hits.append(Hit("ticket", tid, subject, rank, account_name, closed_at is None, via))
    if "contract" in kinds and (accounts or deals):
        conds = [Contract.account_id.in_(accounts)] if accounts else []
        if deals:
            conds.append(Contract.deal_id.in_(deals))
        for cid, owner, account_id, deal_id, end_date, account_name, account_owner in _rows(session, 
                select(Contract.id, Contract.owner_id, Contract.account_id, Contract.deal_id, Contract.end_date,
                       Account.name, Account.owner_id)
                .join(Account, Account.id == Contract.account_id).where(or_(*conds))
                .order_by(Contract.id.desc()).limit(cap * 4)):
            if scope.sees(owner) or scope.sees(account_owner):
                rank, via = _best(deals.get(deal_id or 0), accounts.get(account_id))
                hits.append(Hit("contract", cid, account_name, rank, end_date.isoformat(), True, via))
    return hits


def _best(own: int | None, *others: int | None) -> tuple[int, bool]:
    """The best rank of a record found by its own name and/or by a related name; ties go to its own."""
    other = min((r for r in others if r is not None), default=None)
    if own is not None and (other is None or own <= other):
        return own, False
    assert other is not None
    return other, True


def _detail(name: str, detail: str) -> str:
    return "" if detail == name else detail


def _accounts(session: Session, scope: _Scope, accounts: dict[int, int]) -> list[Hit]:
    """An account is visible to whoever may see its owner's records or one of its deals."""
    rows = _rows(session, select(Account.id, Account.name, Account.owner_id, User.name)
                           .join(User, User.id == Account.owner_id).where(Account.id.in_(accounts))).all()
    with_deal: set[int] = set()
    if scope.visible is not None:
        hidden = [r[0] for r in rows if r[2] not in scope.visible]
        if hidden:
            with_deal = set(_rows(session, select(Deal.account_id).where(
                Deal.account_id.in_(hidden), Deal.owner_id.in_(sorted(scope.visible))).distinct()).scalars())
    return [Hit("account", aid, name, accounts[aid], owner_name or "")
            for aid, name, owner, owner_name in rows if scope.sees(owner) or aid in with_deal]


def _approvals(session: Session, scope: _Scope, deals: dict[int, int], accounts: dict[int, int],
               deal_ranks: dict[int, int]) -> list[Hit]:
    """Pending approvals of the deals named: the deal owner's side, and the approvers'."""
    conds = [Approval.deal_id.in_(deal_ranks)] if deal_ranks else []
    if deals:
        conds.append(Approval.deal_id.in_(deals))
    if accounts:
        conds.append(Approval.deal_id.in_(select(Deal.id).where(Deal.account_id.in_(accounts))))
    approver = select(ApprovalStep.approval_id).where(ApprovalStep.approver_id == scope.actor.id)
    out: list[Hit] = []
    for appr, deal in session.execute(select(Approval, Deal).join(Deal, Deal.id == Approval.deal_id)
                                      .where(or_(*conds), Approval.status == "pending").limit(100)):
        if deal.id in deal_ranks or scope.sees(deal.owner_id) or session.scalar(
                approver.where(ApprovalStep.approval_id == appr.id).limit(1)) is not None:
            rank = deal_ranks.get(deal.id, deals.get(deal.id, accounts.get(deal.account_id, RANK_PINYIN)))
            out.append(Hit("approval", appr.id, deal.name, rank, deal.account.name, True))
    return out


def _by_ref(session: Session, scope: _Scope, ref: Ref) -> Hit | None:
    """An exact reference the actor may see (else None: the command's own check words the refusal)."""
    model = {"lead": Lead, "deal": Deal, "ticket": Ticket, "contract": Contract, "quote": Quote,
             "approval": Approval}[ref.kind]
    obj = session.get(model, ref.id)
    if obj is None or not _sees(session, scope, obj):
        return None
    if isinstance(obj, Lead):
        return Hit("lead", obj.id, obj.name, RANK_REF, obj.company or "", obj.status == "open")
    if isinstance(obj, Deal):
        return Hit("deal", obj.id, obj.name, RANK_REF, obj.account.name, obj.status == "open")
    if isinstance(obj, Ticket):
        return Hit("ticket", obj.id, obj.subject, RANK_REF, obj.account.name, obj.is_open)
    if isinstance(obj, Contract):
        return Hit("contract", obj.id, obj.account.name, RANK_REF, obj.end_date.isoformat())
    if isinstance(obj, Quote):
        return Hit("quote", obj.id, f"v{obj.version}", RANK_REF)
    return Hit("approval", obj.id, f"A-{obj.id}", RANK_REF)


def _sees(session: Session, scope: _Scope, obj: object) -> bool:
    if isinstance(obj, (Lead, Deal)):
        return scope.sees(obj.owner_id)
    if isinstance(obj, Ticket):
        return scope.support or obj.created_by_id == scope.actor.id or scope.sees(obj.owner_id) \
            or scope.sees(obj.account.owner_id)
    if isinstance(obj, Contract):
        return scope.sees(obj.owner_id) or scope.sees(obj.account.owner_id)
    deal_id = obj.deal_id  # type: ignore[attr-defined]
    deal = session.get(Deal, deal_id)
    if deal is not None and scope.sees(deal.owner_id):
        return True
    return isinstance(obj, Approval) and session.scalar(select(ApprovalStep.id).where(
        ApprovalStep.approval_id == obj.id, ApprovalStep.approver_id == scope.actor.id).limit(1)) is not None


def records_of_account(session: Session, actor: User, account_id: int, *, limit: int = 20) -> list[Hit]:
    """An account's contacts, deals, tickets and contracts that `actor` may see, open ones first."""
    scope = _Scope(session, actor)
    terms = {("account", account_id): RANK_EXACT}
    for cid in session.scalars(select(Contact.id).where(Contact.account_id == account_id).limit(limit)):
        terms[("contact", cid)] = RANK_EXACT
    hits = _expand(session, scope, terms, ("contact", "deal", "ticket", "contract"))
    order = {"contact": 0, "deal": 1, "ticket": 2, "contract": 3}
    return sorted(hits, key=lambda h: (not h.open, order[h.kind], -h.id))[:limit]


def account_scope(session: Session, actor: User) -> set[int] | None:
    """Owner ids whose accounts (and whose deals' accounts) the actor may see; None: every account (admins
    and the support team)."""
    return None if is_support(actor) else visible_owner_ids(session, actor)


def visible_account_clause(owner_ids: set[int] | None) -> ColumnElement[bool]:
    """Accounts owned by one of `owner_ids` or with a deal one of them owns (None: every account)."""
    if owner_ids is None:
        return true()
    ids = sorted(owner_ids)
    return or_(Account.owner_id.in_(ids),
               exists().where(Deal.account_id == Account.id, Deal.owner_id.in_(ids)))


def visible_contact_clause(owner_ids: set[int] | None) -> ColumnElement[bool]:
    """Contacts of the accounts `visible_account_clause` lets through."""
    return exists().where(Account.id == Contact.account_id, visible_account_clause(owner_ids))


def named_like(session: Session, text: str, kinds: Sequence[str], *, cap: int = 20) -> dict[tuple[str, int], int]:
    """(kind, id) → rank of every record of `kinds` the index finds by `text` (prefix, contains, pinyin, else
    spelled alike), whoever owns it: for a caller that says no more than who owns them (`check`)."""
    key = search_key(strip_trailing(text))
    if len(key) < MIN_KEY:
        return {}
    return _terms(session, None, key, kinds, cap) or _near_terms(session, None, key, kinds)


def _exact_else_named(session: Session, text: str, model: Any, visible: ColumnElement[bool],
                      exact: ColumnElement[bool], limit: int) -> list[Any]:
    """Visible records of `model` (Account or Contact) matching `exact`, by id; when there are none, those
    the index finds by (part of) the name, pinyin included, by name; when there are none of those either,
    those spelled alike (a read: one found is shown, its own name at the head of its card)."""
    found = list(session.scalars(select(model).where(visible, exact).order_by(model.id).limit(limit)))
    key = search_key(strip_trailing(text))
    if found or len(key) < MIN_KEY:
        return found
    kind = "account" if model is Account else "contact"
    for terms in (lambda: _terms(session, None, key, (kind,), max(2 * limit, 12)),
                  lambda: _near_terms(session, None, key, (kind,))):
        ids = sorted(rid for _, rid in terms())
        found = list(session.scalars(select(model).where(model.id.in_(ids), visible)
                                     .order_by(model.name, model.id).limit(limit))) if ids else []
        if found:
            break
    return found


def account_by_name(session: Session, actor: User, text: str, *, limit: int = 10) -> list[Account]:
    """Accounts `text` names that `actor` may see, for `account <name>`: the account of a deal, ticket or
    contract reference (D-7, T-9, C-4); else accounts of that exact name (or company key); else those the
    index finds by part of the name, by name."""
    text = (text or "").strip()
    if not text:
        return []
    visible = visible_account_clause(account_scope(session, actor))
    ref = parse_typed_ref(text, ("deal", "ticket", "contract"))
    if ref is not None:
        model: Any = {"deal": Deal, "ticket": Ticket, "contract": Contract}[ref.kind]
        account_id = session.scalar(select(model.account_id).where(model.id == ref.id)) or 0
        return list(session.scalars(select(Account).where(Account.id == account_id, visible)))
    return _exact_else_named(session, text, Account, visible, or_(
        func.lower(Account.name) == text.lower(), Account.name_key == normalize_company(text)), limit)


def contact_by_name(session: Session, actor: User, text: str, *, limit: int = 10) -> list[Contact]:
    """Contacts (of the accounts `actor` may see) that `text` names, for `contact <name>`: a deal reference's
    contact; else contacts of that exact name or e-mail; else those the index finds by part of the name."""
    text = (text or "").strip()
    if not text:
        return []
    visible = visible_contact_clause(account_scope(session, actor))
    ref = parse_typed_ref(text, ("deal",))
    if ref is not None:
        contact_id = session.scalar(select(Deal.contact_id).where(Deal.id == ref.id)) or 0
        return list(session.scalars(select(Contact).where(Contact.id == contact_id, visible)))
    return _exact_else_named(session, text, Contact, visible, or_(
        func.lower(Contact.name) == text.lower(), func.lower(Contact.email) == text.lower()), limit)
