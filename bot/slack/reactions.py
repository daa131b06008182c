"""📌 on a message in a deal's swarm channel: the message becomes an activity of the deal.

Slack sends `reaction_added` with the channel and the message's ts (not its text): the listener reads the
message (its text escaped as in every Slack message, undone once; conversations.history, the one message at that ts; conversations.replies for a thread reply) and
hands it to the `swarm.pin` use case with an idempotency key of the channel and the ts, so the message is
logged once however many people pin it, and a retried event (also dropped by event_id) changes nothing.
"""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.context import SlackContext, guarded
from bot.slack.escaping import unescape
from crm_core.services.conversation import swarm_deal_id
from handlers.invocation import Invocation

log = logging.getLogger("chatcrm.slack")
PIN_REACTIONS = frozenset({"pushpin", "round_pushpin"})


def permalink(channel: str, ts: str) -> str:
    """Slack's message link form (archives/<channel>/p<ts without the dot>), which opens in the workspace."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def read_message(client: WebClient, channel: str, ts: str) -> dict[str, Any] | None:
    found = client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1).get("messages") or []
    message = next((m for m in found if m.get("ts") == ts), None)
    if message is None:  # a reply in a thread is not in the channel's history
        replies = client.conversations_replies(channel=channel, ts=ts, limit=1).get("messages") or []
        message = next((m for m in replies if m.get("ts") == ts), None)
    return message


def is_swarm_channel(ctx: SlackContext, channel: str) -> bool:
    """Whether `channel` is a deal's live swarm channel: one read, before anything that costs a Slack call (the
    message's text, the people's profiles; conversations.history allows ~50 calls a minute) or writes."""
    with ctx.runner.uow(read_only=True) as uow:
        return swarm_deal_id(uow, "slack", channel) is not None


def register(app: App, ctx: SlackContext) -> None:
    @app.event("reaction_added")
    def on_reaction(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        item = event.get("item") or {}
        if event.get("reaction") not in PIN_REACTIONS or item.get("type") != "message":
            return
        ctx.defer(log_pin, event=event, body=body, client=client)

    @guarded("reaction")
    def log_pin(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        item = event["item"]
        channel, ts = str(item.get("channel", "")), str(item.get("ts", ""))
        if not is_swarm_channel(ctx, channel):
            return  # 📌 is common elsewhere: no Slack call, no user made, nothing written for it
        if not ctx.first_delivery(body):  # before any effect: replay.GUARDED_BY_EVENT_ID counts on it
            return
        message = read_message(client, channel, ts)
        if message is None or not (message.get("text") or "").strip():
            return
        actor = ctx.actor_id(client, str(event.get("user", "")), body=body)
        author_slack = str(message.get("user") or event.get("item_user") or "")
        author = ctx.actor_id(client, author_slack, body=body) if author_slack else actor
        ctx.run(Invocation(actor_id=actor, kind="action", name="swarm.pin", platform="slack", conversation=channel,
                           args={"channel": channel, "ts": ts, "text": unescape(message["text"]), "author_id": author,
                                 "link": permalink(channel, ts)},
                           idempotency_key=f"slack:pin:{channel}:{ts}"))
