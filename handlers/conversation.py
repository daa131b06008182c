"""The conversation as the record: a message in a deal's group chat becomes an activity of the deal.

- Slack: 📌 on a message in a deal's swarm channel (the adapter reads the message and hands it over as
  `swarm.pin`); the channel hears one line that it was logged.
- WeCom: `@bot 记录 <text>` (or `log <text>`) in a group chat, sent to the AI bot (智能机器人), which is the
  only way WeCom lets a group's messages reach an app. The adapter hands it over as `chat.log`: in a deal's
  own group (a Swarm row of the chat) it logs to that deal, and `记录 D-12 <text>` logs to D-12 from any
  chat. The sender must be allowed to work on the deal. The answer is the reply in the group itself.

Both log the same way (crm_core.services.conversation.do_log_pinned): the author, the text, the message's
link or id, once per message (the adapters' idempotency keys name the message).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from cards.builders.swarm import (group_linked_card, group_log_how_card, group_logged_card, group_not_linked_card,
                                  pinned_line)
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.models import User
from crm_core.refs import parse_ref
from crm_core.services.access import access_deal
from crm_core.services.activities import KIND_ALIASES, KINDS
from crm_core.services.conversation import PinnedMessage, chat_deal_id, do_link_chat, do_log_pinned, swarm_deal
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.registry import action
from handlers.swarm import post_to_swarm

# `记录 …` / `log …` (any case), a colon allowed after the word; `记录` may touch its text (Chinese is written
# without spaces), `log` may not (`logout` is not a log).
_GROUP_LOG = re.compile(r"^(?:记录|log(?=[\s:：]|$))[\s:：]*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_DEAL_REF = re.compile(r"^(?P<ref>D-?\d{1,9})(?=\s|$)\s*(?P<text>.*)$", re.IGNORECASE | re.DOTALL)


# `绑定 D-12` / `关联 D-12` / `link D-12`: this group chat logs to D-12 from now on.
_GROUP_LINK = re.compile(r"^(?:绑定|关联|link)[\s:：]*(?P<ref>D-?\d{1,9})\s*$", re.IGNORECASE)


def group_link_request(text: str) -> str | None:
    """The deal `绑定 D-12` names ("D-12"), or None: not a link request."""
    m = _GROUP_LINK.match(text.strip())
    return m.group("ref") if m else None


@dataclass(frozen=True)
class GroupLog:
    """What `记录 …` typed in a group asks for: `ref` "D-12" when a deal is named (else the chat's deal)."""
    text: str
    ref: str = ""


def group_log_request(text: str) -> GroupLog | None:
    """`记录 <text>` / `记录 D-12 <text>` → GroupLog; anything else (including the full `log D-12 call <text>`
    command, with its kind of activity, and `log L-3 …` for a lead) → None: the command grammar's business."""
    m = _GROUP_LOG.match(text.strip())
    if m is None:
        return None
    rest = m.group("rest").strip()
    named = _DEAL_REF.match(rest)
    if named is None:
        if parse_ref(rest.split(maxsplit=1)[0] if rest else "") is not None:
            return None  # L-3, T-9…: the log command (with its kind) logs to those
        return GroupLog(text=rest)
    words = named.group("text").split(maxsplit=1)
    if words and (words[0].lower() in KINDS or words[0] in KIND_ALIASES):
        return None  # `记录 D-12 电话 …`: the log command, with its kind of activity
    return GroupLog(text=named.group("text").strip(), ref=named.group("ref"))


@action("chat.log")
def log_group_message(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    """args: channel (the chat's id), msg_id, text, ref ("" or "D-12"); only the WeCom AI bot adapter sends it."""
    a = inv.args
    if not all(isinstance(a.get(k), str) for k in ("channel", "msg_id", "text", "ref")) or not a["msg_id"]:
        return Reply()  # not what the adapter sends (e.g. a forged button value): nothing to log
    ref = parse_ref(a["ref"], "deal") if a["ref"] else None
    deal_id = ref.id if ref is not None else chat_deal_id(uow, inv.platform, a["channel"]) if a["channel"] else None
    if deal_id is None:
        return Reply(cards=(group_not_linked_card(locale),))
    # The group's members are not all allowed to work on the deal. Locked: a second delivery of the same message
    # racing this one waits here, then finds this one's record and answers with its reply (the runner).
    deal = access_deal(uow, actor, deal_id, for_update=True)
    if not a["text"].strip():
        return Reply(cards=(group_log_how_card(locale, deal.ref),))
    msg = PinnedMessage(platform=inv.platform, channel=a["channel"], ts=a["msg_id"], text=a["text"],
                        author_name=actor.name)
    do_log_pinned(uow, actor, deal, msg, now=clock.now())
    return Reply(cards=(group_logged_card(locale, deal.ref, deal.name, actor.name, a["text"].strip()),))


@action("chat.link")
def link_group_chat(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User, locale: str) -> Reply:
    """args: channel (the group chat's id), ref ("D-12"); only the WeCom AI bot adapter sends it. Whoever may
    work on the deal may link the chat to it; `记录 <text>` there then logs to it."""
    a = inv.args
    if not all(isinstance(a.get(k), str) and a.get(k) for k in ("channel", "ref")):
        return Reply()  # not what the adapter sends (e.g. a forged button value): nothing to link
    ref = parse_ref(a["ref"], "deal")
    if ref is None:
        return Reply()
    deal = access_deal(uow, actor, ref.id, for_update=True)
    do_link_chat(uow, actor, deal, inv.platform, a["channel"], now=clock.now())
    return Reply(cards=(group_linked_card(locale, deal.ref, deal.name),))


@action("swarm.pin")
def log_pinned_message(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User) -> Reply:
    a = inv.args
    if not all(isinstance(a.get(k), (str, int)) for k in ("channel", "ts", "text", "author_id", "link")) \
            or not str(a["author_id"]).isdecimal():
        return Reply()  # only the Slack adapter sends this, with all five; anything else is not a pin
    author = uow.session.get(User, int(a["author_id"]))
    msg = PinnedMessage(platform=inv.platform, channel=str(a["channel"]), ts=str(a["ts"]), text=str(a["text"]),
                        author_name=author.name if author else "?", link=str(a["link"]))
    deal = swarm_deal(uow, msg.platform, msg.channel, for_update=True)  # two pins at once: one waits
    if deal is None or not msg.text.strip():
        return Reply()  # a pin elsewhere, or on a message without text: nothing to log
    now = clock.now()
    do_log_pinned(uow, actor, deal, msg, now=now)
    card = pinned_line(uow.config.company.locale, deal.ref, actor.name)
    post_to_swarm(uow, "deal", deal.id, card, dedupe_key=f"swarm-pin:{msg.channel}:{msg.ts}", kind="swarm.pin",
                  now=now)
    return Reply()
