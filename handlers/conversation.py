"""The conversation as the record: 📌 on a message in a deal's swarm channel logs it to the deal (the Slack
adapter reads the message and hands it over as `swarm.pin`); the channel hears one line that it was logged."""
from __future__ import annotations

from cards.builders.swarm import pinned_line
from cards.model import Reply
from crm_core.clock import Clock
from crm_core.models import User
from crm_core.services.conversation import PinnedMessage, do_log_pinned, swarm_deal
from crm_core.uow import UnitOfWork
from handlers.invocation import Invocation
from handlers.registry import action
from handlers.swarm import post_to_swarm


@action("swarm.pin")
def log_pinned_message(inv: Invocation, uow: UnitOfWork, clock: Clock, actor: User) -> Reply:
    a = inv.args
    author = uow.session.get(User, int(a["author_id"]))
    msg = PinnedMessage(platform=inv.platform, channel=str(a["channel"]), ts=str(a["ts"]), text=str(a["text"]),
                        author_name=author.name if author else "?", link=str(a["link"]))
    deal = swarm_deal(uow, msg.platform, msg.channel)
    if deal is None or not msg.text.strip():
        return Reply()  # a pin elsewhere, or on a message without text: nothing to log
    now = clock.now()
    do_log_pinned(uow, actor, deal, msg, now=now)
    card = pinned_line(uow.config.company.locale, deal.ref, actor.name)
    post_to_swarm(uow, "deal", deal.id, card, dedupe_key=f"swarm-pin:{msg.channel}:{msg.ts}", kind="swarm.pin",
                  now=now)
    return Reply()
