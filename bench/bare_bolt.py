"""The floor for bench/ack.py: the fastest correct Bolt app on FastAPI — same adapter, same signature check,
and it only acks.

`process_before_response=True` runs the listener in the request itself, so the answer leaves as soon as
`ack()` returns. Without it Bolt hands the listener to a thread and waits for `ack()` by sleeping in 10 ms
steps — and the stock FastAPI adapter runs that wait on the event loop, one request at a time (~85 acks/s at
32 concurrent). That throttled app was the floor before; it is not a floor.
"""
from __future__ import annotations

import os
import re

from fastapi import FastAPI, Request
from slack_bolt import App
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_sdk import WebClient

bolt = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"],
           client=WebClient(token="xoxb-bench", base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/")),
           token_verification_enabled=False, process_before_response=True)


@bolt.command("/crm")
def crm(ack):  # type: ignore[no-untyped-def]
    ack()


@bolt.action(re.compile(".*"))
def any_action(ack):  # type: ignore[no-untyped-def]
    ack()


@bolt.event(re.compile(".*"))
def any_event():  # type: ignore[no-untyped-def]
    pass  # an event is acked when its listener returns


handler = SlackRequestHandler(bolt)
api = FastAPI()


@api.post("/slack/events")
async def events(req: Request):  # type: ignore[no-untyped-def]
    return await handler.handle(req)
