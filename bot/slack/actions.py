"""Buttons on cards and the "Log to CRM" message shortcut.

Every button of every card is handled here: the action id (from cards/render/slack.py, decoded with
`action_name`) names the registered use case and the value is the opaque record reference the handler
re-checks. A reply that asks for a form (Reply.form) opens the matching modal instead of a message.
Where Slack gives a response_url the answer is ephemeral there; on the Home tab (no response_url) it
comes as a DM from the app and the Home tab is refreshed. A click is written to the inbox before it is
acked and worked on after (bot/slack/inbox.py), so a process that dies in between loses nothing.
"""
from __future__ import annotations

import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack import inbox as slack_inbox
from bot.slack.context import SlackContext, guarded
from bot.slack.modals import LOG_MESSAGE, Meta, deals_for_picker, log_message_view

ANY_ACTION = re.compile(r".*")  # every block action is acknowledged, even one with an empty action_id


def register(app: App, ctx: SlackContext) -> None:
    @app.block_action(ANY_ACTION)
    @guarded("button")
    def on_button(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: WebClient,
                  context: Any) -> None:
        # Recorded in the inbox before the ack (bot/slack/inbox.py); the work and the reply follow it, the
        # reply through the response_url as soon as the work is done (Slack shows nothing of a click's ack).
        user = body.get("user") or {}
        slack_inbox.take_request(ctx, ack, slack_inbox.ACTION, slack_inbox.action_key(body), body,
                                 user_id=str(user.get("id", "")), team=(body.get("team") or {}).get("id"),
                                 client=client, respond=respond)

    @app.shortcut(LOG_MESSAGE)
    @guarded("shortcut")
    def on_log_message(ack: Any, body: dict[str, Any], client: WebClient, respond: Any, context: Any) -> None:
        ack()  # the HTTP response leaves when this listener returns: the picker opens off the request thread
        ctx.defer(guarded("shortcut")(_open_log_picker), body=body, client=client, respond=respond, context=context)

    def _open_log_picker(body: dict[str, Any], client: WebClient, respond: Any, context: Any) -> None:
        user = body["user"]
        actor = ctx.actor_id(client, user["id"], user.get("name") or user.get("username"), body=body)
        message = body.get("message") or {}
        channel = body.get("channel") or {}
        locale, deals = deals_for_picker(ctx, actor)
        meta = Meta(ref="", locale=locale, response_url=body.get("response_url"), channel=channel.get("id"),
                    message_ts=message.get("ts") or body.get("message_ts"))
        view = log_message_view(meta, deals, str(message.get("text") or ""), channel.get("name"))
        client.views_open(trigger_id=body["trigger_id"], view=view)
