"""The floor for bench/ack.py: a Bolt app on FastAPI that only acks (same adapter, same signature check)."""
from __future__ import annotations

import os
import re

from fastapi import FastAPI, Request
from slack_bolt import App
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_sdk import WebClient

bolt = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"],
           client=WebClient(token="xoxb-bench", base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/")),
           token_verification_enabled=False)


@bolt.command("/crm")
def crm(ack):  # type: ignore[no-untyped-def]
    ack()


@bolt.action(re.compile(".*"))
def any_action(ack):  # type: ignore[no-untyped-def]
    ack()


handler = SlackRequestHandler(bolt)
api = FastAPI()


@api.post("/slack/events")
async def events(req: Request):  # type: ignore[no-untyped-def]
    return await handler.handle(req)
