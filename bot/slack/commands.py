"""`/crm <text>`: the whole chat grammar, answered ephemerally with Block Kit.

The request is first written to the inbox (bot/slack/inbox.py); the command then runs through the shared
runner on the work queue. Done within CHATCRM_SLACK_REPLY_WITHIN (1 s): the answer is the HTTP response
itself; slower: an empty ack when the budget runs out, and the answer through the command's `response_url`
(bot/slack/answer.py). If the process dies after the ack, recovery redoes the work (or only the delivery) —
exactly once. The text reaches
the grammar exactly as typed (see app.bolt_request for the one Bolt parsing trap this needed).
"""
from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack import inbox as slack_inbox
from bot.slack.context import SlackContext, guarded

COMMAND = "/crm"


def register(app: App, ctx: SlackContext) -> None:
    @app.command(COMMAND)
    @guarded("/crm")
    def on_crm(ack: Any, body: dict[str, Any], respond: Any, client: WebClient, context: Any) -> None:
        slack_inbox.take_request(ctx, ack, slack_inbox.COMMAND, slack_inbox.command_key(body), body,
                                 user_id=str(body.get("user_id", "")), team=body.get("team_id"), client=client,
                                 respond=respond)
