"""The one resolver: what a person typed → the records they may see, ranked.

    find(session, actor, text, kinds=("deal",)) -> list[Hit]   # ranked, permission-filtered
    resolve(session, actor, text, kinds=("deal",)) -> Resolution  # .one (act on it) or .choices / nothing
    search(session, actor, text) -> list[Hit]                   # every kind, for `search`

Accepted: an exact reference (D-7, l-3, Ｄ－５２), a name or part of it — of the record itself or, for
deals, tickets, contracts, quotes and approvals, of its account (and a deal's contact) — Chinese or Latin,
pinyin (`shenzhen`) and pinyin initials (`szmm`) of Chinese names. Ranks: exact reference 0, exact name 1,
name prefix 2, contains 3, pinyin 4. Each tier is one bounded index range on search_terms
(crm_core.search_index), so cost follows the number of hits shown, not the number of records.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from crm_core.models import Account, Approval, ApprovalStep, Contact, Contract, Deal, Lead, Quote, Ticket, User
from crm_core.models.search import SearchTerm
from crm_core.refs import Ref, parse_ref
from crm_core.search_text import fold, prefix_end, search_key, strip_trailing
from crm_core.services.permissions import visible_owner_ids

SEARCH_KINDS = ("lead", "contact", "account", "deal", "ticket", "contract")
RESOLVABLE = ("lead", "deal", "ticket", "contract", "quote", "approval", "account", "contact")
RANK_REF, RANK_EXACT, RANK_PREFIX, RANK_CONTAINS, RANK_PINYIN = 0, 1, 2, 3, 4
TIER_LIMIT = 60  # index rows read per tier
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
        """The record to act on: the only hit of the best rank, or the exact reference."""
        if not self.hits:
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
        self.support = "support" in (actor.tags or [])

    def sees(self, owner_id: int | None) -> bool:
        return self.visible is None or owner_id in self.visible


def parse_typed_ref(text: str, kinds: Sequence[str]) -> Ref | None:
    """A reference as people type it, full-width and with trailing punctuation (`Ｄ－52，`)."""
    return parse_ref(strip_trailing(fold(text)).replace(" ", ""), *kinds)


def find(session: Session, actor: User, text: str, kinds: Sequence[str] = SEARCH_KINDS, *,
         limit: int = 10) -> list[Hit]:
    """Records of `kinds` matching `text` that `actor` may see, best first (at most `limit`)."""
    scope = _Scope(session, actor)
    ref = parse_typed_ref(text, RESOLVABLE)
    if ref is not None and ref.kind in kinds:
        hit = _by_ref(session, scope, ref)
        if hit is not None:
            return [hit]
    key = search_key(strip_trailing(text))
    if len(key) < MIN_KEY:
        return []
    terms = _terms(session, scope, key, _term_kinds(kinds))
    hits: dict[tuple[str, int], Hit] = {}
    for hit in _expand(session, scope, terms, kinds):
        k = (hit.kind, hit.id)
        if k not in hits or hit.tier < hits[k].tier:
            hits[k] = hit
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


def _terms(session: Session, scope: _Scope, key: str, kinds: Iterable[str]) -> dict[tuple[str, int], int]:
    """(kind, id) → best rank, from bounded index ranges (exact name, name prefix, contains, pinyin, initials).

    Records with an owner are filtered by the owners the actor may see in the index itself (a rep's search
    never fills its page with colleagues' records); account keys are not, since a rep's deal on a colleague's
    account is found by the account's name. Every record found is checked again when it is loaded."""
    end = prefix_end(key)
    kinds = sorted(kinds)
    owner_filter = None
    if scope.visible is not None:
        unfiltered = ["account"] + (["ticket"] if scope.support else [])
        owner_filter = or_(SearchTerm.kind.in_(unfiltered), SearchTerm.owner_id.in_(sorted(scope.visible)))
    tiers = [
        (RANK_EXACT, and_(SearchTerm.field == "name", SearchTerm.key == key)),
        (RANK_PREFIX, and_(SearchTerm.field == "name", SearchTerm.key > key, SearchTerm.key < end)),
        (RANK_CONTAINS, and_(SearchTerm.field == "word", SearchTerm.key >= key, SearchTerm.key < end)),
        (RANK_PINYIN, and_(SearchTerm.field == "pinyin", SearchTerm.key >= key, SearchTerm.key < end)),
        (RANK_PINYIN, and_(SearchTerm.field == "initials", SearchTerm.key >= key, SearchTerm.key < end)),
    ]
    found: dict[tuple[str, int], int] = {}
    for rank, cond in tiers:
        if rank == RANK_PINYIN and not key.isascii():
            continue
        stmt = select(SearchTerm.kind, SearchTerm.record_id).where(cond, SearchTerm.kind.in_(kinds))
        if owner_filter is not None:
            stmt = stmt.where(owner_filter)
        rows = session.execute(stmt.order_by(SearchTerm.key).limit(TIER_LIMIT))
        for kind, rid in rows:
            found.setdefault((kind, rid), rank)
    return found


# --- from index rows to visible records -----------------------------------------------------------------

def _ids(terms: dict[tuple[str, int], int], kind: str) -> dict[int, int]:
    return {rid: rank for (k, rid), rank in terms.items() if k == kind}


def _expand(session: Session, scope: _Scope, terms: dict[tuple[str, int], int], kinds: Sequence[str]) -> list[Hit]:
    accounts, contacts, deals = _ids(terms, "account"), _ids(terms, "contact"), _ids(terms, "deal")
    hits: list[Hit] = []
    if "lead" in kinds and (ids := _ids(terms, "lead")):
        for lead in session.scalars(select(Lead).where(Lead.id.in_(ids), Lead.status != "merged")):
            if scope.sees(lead.owner_id):
                hits.append(Hit("lead", lead.id, lead.name, ids[lead.id], lead.company or "", lead.status == "open"))
    deal_ranks: dict[int, int] = {}
    if {"deal", "quote", "approval", "contract"} & set(kinds) and (deals or accounts or contacts):
        conds = [Deal.id.in_(deals)] if deals else []
        if accounts:
            conds.append(Deal.account_id.in_(accounts))
        if contacts:
            conds.append(Deal.contact_id.in_(contacts))
        for deal in session.scalars(select(Deal).where(or_(*conds)).limit(200)):
            if not scope.sees(deal.owner_id):
                continue
            rank, via = _best(deals.get(deal.id), accounts.get(deal.account_id), contacts.get(deal.contact_id or 0))
            deal_ranks[deal.id] = rank
            if "deal" in kinds:
                hits.append(Hit("deal", deal.id, deal.name, rank, _detail(deal.name, deal.account.name),
                                deal.status == "open", via))
    if "quote" in kinds and deal_ranks:
        for quote in session.scalars(select(Quote).where(Quote.deal_id.in_(deal_ranks), Quote.superseded_at.is_(None))):
            hits.append(Hit("quote", quote.id, f"v{quote.version}", deal_ranks[quote.deal_id], "", True))
    if "approval" in kinds and (deal_ranks or deals or accounts):
        hits += _approvals(session, scope, deals, accounts, deal_ranks)
    if "account" in kinds and accounts:
        hits += _accounts(session, scope, accounts)
    if "contact" in kinds and contacts:
        for contact, account in session.execute(select(Contact, Account).join(Account, Account.id == Contact.account_id)
                                                .where(Contact.id.in_(contacts))):
            if scope.sees(contact.owner_id) or scope.sees(account.owner_id):
                hits.append(Hit("contact", contact.id, contact.name, contacts[contact.id], account.name))
    if "ticket" in kinds and (ids := _ids(terms, "ticket")) | accounts:
        conds = [Ticket.id.in_(ids)] if ids else []
        if accounts:
            conds.append(Ticket.account_id.in_(accounts))
        for ticket in session.scalars(select(Ticket).where(or_(*conds)).limit(200)):
            if scope.support or ticket.created_by_id == scope.actor.id or scope.sees(ticket.owner_id) \
                    or scope.sees(ticket.account.owner_id):
                rank, via = _best(ids.get(ticket.id), accounts.get(ticket.account_id))
                hits.append(Hit("ticket", ticket.id, ticket.subject, rank, ticket.account.name, ticket.is_open, via))
    if "contract" in kinds and (accounts or deals):
        conds = [Contract.account_id.in_(accounts)] if accounts else []
        if deals:
            conds.append(Contract.deal_id.in_(deals))
        for contract in session.scalars(select(Contract).where(or_(*conds)).limit(200)):
            if scope.sees(contract.owner_id) or scope.sees(contract.account.owner_id):
                rank = min(r for r in (accounts.get(contract.account_id), deals.get(contract.deal_id or 0))
                           if r is not None)
                hits.append(Hit("contract", contract.id, contract.account.name, rank,
                                contract.end_date.isoformat(), True))
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
    rows = list(session.scalars(select(Account).where(Account.id.in_(accounts))))
    with_deal: set[int] = set()
    if scope.visible is not None:
        hidden = [a.id for a in rows if a.owner_id not in scope.visible]
        if hidden:
            with_deal = set(session.scalars(select(Deal.account_id).where(
                Deal.account_id.in_(hidden), Deal.owner_id.in_(scope.visible)).distinct()))
    return [Hit("account", a.id, a.name, accounts[a.id], a.owner.name if a.owner else "")
            for a in rows if scope.sees(a.owner_id) or a.id in with_deal]


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


def account_by_name(session: Session, actor: User, text: str) -> Resolution:
    """Accounts named `text` that `actor` may see (the entry point for `account <name>` views)."""
    return resolve(session, actor, text, ("account",))


def contact_by_name(session: Session, actor: User, text: str) -> Resolution:
    return resolve(session, actor, text, ("contact",))
