"""Slack modals, the Bolt side: open the view a reply asked for, check a submission, run it, deliver the result.
The views themselves are built in cards/render/slack_modals.py, their text is cards/builders/modals.py.

A submission is checked field by field first (a bad value comes back as `response_action: errors` on
that field); then it runs through the shared runner as ONE invocation whose idempotency key is the
view id (a modal applies once), before the ack, so a refusal (not yours, already decided, ...) is shown
in the modal itself. On success the modal closes and the result card goes where the person clicked:
the original `response_url` when there was one, else a DM from the app.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.slack.context import SlackContext, error_text, guarded, message_for, send_attachments
from cards.builders.modals import t
from cards.format import money as format_money
from cards.model import Reply
from cards.render.slack_modals import (
    ADVANCE,
    LOG,
    LOG_MESSAGE,
    MAX_OPTIONS,
    NEW_CONTACT,
    QUOTE,
    RECORD_PICKER,
    REJECT,
    VALUE,
    Meta,
    advance_view,
    log_message_view,
    log_view,
    picker_option,
    quote_view,
    reject_view,
)
from crm_core.config import Config
from cards.errors import error_text as domain_error_text
from crm_core.errors import DomainError
from crm_core.models import User
from crm_core.queries.lookup import find
from crm_core.refs import parse_ref
from crm_core.services.deals import list_deals, parse_date
from crm_core.services.money import parse_money
from crm_core.services.quotes import parse_discount
from crm_core.services.users import locale_of
from handlers.invocation import Invocation

_log = logging.getLogger("chatcrm.slack.modals")


# --- opening a form a reply asked for -------------------------------------------------------------------

def view_for_form(form: dict[str, Any], meta: Meta, ctx: SlackContext) -> dict[str, Any] | None:
    kind = form.get("type")
    if kind == "log":
        return log_view(meta)
    if kind == "advance":
        return advance_view(Meta(**{**asdict(meta), "stage": form.get("stage")}), str(form.get("stage_name", "")),
                            [str(f) for f in form.get("fields", [])], ctx.wiring.config)
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

def _element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The submitted state of a block's one element (action id VALUE); empty when the block is not there."""
    return ((view.get("state") or {}).get("values") or {}).get(block_id, {}).get(VALUE) or {}


def state_value(view: dict[str, Any], block_id: str) -> str | None:
    element = _element(view, block_id)
    if element.get("selected_option"):
        return str(element["selected_option"].get("value"))
    for key in ("selected_date", "value"):
        if element.get(key) is not None:
            return str(element[key])
    return None


def ticked(view: dict[str, Any], block_id: str) -> bool:
    """A checkboxes block's "yes" option is ticked (Slack sends `selected_options`, empty when none is)."""
    return any(o.get("value") == "yes" for o in _element(view, block_id).get("selected_options") or [])


def field_blocks(view: dict[str, Any]) -> list[str]:
    return [b for b in ((view.get("state") or {}).get("values") or {}) if b.startswith("field:")]


def error_block(view: dict[str, Any], reply: Reply) -> str:
    """Where a form shows a refusal: beside the field it is about, else at the form's first field."""
    blocks = field_blocks(view) or ["text"]
    own = f"field:{reply.field}"
    return own if own in blocks else blocks[0]


class Invalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _domain_message(exc: DomainError, locale: str) -> str:
    return domain_error_text(exc, locale)[:600]


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
    if ticked(view, NEW_CONTACT):
        values["new_contact"] = "yes"
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

    @app.options({"block_id": RECORD_PICKER, "action_id": VALUE})
    @guarded("options")
    def on_pick_options(ack: Any, body: dict[str, Any], payload: dict[str, Any], client: WebClient) -> None:
        """The deal picker's type-ahead: what the person typed so far, through the one resolver."""
        user = body.get("user") or {}
        actor = ctx.actor_id(client, user["id"], user.get("name") or user.get("username"), body=body)
        ack(options=deal_options(ctx, actor, str(payload.get("value") or "")))

    @app.view(re.compile("^(" + "|".join(re.escape(callback) for callback in builders) + ")$"))
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
            block = MAIN_BLOCK[callback] or error_block(view, reply)
            ack(response_action="errors", errors={block: problem})
            return
        ack()  # the modal closes when this listener returns: the result is shown off the request thread
        ctx.defer(_show_result, client=client, slack_user_id=user["id"], meta=meta, reply=reply,
                  locale=reply.locale or ctx.locale(actor))


def _show_result(client: WebClient, slack_user_id: str, meta: Meta, reply: Reply, locale: str) -> None:
    try:
        deliver(client, slack_user_id, meta, reply, locale)
        send_attachments(client, slack_user_id, reply)
    except Exception:  # noqa: BLE001 - the change is saved; only showing it failed
        _log.exception("slack: could not show the result of a modal to %s", slack_user_id)


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


def deal_options(ctx: SlackContext, actor_id: int, typed: str) -> list[dict[str, Any]]:
    """Options for the deal picker: the deals matching what was typed (crm_core.queries.lookup, permission
    filtered, ranked), or the person's recent open deals before anything is typed."""
    if not typed.strip():
        return [picker_option(f"{ref} · {name}", ref) for ref, name in deals_for_picker(ctx, actor_id)[1]]
    with ctx.runner.uow(read_only=True) as uow:
        actor = uow.session.get(User, actor_id)
        if actor is None:
            return []
        hits = find(uow.session, actor, typed, ("deal",), limit=MAX_OPTIONS)
        return [picker_option(" · ".join(x for x in (h.ref or "", h.name, h.detail) if x), h.ref or "")
                for h in hits]


__all__ = ["Meta", "deal_options", "open_form", "register", "deliver", "deals_for_picker", "log_message_view"]
