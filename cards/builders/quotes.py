"""Quote, approval, order and payment cards, and the quote document (HTML)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cards.documents.quote_pdf import can_render, pdf_filename, render_quote_pdf
from cards.documents.quote_view import ProductNames, QuoteLineView, QuoteView, StepView
from cards.i18n import base_locale, translator
from cards.model import Attachment, Button, Card, Context, Field, Section
from cards.templates import render

log = logging.getLogger("chatcrm.documents")

t = translator("quotes")


def role_label(locale: str, role: str) -> str:
    return t(locale, f"role.{role}")


def step_line(locale: str, s: StepView) -> str:
    line = t(locale, "step.line", level=s.level, role=role_label(locale, s.role), approver=s.approver,
             status=t(locale, f"step.{s.status}"))
    if s.decided_by and s.decided_at:
        line += t(locale, "step.decided", who=s.decided_by, at=s.decided_at)
    if s.comment:
        line += f" — {s.comment}"
    return line


def in_language(locale: str, v: QuoteView) -> QuoteView:
    """The view with each line named in the reader's language, where the product has a name in each."""
    if not any(ln.local for ln in v.lines):
        return v
    return replace(v, lines=tuple(replace(ln, name=str(getattr(ln.local, base_locale(locale)))) if ln.local else ln
                                  for ln in v.lines))


def quote_card(locale: str, v: QuoteView, *, notes: Sequence[str] = ()) -> Card:
    v = in_language(locale, v)
    status = t(locale, f"status.{v.status}") if v.is_latest else t(locale, "status.superseded")
    fields = [Field(t(locale, "f.status"), status), Field(t(locale, "f.total"), v.total),
              Field(t(locale, "f.subtotal"), v.subtotal),
              Field(t(locale, "f.discount"), t(locale, "pct_amount", pct=v.discount_pct, amount=f"−{v.discount_amount}")),
              Field(t(locale, "f.tax"), t(locale, "pct_amount", pct=v.tax_rate_pct, amount=v.tax_amount)),
              Field(t(locale, "f.account"), v.account), Field(t(locale, "f.owner"), v.owner)]
    if v.invoice_no:
        fields.append(Field(t(locale, "f.invoice"), v.invoice_no))
    blocks: list[Section | Context] = [Section(n) for n in notes]
    blocks.append(Section("\n".join(f"{ln.sku} {ln.name} × {ln.quantity} @ {ln.unit_price} = {ln.line_total}"
                                    for ln in v.lines)))
    if v.steps:
        blocks.append(Context(f"{t(locale, 'f.approval')} {v.approval_ref}: "
                              + " · ".join(step_line(locale, s) for s in v.steps)))
    if v.superseded_by:
        blocks.append(Context(t(locale, "quote.superseded_by", ref=v.superseded_by)))
    if v.order_flag and v.order_overpaid:
        blocks.append(Context(f"{v.invoice_no}: " + t(locale, f"order.flag.{v.order_flag}", amount=v.order_overpaid)))
    buttons: tuple[Button, ...] = ()
    if v.status == "approved" and v.is_latest and not v.invoice_no:
        buttons = (Button(t(locale, "btn.order"), "quote.order", v.ref, "primary"),)
    if v.status == "approved" and v.is_latest and v.deal_amount_differs:
        buttons += (Button(t(locale, "btn.use_total", total=v.total), "deal.amount_from_quote", v.ref),)
    return Card(title=t(locale, "quote.title", ref=v.ref, deal=v.deal_ref, deal_name=v.deal_name, version=v.version),
                locale=locale, fields=tuple(fields), blocks=tuple(blocks), buttons=buttons, kind="quote", ref=v.ref)


def quote_filename(v: QuoteView) -> str:
    return f"quote-{v.ref}-{v.deal_ref}-v{v.version}.html"


def quote_document(locale: str, v: QuoteView) -> Attachment:
    html = render(locale, "quote.html.j2", q=in_language(locale, v))
    return Attachment(filename=quote_filename(v), content_type="text/html; charset=utf-8", content=html)


def quote_documents(locale: str, v: QuoteView, *, payment_terms_days: int = 30) -> tuple[Attachment, ...]:
    """The HTML document and, beside it, the same quote as a print-ready PDF. A PDF that cannot be made
    (no CJK font for Chinese text, a rendering failure) is left out with a log line; the HTML always goes."""
    v = in_language(locale, v)
    html = quote_document(locale, v)
    if not can_render(locale, v):
        log.warning("quote %s: no PDF (no CJK font installed; see CHATCRM_CJK_FONT), sending the HTML only", v.ref)
        return (html,)
    try:
        pdf = render_quote_pdf(locale, v, payment_terms_days=payment_terms_days)
    except Exception:  # noqa: BLE001 - the quote itself is saved; its PDF is a convenience
        log.exception("quote %s: the PDF could not be rendered; sending the HTML only", v.ref)
        return (html,)
    return (html, Attachment(filename=pdf_filename(v), content_type="application/pdf", content=pdf))


def quote_prompt_card(locale: str, deal_ref: str, example: str, products: Sequence[str]) -> Card:
    body = t(locale, "quote.how_to.body", deal=deal_ref, example=example, products="\n".join(products))
    return Card(title=t(locale, "quote.how_to", deal=deal_ref), locale=locale, blocks=(Section(body),),
                kind="prompt", ref=deal_ref)


@dataclass(frozen=True)
class ApprovalView:
    ref: str
    quote: QuoteView
    requester: str
    discount_pct: str
    status: str  # pending | approved | rejected | cancelled
    level: int  # the step this card is about
    levels: int
    role: str
    approver: str
    steps: Sequence[StepView] = ()


def approval_card(locale: str, v: ApprovalView, *, actionable: bool, notes: Sequence[str] = ()) -> Card:
    """What an approver sees: the quote summary, the chain, and Approve / Reject while it is theirs to decide."""
    q = v.quote
    fields = [Field(t(locale, "f.requester"), v.requester), Field(t(locale, "f.deal"), f"{q.deal_ref} {q.deal_name}"),
              Field(t(locale, "f.account"), q.account), Field(t(locale, "f.total"), q.total),
              Field(t(locale, "f.discount"), t(locale, "pct_amount", pct=v.discount_pct, amount=f"−{q.discount_amount}")),
              Field(t(locale, "f.level"), t(locale, "approval.level", level=v.level, levels=v.levels,
                                            role=role_label(locale, v.role)))]
    blocks: list[Section | Context] = [Section(n) for n in notes]
    blocks.append(Section("\n".join(f"{ln.sku} × {ln.quantity} = {ln.line_total}" for ln in q.lines)))
    if v.steps:
        blocks.append(Context(" · ".join(step_line(locale, s) for s in v.steps)))
    buttons: tuple[Button, ...] = ()
    if actionable:
        buttons = (Button(t(locale, "btn.approve"), "approval.approve", v.ref, "primary"),
                   Button(t(locale, "btn.reject"), "approval.reject", v.ref, "danger"))
    return Card(title=t(locale, "approval.title", ref=v.ref, quote=q.ref, discount=v.discount_pct), locale=locale,
                fields=tuple(fields), blocks=tuple(blocks), buttons=buttons, kind="approval", ref=v.ref)


def line_card(locale: str, text: str, *, ref: str | None = None, kind: str = "update") -> Card:
    """A one-line update (swarm channels, short notices)."""
    return Card(title=text, locale=locale, kind=kind, ref=ref)


@dataclass(frozen=True)
class OrderView:
    invoice_no: str
    quote_ref: str
    deal_ref: str
    deal_name: str
    account: str
    amount: str
    paid: str
    outstanding: str
    status: str
    due_date: str
    overpaid: str | None = None  # money received beyond the invoice total (or for a cancelled order)
    flag: str | None = None  # overpaid | cancelled_order


def _status_label(locale: str, status: str) -> str:
    return t(locale, "status.cancelled_order") if status == "cancelled" else t(locale, f"status.{status}")


def order_flag_line(locale: str, v: OrderView) -> str | None:
    return t(locale, f"order.flag.{v.flag}", amount=v.overpaid) if v.flag and v.overpaid else None


def order_card(locale: str, v: OrderView, *, notes: Sequence[str] = ()) -> Card:
    fields = [Field(t(locale, "f.status"), _status_label(locale, v.status)), Field(t(locale, "f.amount"), v.amount),
              Field(t(locale, "f.paid"), v.paid), Field(t(locale, "f.outstanding"), v.outstanding),
              Field(t(locale, "f.due"), v.due_date), Field(t(locale, "f.quote"), v.quote_ref),
              Field(t(locale, "f.account"), v.account)]
    if v.overpaid:
        fields.append(Field(t(locale, "f.overpaid"), v.overpaid))
    flag = order_flag_line(locale, v)
    blocks = tuple(Section(n) for n in notes) + ((Context(flag),) if flag else ())
    return Card(title=t(locale, "order.title", invoice=v.invoice_no, deal=v.deal_ref, deal_name=v.deal_name),
                locale=locale, fields=tuple(fields), blocks=blocks, kind="order", ref=v.invoice_no)


def payment_card(locale: str, v: OrderView, amount: str, *, flag: str | None = None) -> Card:
    """A payment notice; with `flag` (overpaid | cancelled_order) it says what finance must check."""
    body = t(locale, "payment.body", amount=amount, invoice=v.invoice_no, account=v.account, paid=v.paid,
             total=v.amount, status=_status_label(locale, v.status))
    if flag and v.overpaid:
        body += "\n" + t(locale, f"order.flag.{flag}", amount=v.overpaid)
    title = t(locale, "payment.flag.title" if flag else "payment.title", invoice=v.invoice_no)
    return Card(title=title, locale=locale, blocks=(Section(body),),
                fields=(Field(t(locale, "f.outstanding"), v.outstanding), Field(t(locale, "f.due"), v.due_date)),
                kind="payment", ref=v.invoice_no)
