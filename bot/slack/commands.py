"""`/crm <text>`: the whole chat grammar, answered ephemerally with Block Kit.

The request is acked at once (empty 200, inside Slack's 3 s); the command then runs through the shared
runner and the reply goes to the command's `response_url`. The text reaches the grammar exactly as
typed (see app.bolt_request for the one Bolt parsing trap this needed).
"""
from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.context import SlackContext, guarded, idempotency_key, respond_with, send_attachments
from bot.slack.modals import Meta, open_form

COMMAND = "/crm"


def register(app: App, ctx: SlackContext) -> None:
    @app.command(COMMAND)
    def on_crm(ack: Any, body: dict[str, Any], respond: Any, client: WebClient, context: Any) -> None:
        ack()
        ctx.defer(run_crm, ack=ack, body=body, respond=respond, client=client, context=context)

    @guarded("/crm")
    def run_crm(ack: Any, body: dict[str, Any], respond: Any, client: WebClient, context: Any) -> None:
        actor = ctx.actor_id(client, body["user_id"], body.get("user_name"), body=body)
        key = idempotency_key("cmd", body, body["user_id"])
        reply = ctx.runner.run_text(actor, body.get("text", ""), platform="slack",
                                    conversation=body.get("channel_id"), idempotency_key=key)
        locale = ctx.locale(actor)
        if reply.form:
            meta = Meta(ref=str(reply.form.get("ref", "")), locale=locale, response_url=body.get("response_url"),
                        channel=body.get("channel_id"))
            if open_form(client, body.get("trigger_id"), reply.form, meta, ctx):
                return
        respond_with(respond, reply, locale)
        send_attachments(client, body["user_id"], reply)
