"""Lead and deal cards."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from cards.builders.glance import QuoteStateView, TaskView, deal_extra_fields
from cards.i18n import translator

labels_t = translator("labels")  # how a list of field names is joined in the reader's language
from cards.model import Button, Card, Context, Field, Section

t = translator("sales")


@dataclass(frozen=True)
class LeadView:
    ref: str
    name: str
    company: str | None
    email: str | None
    phone: str | None
    owner: str
    score: int
    source: str
    status: str
    respond_by: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # (label, value): region, industry, declared fields, already localised


def lead_card(locale: str, v: LeadView, *, note: str | None = None, notes: Sequence[str] = (),
              extra_buttons: Sequence[Button] = ()) -> Card:
    fields = [Field(t(locale, "f.owner"), v.owner), Field(t(locale, "f.score"), str(v.score)),
              Field(t(locale, "f.status"), t(locale, f"status.{v.status}")),
              Field(t(locale, "f.source"), v.source)]
    for key, value in (("f.company", v.company), ("f.email", v.email), ("f.phone", v.phone),
                       ("f.respond_by", v.respond_by)):
        if value:
            fields.append(Field(t(locale, key), value))
    for label, value in v.extra:
        fields.append(Field(t(locale, f"f.{label}") if f"f.{label}" in t else label, value))
    buttons: tuple[Button, ...] = ()
    if v.status == "open":
        buttons = (Button(t(locale, "btn.convert"), "lead.convert", v.ref, "primary"),
                   Button(t(locale, "btn.log"), "lead.log", v.ref))
    blocks = tuple(Section(n) for n in ((note,) if note else ()) + tuple(notes))
    return Card(title=t(locale, "lead.title", ref=v.ref, name=v.name), locale=locale, fields=tuple(fields),
                blocks=blocks, buttons=buttons + tuple(extra_buttons), kind="lead", ref=v.ref)


def merge_button(locale: str, merged_ref: str, kept_ref: str) -> Button:
    """Merge the new lead into the older one of the same company; the value names both leads, nothing else."""
    return Button(t(locale, "btn.merge_into", ref=kept_ref), "lead.merge", f"{merged_ref}:{kept_ref}")


@dataclass(frozen=True)
class DealView:
    ref: str
    name: str
    stage: str
    status: str
    amount: str | None
    weighted: str | None
    close_date: date | None
    account: str
    contact: str | None
    owner: str
    days_in_stage: int
    custom: dict[str, str] = field(default_factory=dict)
    next_stage: str | None = None
    missing_for_next: Sequence[str] = ()
    recent: Sequence[str] = ()
    has_swarm: bool = False
    stage_key: str = ""  # the stage the card shows; the advance button carries it so a stale click is refused
    account_overpaid: str | None = None  # money the account paid beyond its invoices (flagged for finance)
    quote: QuoteStateView | None = None  # the latest quote version and its approval state
    next_task: TaskView | None = None  # the earliest open task
    swarms: Sequence[str] = ()  # live swarm channels ("#deal-7-acme")


def deal_card(locale: str, v: DealView, *, notes: Sequence[str] = ()) -> Card:
    fields = [Field(t(locale, "f.stage"), v.stage), Field(t(locale, "f.owner"), v.owner),
              Field(t(locale, "f.account"), t(locale, "account.overpaid", account=v.account, amount=v.account_overpaid)
                    if v.account_overpaid else v.account),
              Field(t(locale, "f.amount"), v.amount or "—"), Field(t(locale, "f.weighted"), v.weighted or "—"),
              Field(t(locale, "f.close"), v.close_date.isoformat() if v.close_date else "—"),
              Field(t(locale, "f.in_stage"), t(locale, "days", n=v.days_in_stage))]
    if v.contact:
        fields.append(Field(t(locale, "f.contact"), v.contact))
    if v.custom:
        fields.append(Field(t(locale, "f.fields"), labels_t(locale, "sep").join(f"{k}={val}" for k, val in sorted(v.custom.items()))))
    fields += deal_extra_fields(locale, v.quote, v.next_task, v.swarms)
    if v.next_stage and v.missing_for_next:
        fields.append(Field(t(locale, "f.missing", stage=v.next_stage), labels_t(locale, "sep").join(v.missing_for_next)))
    blocks: list[Section | Context] = [Section(n) for n in notes]
    if v.recent:
        blocks.append(Context(t(locale, "deal.recent", items=" · ".join(v.recent))))
    buttons: tuple[Button, ...] = ()
    if v.status == "open":
        buttons = (Button(t(locale, "btn.log"), "deal.log", v.ref),
                   Button(t(locale, "btn.advance"), "deal.advance", f"{v.ref}:{v.stage_key}" if v.stage_key else v.ref,
                          "primary"),
                   Button(t(locale, "btn.quote"), "deal.quote", v.ref),
                   Button(t(locale, "btn.swarm"), "deal.swarm", v.ref))
    return Card(title=t(locale, "deal.title", ref=v.ref, name=v.name), locale=locale,
                subtitle=t(locale, f"status.{v.status}") if v.status != "open" else None,
                fields=tuple(fields), blocks=tuple(blocks), buttons=buttons, kind="deal", ref=v.ref)


def kind_label(locale: str, kind: str) -> str:
    return t(locale, f"kind.{kind}")
