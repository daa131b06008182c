"""Buttons on cards and the "Log to CRM" message shortcut.

Every button of every card is handled here: the action id (from cards/render/slack.py, decoded with
`action_name`) names the registered use case and the value is the opaque record reference the handler
re-checks. A reply that asks for a form (Reply.form) opens the matching modal instead of a message.
Where Slack gives a response_url the answer is ephemeral there; on the Home tab (no response_url) it
comes as a DM from the app and the Home tab is refreshed.
"""
from __future__ import annotations

import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.context import SlackContext, guarded, idempotency_key, message_for, respond_with, send_attachments
from bot.slack.home import publish_home
from bot.slack.modals import LOG_MESSAGE, Meta, deals_for_picker, log_message_view, open_form
from cards.render.slack import action_name
from handlers.invocation import Invocation

# Where a form can be shown, "Advance stage" asks for the missing fields instead of refusing.
SLACK_ACTIONS = {"deal.advance": "form.advance"}
ANY_ACTION = re.compile(r".*")  # every block action is acknowledged, even one with an empty action_id


def register(app: App, ctx: SlackContext) -> None:
    @app.block_action(ANY_ACTION)
    def on_button(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: WebClient,
                  context: Any) -> None:
        ack()
        ctx.defer(run_button, ack=ack, body=body, action=action, respond=respond, client=client, context=context)

    @guarded("button")
    def run_button(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: WebClient,
                   context: Any) -> None:
        surface = (body.get("view") or {}).get("type")
        if surface == "modal":
            return  # our modals dispatch no block actions; the submission carries the state
        user = body["user"]
        actor = ctx.actor_id(client, user["id"], user.get("name") or user.get("username"), body=body)
        locale = ctx.locale(actor)
        name = action_name(str(action.get("action_id", "")))
        value = str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        inv = Invocation(actor_id=actor, kind="action", name=SLACK_ACTIONS.get(name, name), args={"value": value},
                         platform="slack", conversation=channel,
                         idempotency_key=idempotency_key("action", body, user["id"]))
        reply = ctx.run(inv)
        meta = Meta(ref=str((reply.form or {}).get("ref", value.split(":")[0])), locale=locale,
                    response_url=body.get("response_url"), channel=channel)
        if reply.form and open_form(client, body.get("trigger_id"), reply.form, meta, ctx):
            return
        if body.get("response_url"):
            respond_with(respond, reply, locale)
        else:
            msg = message_for(reply, locale)
            client.chat_postMessage(channel=user["id"], text=msg["text"], blocks=msg["blocks"])
        send_attachments(client, user["id"], reply)
        if surface == "home":
            publish_home(ctx, client, user["id"], actor)

    @app.shortcut(LOG_MESSAGE)
    @guarded("shortcut")
    def on_log_message(ack: Any, body: dict[str, Any], client: WebClient, respond: Any, context: Any) -> None:
        ack()
        user = body["user"]
        actor = ctx.actor_id(client, user["id"], user.get("name") or user.get("username"), body=body)
        message = body.get("message") or {}
        channel = body.get("channel") or {}
        meta = Meta(ref="", locale=ctx.locale(actor), response_url=body.get("response_url"), channel=channel.get("id"),
                    message_ts=message.get("ts") or body.get("message_ts"))
        view = log_message_view(meta, deals_for_picker(ctx, actor), str(message.get("text") or ""), channel.get("name"))
        client.views_open(trigger_id=body["trigger_id"], view=view)
