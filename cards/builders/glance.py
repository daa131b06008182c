"""The customer at a glance: the account card, the contact card, the pick list when a name matches several,
and the lines the deal card adds (latest quote and its approval, next task, swarm channel).

Pure: views in, cards out. Every list is capped by the view (the query reads at most a few rows per list),
so a card stays inside Slack's 50 blocks and WeCom's six buttons and 2048 bytes.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.format import short
from cards.builders.service import ClockView, HealthView, clock_text, priority_label
from cards.i18n import translator
from cards.model import Button, Card, Context, Field, Section

t = translator("glance")

NAME_MAX = 60
TEXT_MAX = 60
MAX_BUTTONS = 6  # WeCom template cards carry at most six
MAX_PICK = 5


@dataclass(frozen=True)
class QuoteStateView:
    ref: str
    version: int
    total: str
    status: str  # pending | approved | rejected
    approval_ref: str | None = None
    approval_status: str | None = None  # pending | approved | rejected | cancelled
    level: int | None = None
    levels: int | None = None


def quote_state_text(locale: str, q: QuoteStateView) -> str:
    """"Q-3 v2 · ¥10,170.00 · waiting for approval A-1 (level 1 of 2)"."""
    if q.approval_ref and q.approval_status == "pending":
        state = t(locale, "quote.waiting", approval=q.approval_ref, level=q.level or 1, levels=q.levels or 1)
    elif q.approval_ref and q.approval_status in ("approved", "rejected"):
        state = t(locale, f"quote.approval_{q.approval_status}", approval=q.approval_ref)
    else:
        state = t(locale, f"quote.{q.status}")
    return t(locale, "quote.line", ref=q.ref, version=q.version, total=q.total, state=state)


@dataclass(frozen=True)
class TaskView:
    title: str
    due: str  # YYYY-MM-DD
    overdue: bool


def task_text(locale: str, task: TaskView) -> str:
    return t(locale, "task.overdue" if task.overdue else "task.due", title=short(task.title, TEXT_MAX), due=task.due)


def deal_extra_fields(locale: str, quote: QuoteStateView | None, task: TaskView | None,
                      swarms: Sequence[str]) -> list[Field]:
    """What the deal card adds: the latest quote version and its approval, the next open task, the swarm channel."""
    fields = []
    if quote is not None:
        fields.append(Field(t(locale, "f.quote"), quote_state_text(locale, quote)))
    if task is not None:
        fields.append(Field(t(locale, "f.next_task"), task_text(locale, task)))
    if swarms:
        fields.append(Field(t(locale, "f.swarm"), ", ".join(swarms)))
    return fields


@dataclass(frozen=True)
class DealRowView:
    ref: str
    name: str
    stage: str
    amount: str | None
    close_date: str | None
    overdue: bool
    owner: str
    quote: QuoteStateView | None = None


@dataclass(frozen=True)
class TicketRowView:
    ref: str
    subject: str
    priority: str
    clock: ClockView  # the running one: response until responded, then resolution
    responded: bool


@dataclass(frozen=True)
class InvoiceRowView:
    invoice_no: str
    outstanding: str
    due: str


@dataclass(frozen=True)
class ActivityRowView:
    when: str
    kind: str  # already localised
    text: str
    actor: str
    record: str | None  # D-1, T-3, L-2


@dataclass(frozen=True)
class ContactRowView:
    contact_id: int
    name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class ContractRowView:
    ref: str
    end: str
    days_left: int
    value: str
    health: HealthView


@dataclass(frozen=True)
class AccountView:
    account_id: int
    name: str
    owner: str
    industry: str | None
    region: str | None
    contacts: Sequence[ContactRowView]
    more_contacts: bool
    deals: Sequence[DealRowView]
    more_deals: bool
    orders: int
    outstanding: str | None  # unpaid total, None when nothing is owed
    overdue_invoices: int
    invoices: Sequence[InvoiceRowView]  # the oldest overdue ones
    tickets: Sequence[TicketRowView]
    more_tickets: bool
    contract: ContractRowView | None
    activities: Sequence[ActivityRowView]
    swarms: Sequence[str]  # "#deal-7-acme (D-7)"


@dataclass(frozen=True)
class LeadRowView:
    ref: str
    name: str
    status: str  # localised


@dataclass(frozen=True)
class ContactView:
    contact_id: int
    name: str
    email: str | None
    phone: str | None
    account_id: int
    account: str
    account_owner: str
    deals: Sequence[DealRowView]
    leads: Sequence[LeadRowView]
    activities: Sequence[ActivityRowView]


def _heading(locale: str, key: str, lines: Sequence[str], more: bool = False) -> Section:
    body = "\n".join(f"• {line}" for line in lines) if lines else t(locale, "none")
    if more:
        body += "\n" + t(locale, "more")
    return Section(f"*{t(locale, key)}*\n{body}")


def deal_row_text(locale: str, d: DealRowView, *, with_owner: bool = False) -> str:
    parts = [d.ref, short(d.name, 40), d.stage, d.amount or "—"]
    if d.close_date:
        parts.append(t(locale, "close", date=d.close_date))
    if with_owner:
        parts.append(d.owner)
    line = " · ".join(parts)
    if d.overdue:
        line += " " + t(locale, "overdue_flag")
    if d.quote is not None:
        line += "\n   " + quote_state_text(locale, d.quote)
    return line


def ticket_row_text(locale: str, v: TicketRowView) -> str:
    return " · ".join((v.ref, priority_label(locale, v.priority), short(v.subject, 40), clock_text(locale, v.clock)))


def activity_text(locale: str, a: ActivityRowView) -> str:
    where = f" ({a.record})" if a.record else ""
    return f"{a.when} {a.kind} · {short(a.text, 50)} — {a.actor}{where}"


def _open_buttons(locale: str, refs: Sequence[str], extra: Sequence[Button] = ()) -> tuple[Button, ...]:
    buttons = [Button(t(locale, "btn.open", ref=ref), "record.open", ref) for ref in dict.fromkeys(refs)]
    return tuple([*buttons, *extra][:MAX_BUTTONS])


def account_card(locale: str, v: AccountView) -> Card:
    """The overview, without buttons (they are on account_buttons_card)."""
    fields = [Field(t(locale, "f.owner"), v.owner)]
    if v.industry or v.region:
        fields.append(Field(t(locale, "f.industry_region"), " · ".join(x for x in (v.industry, v.region) if x)))
    if v.contract is not None:
        c = v.contract
        fields.append(Field(t(locale, "f.contract"), t(locale, "contract", ref=c.ref, end=c.end, days=c.days_left,
                                                       value=c.value)))
        fields.append(Field(t(locale, "f.health"), t(locale, "health", score=c.health.score,
                                                     band=t(locale, f"band.{c.health.band}"))))
    fields.append(Field(t(locale, "f.orders"), t(locale, "orders", n=v.orders, outstanding=v.outstanding or "—")
                        if v.orders else t(locale, "none")))
    fields.append(Field(t(locale, "f.swarm"), ", ".join(v.swarms) if v.swarms else t(locale, "swarm.none")))
    blocks: list[Section | Context] = [
        _heading(locale, "h.contacts", [" · ".join(x for x in (c.name, c.email, c.phone) if x) for c in v.contacts],
                 v.more_contacts),
        _heading(locale, "h.deals", [deal_row_text(locale, d, with_owner=True) for d in v.deals], v.more_deals),
    ]
    if v.overdue_invoices:
        lines = [t(locale, "invoice", no=i.invoice_no, outstanding=i.outstanding, due=i.due) for i in v.invoices]
        blocks.append(_heading(locale, "h.overdue_invoices", lines, v.overdue_invoices > len(v.invoices)))
    blocks.append(_heading(locale, "h.tickets", [ticket_row_text(locale, x) for x in v.tickets], v.more_tickets))
    if v.activities:
        blocks.append(Context(t(locale, "h.recent") + "\n" + "\n".join(activity_text(locale, a) for a in v.activities)))
    return Card(title=t(locale, "account.title", name=short(v.name, NAME_MAX)), locale=locale, fields=tuple(fields),
                blocks=tuple(blocks), kind="account")


def account_buttons_card(locale: str, v: AccountView) -> Card:
    """The account's open buttons: up to three deals, a ticket, the contract, the first contact."""
    refs = [d.ref for d in v.deals[:3]] + [x.ref for x in v.tickets[:1]] + ([v.contract.ref] if v.contract else [])
    contact_buttons = [Button(t(locale, "btn.contact"), "contact.open", str(c.contact_id)) for c in v.contacts[:1]]
    return _related(locale, _open_buttons(locale, refs, contact_buttons))


def _related(locale: str, buttons: Sequence[Button]) -> Card:
    """The buttons of an overview ride on a small card of their own: on WeCom a card with buttons is a template
    card whose text WeCom cuts at 160 characters, so the overview itself goes as markdown, whole. A card with no
    button is not sent (glance_reply_cards)."""
    return Card(title=t(locale, "related.title"), locale=locale, buttons=tuple(buttons), kind="related")


def glance_reply_cards(overview: Card, buttons: Card) -> tuple[Card, ...]:
    return (overview, buttons) if buttons.buttons else (overview,)


def contact_card(locale: str, v: ContactView) -> Card:
    fields = [Field(t(locale, "f.account"), short(v.account, NAME_MAX)),
              Field(t(locale, "f.account_owner"), v.account_owner)]
    if v.email:
        fields.append(Field(t(locale, "f.email"), v.email))
    if v.phone:
        fields.append(Field(t(locale, "f.phone"), v.phone))
    blocks: list[Section | Context] = [
        _heading(locale, "h.contact_deals", [deal_row_text(locale, d, with_owner=True) for d in v.deals]),
    ]
    if v.leads:
        blocks.append(_heading(locale, "h.leads", [f"{x.ref} · {x.name} · {x.status}" for x in v.leads]))
    if v.activities:
        blocks.append(Context(t(locale, "h.recent") + "\n" + "\n".join(activity_text(locale, a) for a in v.activities)))
    return Card(title=t(locale, "contact.title", name=short(v.name, NAME_MAX)), locale=locale, fields=tuple(fields),
                blocks=tuple(blocks), kind="contact")


def contact_buttons_card(locale: str, v: ContactView) -> Card:
    """The contact's open buttons: their account, up to three deals, a lead."""
    account_button = Button(t(locale, "btn.account"), "account.open", str(v.account_id))
    refs = [d.ref for d in v.deals[:3]] + [x.ref for x in v.leads[:1]]
    return _related(locale, (account_button, *_open_buttons(locale, refs)[:MAX_BUTTONS - 1]))


def pick_card(locale: str, what: str, text: str, choices: Sequence[Button], *, more: bool) -> Card:
    """Several records match: one button per record (at most five), numbered as in the list above them."""
    shown = choices[:MAX_PICK]
    lines = [f"{i}. {b.label}" for i, b in enumerate(shown, 1)]
    blocks: list[Section | Context] = [Section("\n".join(lines))]
    if more or len(choices) > MAX_PICK:
        blocks.append(Context(t(locale, "pick.more")))
    return Card(title=t(locale, "pick.account" if what == "account" else "pick.contact", text=short(text, 40)),
                locale=locale, blocks=tuple(blocks),
                buttons=tuple(Button(short(b.label, 30), b.action, b.value) for b in shown), kind="pick")
