"""Quote, approval, order and payment cards, and the quote document (HTML)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from cards.documents.quote_pdf import can_render, pdf_filename, render_quote_pdf
from cards.i18n import translator
from cards.model import Attachment, Button, Card, Context, Field, Section
from cards.templates import render

log = logging.getLogger("chatcrm.documents")

CATALOG = {
    "quote.title": {"en": "Quote {ref} · {deal} {deal_name} (v{version})",
                    "zh_CN": "报价 {ref} · {deal} {deal_name}（第 {version} 版）"},
    "quote.created": {"en": "Quote {ref} created (version {version} of {deal}).",
                      "zh_CN": "已创建报价 {ref}（{deal} 第 {version} 版）。"},
    "quote.supersedes": {"en": "It supersedes {old}.", "zh_CN": "已取代上一版 {old}。"},
    "quote.auto_approved": {"en": "Discount within your authority: approved at once.",
                            "zh_CN": "折扣在你的权限内，已直接批准。"},
    "quote.needs_approval": {"en": "A {discount}% discount needs approval: {ref} now waits for {approver} ({role}).",
                             "zh_CN": "{discount}% 的折扣需要审批：{ref} 正在等待 {approver}（{role}）审批。"},
    "quote.document": {"en": "Quote document: {filename}", "zh_CN": "报价单文件：{filename}"},
    "quote.how_to": {"en": "Quote {deal}", "zh_CN": "为 {deal} 报价"},
    "quote.how_to.body": {"en": "Type: quote {deal} {example} discount=<percent>\nProducts:\n{products}",
                          "zh_CN": "请输入：报价 {deal} {example} discount=<折扣百分比>\n可选产品：\n{products}"},
    "quote.superseded_by": {"en": "Superseded by {ref}.", "zh_CN": "已被 {ref} 取代。"},
    "quote.ordered": {"en": "Ordered: {invoice}", "zh_CN": "已下单：{invoice}"},
    "f.status": {"en": "Status", "zh_CN": "状态"},
    "f.total": {"en": "Total", "zh_CN": "总计"},
    "f.subtotal": {"en": "Subtotal", "zh_CN": "小计"},
    "f.discount": {"en": "Discount", "zh_CN": "折扣"},
    "f.tax": {"en": "Tax", "zh_CN": "税"},
    "f.account": {"en": "Account", "zh_CN": "客户"},
    "f.owner": {"en": "Owner", "zh_CN": "负责人"},
    "f.requester": {"en": "Requested by", "zh_CN": "申请人"},
    "f.level": {"en": "Level", "zh_CN": "级别"},
    "f.deal": {"en": "Deal", "zh_CN": "商机"},
    "f.quote": {"en": "Quote", "zh_CN": "报价"},
    "f.invoice": {"en": "Invoice", "zh_CN": "发票号"},
    "f.amount": {"en": "Amount", "zh_CN": "金额"},
    "f.paid": {"en": "Paid", "zh_CN": "已付"},
    "f.outstanding": {"en": "Outstanding", "zh_CN": "待付"},
    "f.due": {"en": "Due", "zh_CN": "到期日"},
    "f.approval": {"en": "Approval", "zh_CN": "审批"},
    "status.pending": {"en": "waiting for approval", "zh_CN": "待审批"},
    "status.approved": {"en": "approved", "zh_CN": "已批准"},
    "status.rejected": {"en": "rejected", "zh_CN": "已驳回"},
    "status.cancelled": {"en": "cancelled (superseded)", "zh_CN": "已取消（报价已更新）"},
    "status.superseded": {"en": "superseded", "zh_CN": "已取代"},
    "status.unpaid": {"en": "unpaid", "zh_CN": "未付款"},
    "status.partially_paid": {"en": "partially paid", "zh_CN": "部分付款"},
    "status.paid": {"en": "paid", "zh_CN": "已付清"},
    "status.overdue": {"en": "overdue", "zh_CN": "已逾期"},
    "step.waiting": {"en": "waiting", "zh_CN": "未开始"},
    "step.pending": {"en": "pending", "zh_CN": "审批中"},
    "step.approved": {"en": "approved", "zh_CN": "已批准"},
    "step.rejected": {"en": "rejected", "zh_CN": "已驳回"},
    "step.cancelled": {"en": "cancelled", "zh_CN": "已取消"},
    "step.line": {"en": "{level}. {role} — {approver}: {status}", "zh_CN": "{level}. {role} — {approver}：{status}"},
    "step.decided": {"en": " by {who} at {at}", "zh_CN": "（{who}，{at}）"},
    "role.manager": {"en": "manager", "zh_CN": "经理"},
    "role.director": {"en": "director", "zh_CN": "总监"},
    "role.vp": {"en": "VP", "zh_CN": "副总裁"},
    "role.admin": {"en": "admin", "zh_CN": "管理员"},
    "role.rep": {"en": "rep", "zh_CN": "销售"},
    "btn.order": {"en": "Create order", "zh_CN": "生成订单"},
    "btn.approve": {"en": "Approve", "zh_CN": "批准"},
    "btn.reject": {"en": "Reject", "zh_CN": "驳回"},
    "approval.title": {"en": "Approval {ref} · {quote} · {discount}% off", "zh_CN": "审批 {ref} · {quote} · 折扣 {discount}%"},
    "approval.ask": {"en": "{requester} asks you to approve a {discount}% discount on {deal} (level {level} of {levels}, {role}).",
                     "zh_CN": "{requester} 请你审批 {deal} 的 {discount}% 折扣（第 {level}/{levels} 级，{role}）。"},
    "approval.level": {"en": "{level} of {levels} ({role})", "zh_CN": "第 {level}/{levels} 级（{role}）"},
    "approval.you_approved": {"en": "You approved level {level} of {ref}.", "zh_CN": "你已批准 {ref} 的第 {level} 级。"},
    "approval.next": {"en": "It now waits for {approver} ({role}).", "zh_CN": "现在等待 {approver}（{role}）审批。"},
    "approval.done": {"en": "{ref} is fully approved: {quote} is approved.", "zh_CN": "{ref} 已全部批准：{quote} 已批准。"},
    "approval.you_rejected": {"en": "You rejected {ref}: {reason}", "zh_CN": "你已驳回 {ref}：{reason}"},
    "approval.decided_by": {"en": "{decision} by {who} at {at}.", "zh_CN": "{who} 于 {at} {decision}。"},
    "approval.superseded": {"en": "Nothing to decide: {quote} was superseded by {new}.",
                            "zh_CN": "无需处理：{quote} 已被 {new} 取代。"},
    "approval.step_approved": {"en": "{ref}: level {level} ({role}) approved by {who}.",
                               "zh_CN": "{ref}：第 {level} 级（{role}）已由 {who} 批准。"},
    "approval.step_rejected": {"en": "{ref}: rejected by {who} — {reason}", "zh_CN": "{ref}：已被 {who} 驳回——{reason}"},
    "approval.quote_approved": {"en": "{quote} is approved. Turn it into an order: order {quote}",
                                "zh_CN": "{quote} 已批准。生成订单：订单 {quote}"},
    "approval.quote_rejected": {"en": "{quote} was rejected. Quote again with: quote {deal} <sku>x<qty>…",
                                "zh_CN": "{quote} 已被驳回。重新报价：报价 {deal} <产品>x<数量>…"},
    "approval.requested_swarm": {"en": "{quote} ({discount}% off, {total}) needs approval: {ref} waits for {approver}.",
                                 "zh_CN": "{quote}（折扣 {discount}%，{total}）需要审批：{ref} 等待 {approver}。"},
    "approval.reject_how": {"en": "Reject {ref}", "zh_CN": "驳回 {ref}"},
    "approval.reject_how.body": {"en": "Type: reject {ref} <reason> (the reason is sent to {requester}).",
                                 "zh_CN": "请输入：驳回 {ref} <原因>（原因会发送给 {requester}）。"},
    "approval.mine.title": {"en": "Approvals waiting on me", "zh_CN": "待我审批"},
    "approval.withdrawn": {"en": "Withdrawn: {deal} was {status}, so {ref} needs no decision any more.",
                           "zh_CN": "已撤回：{deal} 已{status}，{ref} 无需再审批。"},
    "deal.won": {"en": "won", "zh_CN": "赢单"},
    "deal.lost": {"en": "lost", "zh_CN": "输单"},
    "status.withdrawn": {"en": "withdrawn (deal closed)", "zh_CN": "已撤回（商机已关闭）"},
    "btn.use_total": {"en": "Use quote total {total} as deal amount", "zh_CN": "用报价总额 {total} 作为商机金额"},
    "f.overpaid": {"en": "⚠ Overpaid", "zh_CN": "⚠ 多付"},
    "order.flag.overpaid": {"en": "⚠ {amount} received beyond the invoice total: check with the customer "
                                  "(refund or credit).",
                            "zh_CN": "⚠ 收款超出发票金额 {amount}：请与客户核对（退款或抵扣）。"},
    "order.flag.cancelled_order": {"en": "⚠ {amount} received for a cancelled order: check with the customer "
                                          "(refund or credit).",
                                   "zh_CN": "⚠ 已取消的订单收到 {amount}：请与客户核对（退款或抵扣）。"},
    "status.cancelled_order": {"en": "cancelled", "zh_CN": "已取消"},
    "payment.flag.title": {"en": "⚠ Payment flagged · {invoice}", "zh_CN": "⚠ 付款异常 · {invoice}"},
    "decision.approved": {"en": "Approved", "zh_CN": "批准"},
    "decision.rejected": {"en": "Rejected", "zh_CN": "驳回"},
    "order.title": {"en": "Order {invoice} · {deal} {deal_name}", "zh_CN": "订单 {invoice} · {deal} {deal_name}"},
    "order.created": {"en": "Order created from {quote}. Payment due {due}.",
                      "zh_CN": "已根据 {quote} 生成订单，付款截止 {due}。"},
    "order.for_finance": {"en": "New order {invoice} for {account}: {amount}, due {due}.",
                          "zh_CN": "新订单 {invoice}（{account}）：{amount}，付款截止 {due}。"},
    "payment.title": {"en": "Payment received · {invoice}", "zh_CN": "收到付款 · {invoice}"},
    "payment.body": {"en": "{amount} received for {invoice} ({account}). Paid {paid} of {total}: {status}.",
                     "zh_CN": "{invoice}（{account}）收到 {amount}。已付 {paid} / {total}：{status}。"},
}
t = translator(CATALOG)


def role_label(locale: str, role: str) -> str:
    return t(locale, f"role.{role}")


@dataclass(frozen=True)
class QuoteLineView:
    sku: str
    name: str
    quantity: int
    unit_price: str
    line_total: str


@dataclass(frozen=True)
class StepView:
    level: int
    role: str
    approver: str
    status: str
    decided_by: str | None = None
    decided_at: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class QuoteView:
    ref: str
    version: int
    deal_ref: str
    deal_name: str
    account: str
    owner: str
    company: str
    status: str  # pending | approved | rejected
    created_on: str
    currency: str
    lines: Sequence[QuoteLineView]
    subtotal: str
    discount_pct: str
    discount_amount: str
    tax_rate_pct: str
    tax_amount: str
    total: str
    superseded_by: str | None = None
    is_latest: bool = True
    approval_ref: str | None = None
    steps: Sequence[StepView] = ()
    invoice_no: str | None = None
    deal_amount_differs: bool = False  # an approved quote proposes its total as the (open) deal's amount
    order_flag: str | None = None  # overpaid | cancelled_order: its order received money it should not have
    order_overpaid: str | None = None


def step_line(locale: str, s: StepView) -> str:
    line = t(locale, "step.line", level=s.level, role=role_label(locale, s.role), approver=s.approver,
             status=t(locale, f"step.{s.status}"))
    if s.decided_by and s.decided_at:
        line += t(locale, "step.decided", who=s.decided_by, at=s.decided_at)
    if s.comment:
        line += f" — {s.comment}"
    return line


def quote_card(locale: str, v: QuoteView, *, notes: Sequence[str] = ()) -> Card:
    status = t(locale, f"status.{v.status}") if v.is_latest else t(locale, "status.superseded")
    fields = [Field(t(locale, "f.status"), status), Field(t(locale, "f.total"), v.total),
              Field(t(locale, "f.subtotal"), v.subtotal),
              Field(t(locale, "f.discount"), f"{v.discount_pct}% (−{v.discount_amount})"),
              Field(t(locale, "f.tax"), f"{v.tax_rate_pct}% ({v.tax_amount})"),
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
    html = render(locale, "quote.html.j2", q=v)
    return Attachment(filename=quote_filename(v), content_type="text/html; charset=utf-8", content=html)


def quote_documents(locale: str, v: QuoteView, *, payment_terms_days: int = 30) -> tuple[Attachment, ...]:
    """The HTML document and, beside it, the same quote as a print-ready PDF. A PDF that cannot be made
    (no CJK font for Chinese text, a rendering failure) is left out with a log line; the HTML always goes."""
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
              Field(t(locale, "f.discount"), f"{v.discount_pct}% (−{q.discount_amount})"),
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
