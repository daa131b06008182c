"""`/crm <text>`: the whole chat grammar, answered ephemerally with Block Kit.

The request is first written to the inbox (bot/slack/inbox.py), then acked (empty 200, inside Slack's 3 s);
the command then runs through the shared runner and the reply goes to the command's `response_url`. If the
process dies after the ack, recovery redoes the work (or only the delivery) — exactly once. The text reaches
the grammar exactly as typed (see app.bolt_request for the one Bolt parsing trap this needed).
"""
from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import crashpoint
from bot.slack import inbox as slack_inbox
from bot.slack.context import SlackContext, guarded

COMMAND = "/crm"


def register(app: App, ctx: SlackContext) -> None:
    @app.command(COMMAND)
    @guarded("/crm")
    def on_crm(ack: Any, body: dict[str, Any], respond: Any, client: WebClient, context: Any) -> None:
        key = slack_inbox.command_key(body)
        new = slack_inbox.accept(ctx, slack_inbox.COMMAND, key, body, user_id=str(body.get("user_id", "")),
                                 team=body.get("team_id"))
        if new and crashpoint.arm(ctx.wiring.settings.chatcrm_test_crash_after_ack):
            ack()  # test only: the process exits once this ack is out, before any work
            return
        ack()
        if new:
            ctx.defer(slack_inbox.run_live, ctx=ctx, key=key, client=client)
        else:
            ctx.defer(slack_inbox.take_over, ctx=ctx, key=key, client=client)
