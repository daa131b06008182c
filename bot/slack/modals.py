"""Slack modals: log activity, advance stage (the target stage's missing fields), new quote, reject with
reason, and "Log to CRM" from a message. Opened with `views.open` and the request's trigger id.

A submission is checked field by field first (a bad value comes back as `response_action: errors` on
that field); then it runs through the shared runner as ONE invocation whose idempotency key is the
view id (a modal applies once), before the ack, so a refusal (not yours, already decided, ...) is shown
in the modal itself. On success the modal closes and the result card goes where the person clicked:
the original `response_url` when there was one, else a DM from the app.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View
from slack_sdk.webhook import WebhookClient

from bot.slack.context import SlackContext, error_text, guarded, message_for, send_attachments
from cards.builders.sales import kind_label
from cards.i18n import translator
from cards.model import Reply
from cards.render.slack import escape_mrkdwn, fit_text
from crm_core.config import Config
from crm_core.errors import DomainError
from crm_core.models import User
from crm_core.refs import parse_ref
from crm_core.services.activities import KINDS
from crm_core.services.deals import list_deals, parse_date
from crm_core.services.money import parse_money
from crm_core.services.quotes import parse_discount
from crm_core.services.users import locale_of
from handlers.invocation import Invocation
from cards.format import money as format_money

LOG = "crm.log"
ADVANCE = "crm.advance"
QUOTE = "crm.quote"
REJECT = "crm.reject"
LOG_MESSAGE = "crm.log_message"  # also the message shortcut's callback id (slack_manifest.yml)
VALUE = "value"  # the action id of every input element
MAX_OPTIONS = 100
_log = logging.getLogger("chatcrm.slack.modals")

CATALOG = {
    "title.log": {"en": "Log activity", "zh_CN": "记录跟进"},
    "title.advance": {"en": "Advance stage", "zh_CN": "推进阶段"},
    "title.quote": {"en": "New quote", "zh_CN": "新建报价"},
    "title.reject": {"en": "Reject", "zh_CN": "驳回审批"},
    "title.log_message": {"en": "Log to CRM", "zh_CN": "记录到 CRM"},
    "submit": {"en": "Save", "zh_CN": "保存"},
    "close": {"en": "Cancel", "zh_CN": "取消"},
    "kind": {"en": "Kind", "zh_CN": "类型"},
    "text": {"en": "What happened", "zh_CN": "内容"},
    "deal": {"en": "Deal", "zh_CN": "商机"},
    "product": {"en": "Product", "zh_CN": "产品"},
    "quantity": {"en": "Quantity", "zh_CN": "数量"},
    "discount": {"en": "Discount %", "zh_CN": "折扣 %"},
    "reason": {"en": "Reason", "zh_CN": "原因"},
    "log.on": {"en": "Log on *{ref}*", "zh_CN": "记录到 *{ref}*"},
    "advance.intro": {"en": "Move *{ref}* to *{stage}*. These fields are needed first:",
                      "zh_CN": "将 *{ref}* 推进到「{stage}」，需先填写以下字段："},
    "quote.intro": {"en": "New quote on *{ref}*. A discount above the approval threshold asks for approval.",
                    "zh_CN": "为 *{ref}* 新建报价。折扣超过审批门槛时会发起审批。"},
    "reject.intro": {"en": "Reject *{ref}*. The requester sees your reason.", "zh_CN": "驳回 *{ref}*，申请人会看到原因。"},
    "log_message.from": {"en": "From a message in {channel}", "zh_CN": "来自 {channel} 的消息"},
    "no_deals.title": {"en": "No open deals", "zh_CN": "没有进行中的商机"},
    "no_deals.text": {"en": "You have no open deal to log this on. Create one with /crm deal new <account> amount=<n>.",
                      "zh_CN": "你还没有可记录的进行中商机。可输入 /crm 商机 新建 <客户> amount=<金额>。"},
    "e.quantity": {"en": "Type a whole number of at least 1, e.g. 10.", "zh_CN": "请填写不小于 1 的整数，例如 10。"},
    "e.discount": {"en": "Type a percentage from 0 to 100, e.g. 15.", "zh_CN": "请填写 0 到 100 之间的百分比，例如 15。"},
    "e.product": {"en": "Choose a product from the list.", "zh_CN": "请从列表中选择产品。"},
    "e.empty": {"en": "This cannot be empty.", "zh_CN": "不能为空。"},
    "e.deal": {"en": "Choose a deal from the list.", "zh_CN": "请从列表中选择商机。"},
    "f.amount": {"en": "Amount", "zh_CN": "金额"},
    "f.close_date": {"en": "Close date", "zh_CN": "预计成交日期"},
    "f.contact": {"en": "Contact", "zh_CN": "联系人"},
    "f.name": {"en": "Deal name", "zh_CN": "商机名称"},
    "f.account": {"en": "Account", "zh_CN": "客户"},
    "hint.amount": {"en": "e.g. 250000, 250,000 or 25万", "zh_CN": "例如 250000、250,000 或 25万"},
}
t = translator(CATALOG)


@dataclass(frozen=True)
class Meta:
    """What a modal remembers between opening and submission (its private_metadata, JSON)."""

    ref: str
    locale: str = "en"
    response_url: str | None = None
    channel: str | None = None
    stage: str | None = None
    message_ts: str | None = None

    def dump(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, ensure_ascii=False)

    @classmethod
    def load(cls, raw: str | None) -> "Meta":
        data = json.loads(raw or "{}")
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


# --- building views -------------------------------------------------------------------------------------

def _view(callback_id: str, title_key: str, meta: Meta, blocks: Sequence[Any], *, submit: bool = True) -> dict[str, Any]:
    loc = meta.locale
    view = View(type="modal", callback_id=callback_id, title=t(loc, title_key),
                submit=t(loc, "submit") if submit else None, close=t(loc, "close"),
                private_metadata=meta.dump(), blocks=list(blocks))
    return view.to_dict()  # slack_sdk validates title, metadata and block limits here


def _intro(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit_text(text, 3000)))


def _option(label: str, value: str) -> Option:
    return Option(text=fit_text(label, 75), value=value[:150])


def _kind_input(locale: str, initial: str) -> InputBlock:
    options = [_option(kind_label(locale, k), k) for k in KINDS]
    return InputBlock(block_id="kind", label=t(locale, "kind"), element=StaticSelectElement(
        action_id=VALUE, options=options, initial_option=options[KINDS.index(initial)]))


def _text_input(locale: str, block_id: str, label_key: str, initial: str | None = None) -> InputBlock:
    return InputBlock(block_id=block_id, label=t(locale, label_key), element=PlainTextInputElement(
        action_id=VALUE, multiline=True, max_length=3000, initial_value=fit_text(initial, 3000) if initial else None))


def log_view(meta: Meta) -> dict[str, Any]:
    loc = meta.locale
    return _view(LOG, "title.log", meta, [_intro(t(loc, "log.on", ref=meta.ref)), _kind_input(loc, "call"),
                                          _text_input(loc, "text", "text")])


def field_label(locale: str, name: str) -> str:
    label = t(locale, f"f.{name}")
    return label if label != f"f.{name}" else name


def advance_view(meta: Meta, stage_name: str, fields: Sequence[str]) -> dict[str, Any]:
    loc = meta.locale
    blocks: list[Any] = [_intro(t(loc, "advance.intro", ref=meta.ref, stage=escape_mrkdwn(stage_name)))]
    for name in fields:
        if name == "close_date":
            element: Any = DatePickerElement(action_id=VALUE)
        else:
            element = PlainTextInputElement(action_id=VALUE, max_length=500,
                                            placeholder=t(loc, "hint.amount") if name == "amount" else None)
        blocks.append(InputBlock(block_id=f"field:{name}", label=fit_text(field_label(loc, name), 2000), element=element))
    return _view(ADVANCE, "title.advance", meta, blocks)


def quote_view(meta: Meta, config: Config, money: Callable[[Decimal], str]) -> dict[str, Any]:
    loc = meta.locale
    options = [_option(f"{p.sku} · {p.name} · {money(p.price)}", p.sku) for p in config.products[:MAX_OPTIONS]]
    blocks = [
        _intro(t(loc, "quote.intro", ref=meta.ref)),
        InputBlock(block_id="product", label=t(loc, "product"),
                   element=StaticSelectElement(action_id=VALUE, options=options)),
        InputBlock(block_id="quantity", label=t(loc, "quantity"),
                   element=NumberInputElement(action_id=VALUE, is_decimal_allowed=False, min_value=1, initial_value=1)),
        InputBlock(block_id="discount", label=t(loc, "discount"), optional=True,
                   element=NumberInputElement(action_id=VALUE, is_decimal_allowed=True, min_value=0, max_value=100)),
    ]
    return _view(QUOTE, "title.quote", meta, blocks)


def reject_view(meta: Meta) -> dict[str, Any]:
    loc = meta.locale
    return _view(REJECT, "title.reject", meta, [_intro(t(loc, "reject.intro", ref=meta.ref)),
                                                _text_input(loc, "reason", "reason")])


def log_message_view(meta: Meta, deals: Sequence[tuple[str, str]], text: str, channel_name: str | None) -> dict[str, Any]:
    loc = meta.locale
    if not deals:
        return _view(LOG_MESSAGE, "title.log_message", meta,
                     [_intro(f"*{t(loc, 'no_deals.title')}*\n{t(loc, 'no_deals.text')}")], submit=False)
    options = [_option(f"{ref} · {name}", ref) for ref, name in deals[:MAX_OPTIONS]]
    blocks: list[Any] = [
        InputBlock(block_id="deal", label=t(loc, "deal"), element=StaticSelectElement(
            action_id=VALUE, options=options, initial_option=options[0] if len(options) == 1 else None)),
        _kind_input(loc, "note"),
        _text_input(loc, "text", "text", initial=text),
    ]
    if channel_name:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=fit_text(t(loc, "log_message.from", channel=escape_mrkdwn(f"#{channel_name}")), 2000))]))
    return _view(LOG_MESSAGE, "title.log_message", meta, blocks)


# --- opening a form a reply asked for -------------------------------------------------------------------

def view_for_form(form: dict[str, Any], meta: Meta, ctx: SlackContext) -> dict[str, Any] | None:
    kind = form.get("type")
    if kind == "log":
        return log_view(meta)
    if kind == "advance":
        return advance_view(Meta(**{**asdict(meta), "stage": form.get("stage")}), str(form.get("stage_name", "")),
                            [str(f) for f in form.get("fields", [])])
    if kind == "quote":
        currency = ctx.wiring.config.company.currency
        return quote_view(meta, ctx.wiring.config, lambda amount: format_money(amount, currency) or "")
    if kind == "reject":
        return reject_view(meta)
    return None


def open_form(client: WebClient, trigger_id: str | None, form: dict[str, Any], meta: Meta, ctx: SlackContext) -> bool:
    """Open the modal a reply asked for; False when there is no such modal (the caller shows the cards)."""
    view = view_for_form(form, meta, ctx)
    if view is None or not trigger_id:
        return False
    client.views_open(trigger_id=trigger_id, view=view)
    return True


# --- reading a submission -------------------------------------------------------------------------------

def state_value(view: dict[str, Any], block_id: str) -> str | None:
    element = ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get(VALUE) or {}
    if element.get("selected_option"):
        return str(element["selected_option"].get("value"))
    for key in ("selected_date", "value"):
        if element.get(key) is not None:
            return str(element[key])
    return None


def field_blocks(view: dict[str, Any]) -> list[str]:
    return [b for b in ((view.get("state") or {}).get("values") or {}) if b.startswith("field:")]


class Invalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _domain_message(exc: DomainError, locale: str) -> str:
    return exc.msg_format(locale)[:600]


def advance_invocation(view: dict[str, Any], meta: Meta, actor_id: int) -> Invocation:
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for block in field_blocks(view):
        name = block.split(":", 1)[1]
        raw = (state_value(view, block) or "").strip()
        try:
            if not raw:
                raise Invalid({block: t(meta.locale, "e.empty")})
            if name == "amount":
                parse_money(raw)
            elif name == "close_date":
                parse_date(raw)
        except DomainError as exc:
            errors[block] = _domain_message(exc, meta.locale)
        except Invalid as exc:
            errors.update(exc.errors)
        values[name] = raw
    if errors:
        raise Invalid(errors)
    return Invocation(actor_id=actor_id, kind="action", name="form.advance",
                      args={"value": meta.ref, "stage": meta.stage}, options=values, platform="slack",
                      conversation=meta.channel, idempotency_key=f"slack:view:{view['id']}")


def log_invocation(view: dict[str, Any], meta: Meta, actor_id: int, *, ref_block: str | None = None) -> Invocation:
    errors: dict[str, str] = {}
    ref_text = state_value(view, ref_block) if ref_block else meta.ref
    ref = parse_ref(ref_text or "", "deal", "lead", "ticket")
    if ref is None:
        errors[ref_block or "text"] = t(meta.locale, "e.deal")
    text = state_value(view, "text") or ""
    if not text.strip():
        errors["text"] = t(meta.locale, "e.empty")
    if errors:
        raise Invalid(errors)
    return Invocation(actor_id=actor_id, kind="command", name="log",
                      args={"record": ref, "kind": state_value(view, "kind") or "note", "text": text},
                      platform="slack", conversation=meta.channel, idempotency_key=f"slack:view:{view['id']}")


def quote_invocation(view: dict[str, Any], meta: Meta, actor_id: int, config: Config) -> Invocation:
    loc = meta.locale
    errors: dict[str, str] = {}
    sku = state_value(view, "product") or ""
    if config.product(sku) is None:
        errors["product"] = t(loc, "e.product")
    raw_qty = (state_value(view, "quantity") or "").strip()
    qty = int(raw_qty) if raw_qty.isdigit() and len(raw_qty) <= 9 else 0
    if qty < 1:
        errors["quantity"] = t(loc, "e.quantity")
    discount = (state_value(view, "discount") or "").strip()
    if discount:
        try:
            parse_discount(discount)
        except DomainError:
            errors["discount"] = t(loc, "e.discount")
    deal = parse_ref(meta.ref, "deal")
    if errors or deal is None:
        raise Invalid(errors or {"product": t(loc, "e.deal")})
    return Invocation(actor_id=actor_id, kind="command", name="quote",
                      args={"deal": deal, "lines": [(sku.upper(), qty)]},
                      options={"discount": discount} if discount else {}, platform="slack",
                      conversation=meta.channel, idempotency_key=f"slack:view:{view['id']}")


def reject_invocation(view: dict[str, Any], meta: Meta, actor_id: int) -> Invocation:
    reason = state_value(view, "reason") or ""
    approval = parse_ref(meta.ref, "approval")
    if not reason.strip() or approval is None:
        raise Invalid({"reason": t(meta.locale, "e.empty")})
    return Invocation(actor_id=actor_id, kind="action", name="approval.reject",
                      args={"value": str(approval), "reason": reason}, platform="slack", conversation=meta.channel,
                      idempotency_key=f"slack:view:{view['id']}")


# --- listeners ------------------------------------------------------------------------------------------

MAIN_BLOCK = {LOG: "text", ADVANCE: None, QUOTE: "product", REJECT: "reason", LOG_MESSAGE: "text"}


def register(app: App, ctx: SlackContext) -> None:
    builders: dict[str, Callable[[dict[str, Any], Meta, int], Invocation]] = {
        LOG: lambda view, meta, actor: log_invocation(view, meta, actor),
        ADVANCE: advance_invocation,
        QUOTE: lambda view, meta, actor: quote_invocation(view, meta, actor, ctx.wiring.config),
        REJECT: reject_invocation,
        LOG_MESSAGE: lambda view, meta, actor: log_invocation(view, meta, actor, ref_block="deal"),
    }

    @app.view(LOG)
    @app.view(ADVANCE)
    @app.view(QUOTE)
    @app.view(REJECT)
    @app.view(LOG_MESSAGE)
    @guarded("view submission")
    def on_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: Any) -> None:
        user = body["user"]
        actor = ctx.actor_id(client, user["id"], user.get("name"), body=body)
        meta = Meta.load(view.get("private_metadata"))
        callback = view["callback_id"]
        try:
            inv = builders[callback](view, meta, actor)
        except Invalid as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        reply = ctx.run(inv)
        problem = error_text(reply)
        if problem is not None:
            block = MAIN_BLOCK[callback] or (field_blocks(view) or ["text"])[0]
            ack(response_action="errors", errors={block: problem})
            return
        ack()
        deliver(client, user["id"], meta, reply, reply.locale or ctx.locale(actor))
        send_attachments(client, user["id"], reply)


def deliver(client: WebClient, slack_user_id: str, meta: Meta, reply: Reply, locale: str) -> None:
    """Show a result after a modal closed: through the original response_url, else as a DM from the app."""
    msg = message_for(reply, locale)
    if meta.response_url:
        resp = WebhookClient(meta.response_url).send(text=msg["text"], blocks=msg["blocks"],
                                                    response_type="ephemeral", replace_original=False)
        if resp.status_code == 200:
            return
        _log.warning("response_url answered %s; sending the result as a DM instead", resp.status_code)
    client.chat_postMessage(channel=slack_user_id, text=msg["text"], blocks=msg["blocks"])


def deals_for_picker(ctx: SlackContext, actor_id: int) -> tuple[str, list[tuple[str, str]]]:
    """The person's language and the open deals they may log on (their own, or their team's for managers):
    one read of the person, in one read-only unit of work."""
    with ctx.runner.uow(read_only=True) as uow:
        actor = uow.session.get(User, actor_id)
        scope = "team" if actor is not None and actor.rank > 0 else "mine"
        return locale_of(actor, ctx.wiring.config), [(d.ref, d.name) for d in list_deals(
            uow, actor, scope=scope, limit=MAX_OPTIONS)]


__all__ = ["Meta", "open_form", "register", "deliver", "deals_for_picker", "log_message_view"]
