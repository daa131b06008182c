"""Slack's side of the transactional inbox (crm_core.inbox): nothing acknowledged is lost, nothing doubled.

1. Before the ack, the listener writes the request to the inbox (`accept`): the payload needed to redo the
   work, who sent it (user + workspace) and where to answer (`response_url`). Only after that commit does
   Slack get its 200. A request whose key (team + trigger_id) is already in the inbox is a retry: it is
   acknowledged, and worked on only when the process that took it is gone (its lease ran out).
   The row is owned by the recording process from its insert; a request that finds the work queue full is
   recorded due at once and the person is told it is queued (`take_request`, answer.py).
2. The work (`work`) runs through the shared runner with the inbox key as idempotency key; the runner marks
   the row done, with its reply, in the same transaction as the change — and, when the command's request
   still waits for its HTTP response (answer.InlineSlot), replied too: the answer then leaves in that response.
   A read stores nothing (it is simply done again should the process die before its reply is out).
3. Otherwise the reply is delivered (`deliver`) as a separate, recorded step: to the `response_url` while
   Slack still accepts it (30 minutes, 5 uses), else — or when that keeps failing — as a DM through the
   outbox, headed by a card that says what was saved. A reply recorded as sent is never sent again.
A row left pending or undelivered by a process that died is picked up by `recover` (bot/processes.py).
"""
from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot import crashpoint
from bot.slack.answer import InlineSlot, Send
from bot.slack.clients import web_client
from bot.slack.context import SlackContext, idempotency_key, message_for, new_ref, send_attachments
from bot.slack.home import publish_home
from bot.slack.identity import team_of
from bot.slack.modals import Meta, open_form
from bot.slack.oauth import bot_token_for, build_oauth
from bot.shared import Shared
from bot.wiring import Wiring
from cards.builders.common import busy_card, internal_error_card, saved_notice_card
from cards.model import Reply
from cards.render.slack import action_name
from crm_core import inbox
from crm_core.outbox import enqueue
from crm_core.services.users import user_by_identity
from handlers.grammar import Parsed, UsageError
from handlers.invocation import Invocation
from handlers.runner import ActorLookup, Outcome, UnknownActor

log = logging.getLogger("chatcrm.slack.inbox")

COMMAND = "slack.command"
ACTION = "slack.action"
KINDS = (COMMAND, ACTION)
RESPONSE_URL_LIFETIME = timedelta(minutes=30)  # Slack: a response_url works for 30 minutes…
RESPONSE_URL_USES = 5  # …and 5 posts
# Where a form can be shown, "Advance stage" asks for the missing fields instead of refusing.
SLACK_ACTIONS = {"deal.advance": "form.advance"}
ACTION_FIELDS = ("type", "user", "team", "trigger_id", "response_url", "channel", "container", "api_app_id")


def lease(w: Shared) -> timedelta:
    return timedelta(seconds=w.settings.chatcrm_inbox_lease_seconds)


def command_key(body: dict[str, Any]) -> str:
    """Workspace + person + trigger id (context.idempotency_key); a request without a trigger id gets a key of
    its own, so two people's requests never share one (and a retry of it is not recognised)."""
    return idempotency_key("cmd", body, str(body.get("user_id", ""))) or f"slack:cmd:once:{uuid.uuid4().hex}"


def action_key(body: dict[str, Any]) -> str:
    user = str((body.get("user") or {}).get("id", ""))
    return idempotency_key("action", body, user) or f"slack:action:once:{uuid.uuid4().hex}"


def accept(ctx: SlackContext, kind: str, key: str, body: dict[str, Any], *, user_id: str, team: str | None,
           queued: bool = False) -> inbox.Item | None:
    """Write the request to the inbox (committed before the caller acks), owned by this process from the
    start; `queued` (the work queue is full): due at once for whichever worker or recovery pass comes
    first. None: it was there already (a retry)."""
    w = ctx.wiring
    if kind == ACTION:
        payload: dict[str, Any] = {k: body[k] for k in ACTION_FIELDS if k in body}
        payload["actions"] = (body.get("actions") or [])[:1]
        payload["view"] = {"type": (body.get("view") or {}).get("type")}
    else:
        payload = {k: v for k, v in body.items() if k != "token"}
    row = inbox.new_row(key=key, platform="slack", kind=kind, external_user=user_id, team=team, payload=payload,
                        reply_to={"response_url": body.get("response_url")}, now=w.clock.now(), lease=lease(w),
                        taken=not queued, due=queued)
    return inbox.record_item(ctx.ack_sessions or w.session_factory, row)


def take_request(ctx: SlackContext, ack: Any, kind: str, key: str, body: dict[str, Any], *, user_id: str,
                 team: str | None, client: WebClient | None, respond: Any = None) -> None:
    """The listener body of a command or a click: record, then ack — with the answer itself when a command's
    work is done within the budget (answer.py), else empty, the answer following through the response_url."""
    w = ctx.wiring
    queue = ctx.queue
    budget = w.settings.chatcrm_slack_reply_within
    read = (ctx.runner.parse_read(str(body.get("text", ""))) if kind == COMMAND and budget > 0
            and body.get("response_url") and not w.settings.chatcrm_test_crash_after_ack else None)
    if read is not None and _answer_read(ctx, ack, body, read, user_id=user_id, client=client, budget=budget):
        return  # answered in the HTTP response; nothing was stored
    placed = queue is None or queue.reserve()
    try:
        item = accept(ctx, kind, key, body, user_id=user_id, team=team, queued=not placed)
    except BaseException:
        if placed and queue is not None:
            queue.release()
        raise
    if item is None or not placed:
        if item is None:  # a retry: worked on only if its owner is gone (lease ran out)
            ack()
            if placed:
                _start(ctx, take_over, ctx=ctx, key=key, client=client)
            return
        queue.overflowed.set()  # type: ignore[union-attr] # a worker takes it after its own task
        _tell_busy(ctx, ack, respond, kind, item)
        return
    if w.settings.chatcrm_test_crash_after_ack and crashpoint.arm(True):  # the hook stays off the normal path
        if queue is not None:
            queue.release()
        ack()  # test only: the process exits once this ack is out, before any work
        return
    slot = InlineSlot() if kind == COMMAND and budget > 0 and body.get("response_url") else None
    _start(ctx, run_live, ctx=ctx, item=item, client=client, slot=slot)
    message = slot.wait(budget) if slot is not None else None
    if message is None:
        ack()
    else:
        ack(text=message["text"], blocks=message["blocks"], response_type=message["response_type"])


def _answer_read(ctx: SlackContext, ack: Any, body: dict[str, Any], parsed: Parsed | UsageError, *, user_id: str,
                 client: WebClient | None, budget: float) -> bool:
    """A command that only reads, tried first without the inbox: done within the budget, it is answered in the
    HTTP response and nothing at all is written (a read done twice harms nobody, and Slack does not retry slash
    commands). False — the budget ran out, the queue is full, or the person is new (creating them writes) —
    and the request takes the inbox path like any other; this attempt's answer, should it come, is dropped."""
    queue = ctx.queue
    if queue is not None and not queue.reserve():
        return False
    slot = InlineSlot()
    _start(ctx, _read_now, ctx=ctx, body=body, parsed=parsed, user_id=user_id, client=client, slot=slot)
    message = slot.wait(budget)
    if message is None:
        return False
    ack(text=message["text"], blocks=message["blocks"], response_type=message["response_type"])
    return True


def _read_now(ctx: SlackContext, body: dict[str, Any], parsed: Parsed | UsageError, user_id: str,
              client: WebClient | None, slot: InlineSlot) -> None:
    try:
        outcome = ctx.runner.answer_text(ctx.known_actor(user_id, body), str(body.get("text", "")),
                                         platform="slack", conversation=body.get("channel_id"), parsed=parsed)
    except UnknownActor:
        slot.withdraw()  # a first contact: the inbox path creates (or binds) the user
        return
    except Exception:  # noqa: BLE001 - the runner turns failures into replies; anything else: the inbox path
        log.exception("slack: a read failed before its reply; taking the inbox path")
        slot.withdraw()
        return
    reply = outcome.reply
    if reply.form or not slot.offer():
        slot.withdraw()
        return
    slot.answer(_inline_message(ctx, reply, outcome.actor_id))
    if client is not None:
        send_attachments(client, user_id, reply)


def _start(where: SlackContext, fn: Any, /, **kwargs: Any) -> None:
    """Run in the place reserved in the work queue (inline when there is no queue)."""
    if where.queue is None:
        fn(**kwargs)
    else:
        where.queue.run(fn, **kwargs)


def _tell_busy(ctx: SlackContext, ack: Any, respond: Any, kind: str, item: inbox.Item) -> None:
    """The queue is full: the request is saved and waits its turn; the person is told so at once."""
    locale = ctx.locale(_actor_of(ctx.wiring, item))
    msg = message_for(Reply(cards=(busy_card(locale, _what(item)),)), locale)
    if kind == COMMAND:
        ack(text=msg["text"], blocks=msg["blocks"], response_type="ephemeral")
        return
    ack()  # a click's HTTP response shows nothing: say it through its response_url
    if respond is not None and item.reply_to.get("response_url"):
        try:
            respond(text=msg["text"], blocks=msg["blocks"], response_type="ephemeral", replace_original=False)
        except Exception as exc:  # noqa: BLE001 - the answer itself still comes
            log.warning("slack: could not say %s is queued: %s", item.key, exc)


def drain(ctx: SlackContext, limit: int = 5) -> int:
    """Take requests left due in the inbox (the queue was full when they came) and answer them."""
    w = ctx.wiring
    items = inbox.claim_due(w.session_factory, w.clock.now(), kinds=KINDS, lease=lease(w), limit=limit)
    for item in items:
        process(ctx, item, ctx.client_for(item.team) if ctx.client_for else None, live=False)
    return len(items)


def run_live(ctx: SlackContext, item: inbox.Item, client: WebClient | None,
             slot: InlineSlot | None = None) -> Send | None:
    """After the record, in the process that took it: do the work and answer (inline when `slot` still waits).
    An answer that must go over the network is returned, for the work queue's send pool (answer.py)."""
    try:
        return process(ctx, item, client, live=True, slot=slot, later=True)
    finally:
        if slot is not None:
            slot.withdraw()  # no inline answer came of it (a no-op when one did): the request acks empty


def take_over(ctx: SlackContext, key: str, client: WebClient | None) -> None:
    """A platform retry of a request already in the inbox: worked on only if its owner's lease ran out."""
    item = inbox.claim_key(ctx.wiring.session_factory, key, ctx.wiring.clock.now(), lease=lease(ctx.wiring))
    if item is None:
        log.info("slack: %s is already in the inbox; the retry is acknowledged and changes nothing", key)
        return
    process(ctx, item, client, live=False)


def recover(w: Wiring, item: inbox.Item) -> None:
    """The recovery pass (bot/processes.py) hands over a claimed row left by a process that died."""
    ctx = w.slack.ctx or SlackContext(w, client_for=functools.partial(client_for_team, w))
    process(ctx, item, client_for_team(w, item.team), live=False)


def client_for_team(w: Wiring, team: str | None) -> WebClient | None:
    s = w.settings
    if s.slack_oauth_enabled:
        oauth = w.slack.oauth or build_oauth(s, w.engine, web_client(w, None))
        w.slack.oauth = oauth
        return web_client(w, bot_token_for(oauth.installation_store, team))
    return web_client(w, s.slack_bot_token) if s.slack_bot_token else None


def process(ctx: SlackContext, item: inbox.Item, client: WebClient | None, *, live: bool,
            slot: InlineSlot | None = None, later: bool = False) -> Send | None:
    """Do the work of a claimed row unless it is done, then deliver its reply unless sent — or, `later`,
    return the delivery for the caller to run. Never raises: a failure is recorded on the row, and the next
    recovery pass (after the lease) tries again."""
    try:
        if item.status == "pending":
            try:
                item = work(ctx, item, client, slot) if item.attempts <= inbox.MAX_ATTEMPTS else give_up(ctx, item)
            except Exception as exc:  # noqa: BLE001 - its transaction rolled back: answered "nothing saved"
                item = give_up(ctx, item, exc)
    except Exception as exc:  # noqa: BLE001 - recorded on the row and logged with an id; recovery retries
        _left_for_recovery(ctx, item, exc)
        return None
    if item.reply_sent_at is not None:
        return None
    send = functools.partial(_deliver_or_leave, ctx, item, client, live)
    if later:
        return send
    send()
    return None


def _deliver_or_leave(ctx: SlackContext, item: inbox.Item, client: WebClient | None, live: bool) -> None:
    try:
        deliver(ctx, item, client, live=live)
    except Exception as exc:  # noqa: BLE001 - recorded on the row and logged with an id; recovery retries
        _left_for_recovery(ctx, item, exc)


def _left_for_recovery(ctx: SlackContext, item: inbox.Item, exc: Exception) -> None:
    ref = new_ref()
    log.error("slack: inbox %s failed ref=%s (left for recovery)", item.key, ref, exc_info=exc)
    inbox.note_error(ctx.wiring.session_factory, item.key, f"ref={ref} {exc.__class__.__name__}: {exc}")


def work(ctx: SlackContext, item: inbox.Item, client: WebClient | None, slot: InlineSlot | None = None) -> inbox.Item:
    w = ctx.wiring
    body = item.payload
    if item.kind == COMMAND:
        def run(actor: "int | ActorLookup") -> Outcome:
            return ctx.runner.answer_text(actor, body.get("text", ""), platform="slack",
                                          conversation=body.get("channel_id"), idempotency_key=item.key,
                                          inboxed=True)
        user_id, user_name = body["user_id"], body.get("user_name")
    else:
        user = body["user"]
        user_id, user_name = user["id"], user.get("name") or user.get("username")
        action = (body.get("actions") or [{}])[0]
        name = action_name(str(action.get("action_id", "")))
        value = str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")

        def run(actor: "int | ActorLookup") -> Outcome:
            if (body.get("view") or {}).get("type") == "modal":
                # our modals dispatch no block actions; the submission carries the state
                return Outcome(Reply(), saved=False, actor_id=actor if isinstance(actor, int) else None)
            return ctx.runner.answer_as(actor, Invocation(
                actor_id=0, kind="action", name=SLACK_ACTIONS.get(name, name), args={"value": value},
                platform="slack", conversation=_channel(body), idempotency_key=item.key, inboxed=True))
    inline = inbox.InlineReply(offer=slot.offer) if slot is not None else None
    token = inbox.INLINE.set(inline)  # the runner's transaction may mark the row replied (crm_core.inbox)
    try:
        try:
            # The actor is looked up inside the use case's own transaction…
            outcome = run(ctx.known_actor(user_id, body))
        except UnknownActor:
            # …unless this is their first request: then the user is created (or bound) first.
            outcome = run(ctx.actor_id(client, user_id, user_name, body=body))
    finally:
        inbox.INLINE.reset(token)
    reply, actor = outcome.reply, outcome.actor_id
    if slot is not None and inline is not None:
        if inline.committed:  # finished and marked replied in the work's own transaction: hand it over
            now = w.clock.now()
            slot.answer(_inline_message(ctx, reply, actor))
            _attachments(client, item, reply)
            return replace(item, status="replied", saved=outcome.saved, reply=reply.to_dict(), actor_id=actor,
                           reply_sent_at=now)
        if inline.claimed or (not reply.form and slot.offer()):  # nothing committed (a read, usage error, refusal)
            return _answer_inline(ctx, item, client, slot, reply, actor)
    # What the row needs now (a change stored it with the change; a read stores nothing): the runner says.
    return ctx.runner.settle(item, outcome)


def _inline_message(ctx: SlackContext, reply: Reply, actor: int | None) -> dict[str, Any]:
    locale = reply.locale or ctx.locale(actor)
    return {**message_for(reply, locale), "response_type": reply.visibility}


def _attachments(client: WebClient | None, item: inbox.Item, reply: Reply) -> None:
    if client is not None:
        send_attachments(client, item.external_user, reply)


def _answer_inline(ctx: SlackContext, item: inbox.Item, client: WebClient | None, slot: InlineSlot, reply: Reply,
                   actor: int) -> inbox.Item:
    """The request still waits for its HTTP response and the work committed nothing: finish the row and mark
    it replied in one transaction, then hand the answer over. Should that transaction fail, the request acks
    empty and the answer goes to the response_url instead — never both."""
    w = ctx.wiring
    message = _inline_message(ctx, reply, actor)
    try:
        done = inbox.finish(w.session_factory, item.key, reply.to_dict(), w.clock.now(), actor_id=actor,
                            replied=True)
    except Exception:
        slot.withdraw()
        raise
    assert done is not None
    if done.reply_sent_at is None:  # not ours to answer after all (cannot happen to a row this process owns)
        slot.withdraw()
        return done
    slot.answer(message)
    _attachments(client, item, reply)
    return done


def give_up(ctx: SlackContext, item: inbox.Item, exc: Exception | None = None) -> inbox.Item:
    """The work raised (or its process died MAX_ATTEMPTS times): answer with an error card saying nothing was
    saved — true, since the runner's transaction rolled back. Should the work have committed after all (it
    failed after the runner), the row is done already and keeps its real reply."""
    w = ctx.wiring
    ref = new_ref()
    log.error("slack: %s failed ref=%s (attempt %s)", item.key, ref, item.attempts, exc_info=exc)
    actor = item.actor_id or _actor_of(w, item)
    reply = Reply(cards=(internal_error_card(ctx.locale(actor), ref, saved=False),))
    done = inbox.finish(w.session_factory, item.key, reply.to_dict(), w.clock.now(), actor_id=actor, error_ref=ref)
    assert done is not None
    return done


def _channel(body: dict[str, Any]) -> str | None:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")


def _actor_of(w: Shared, item: inbox.Item) -> int | None:
    with w.session_factory() as session:
        user = user_by_identity(session, "slack", item.external_user)
        return user.id if user else None


def deliver(ctx: SlackContext, item: inbox.Item, client: WebClient | None, *, live: bool) -> None:
    """Send the stored reply once. Live and fresh: as the reply; recovered: headed by what was saved."""
    w = ctx.wiring
    reply = Reply.from_dict(item.reply or {})
    # The language the runner read with the actor, carried by the reply; a look-up only for a reply that has
    # none (an adapter's own error reply, or one stored before replies carried it).
    locale = reply.locale or ctx.locale(item.actor_id)
    body = item.payload
    user_id = item.external_user
    if live and reply.form and client is not None:
        value = str(((body.get("actions") or [{}])[0]).get("value") or "")
        meta = Meta(ref=str(reply.form.get("ref", value.split(":")[0])), locale=locale,
                    response_url=body.get("response_url"), channel=body.get("channel_id") or _channel(body))
        if open_form(client, body.get("trigger_id"), reply.form, meta, ctx):
            _replied(w, item.key)
            return
    base = reply
    if not live:
        reply = _with_outcome(item, reply, locale)
    url = item.reply_to.get("response_url")
    fresh = w.clock.now() - item.received_at < RESPONSE_URL_LIFETIME and item.attempts <= RESPONSE_URL_USES
    sent = False
    if url and fresh:
        sent = _post_response_url(w, item.key, url, reply, locale)
    elif not url and client is not None:  # the Home tab has no response_url: a DM from the app
        msg = message_for(reply, locale)
        client.chat_postMessage(channel=user_id, text=msg["text"], blocks=msg["blocks"])
        sent = True
    if sent:
        _replied(w, item.key)
    elif url and fresh:
        return  # the next recovery pass (after the lease) tries the response_url again
    else:
        _to_outbox(ctx, item, _with_outcome(item, base, locale))
        return
    if client is not None:
        send_attachments(client, user_id, reply)
        if (body.get("view") or {}).get("type") == "home" and item.actor_id is not None:
            publish_home(ctx, client, team_of(body), user_id, item.actor_id)


def _with_outcome(item: inbox.Item, reply: Reply, locale: str) -> Reply:
    """A late reply says first what happened to the request: saved (and which records), or nothing saved."""
    saved = bool(item.saved) and not any(c.kind in ("error", "usage") for c in reply.cards)
    refs = [c.ref for c in reply.cards if c.ref] if saved else []
    head = saved_notice_card(locale, _what(item), refs, saved=saved)
    return Reply(cards=(head, *reply.cards), visibility="ephemeral", attachments=reply.attachments)


def _what(item: inbox.Item) -> str:
    body = item.payload
    if item.kind == COMMAND:
        return f"/crm {body.get('text', '')}".strip()
    action = (body.get("actions") or [{}])[0]
    return str(((action.get("text") or {}).get("text")) or action_name(str(action.get("action_id", ""))))


def _post_response_url(w: Shared, key: str, url: str, reply: Reply, locale: str) -> bool:
    msg = message_for(reply, locale)
    try:
        resp = WebhookClient(url, logger=logging.getLogger("chatcrm.slack.web")).send(
            text=msg["text"], blocks=msg["blocks"], response_type=reply.visibility,
            replace_original=reply.replace_original)
    except Exception as exc:  # noqa: BLE001 - recorded on the row; the next pass tries again
        log.warning("slack: reply of %s not posted (%s); will retry", key, exc)
        inbox.note_error(w.session_factory, key, f"response_url: {exc.__class__.__name__}: {exc}")
        return False
    if resp.status_code != 200:
        log.warning("slack: reply of %s refused by response_url (%s %s); will retry", key, resp.status_code,
                    resp.body)
        inbox.note_error(w.session_factory, key, f"response_url: HTTP {resp.status_code} {resp.body}"[:2000])
        return False
    return True


def _replied(w: Shared, key: str) -> None:
    with w.session_factory.begin() as session:
        inbox.mark_replied(session, key, w.clock.now())


def _to_outbox(ctx: SlackContext, item: inbox.Item, reply: Reply) -> None:
    """The response_url is spent or keeps failing: the reply (headed by what was saved) goes to the person
    as a DM through the outbox, and the row is marked replied in the same transaction."""
    w = ctx.wiring
    actor = item.actor_id or _actor_of(w, item)
    now = w.clock.now()
    with w.session_factory.begin() as session:
        if actor is not None:
            for i, card in enumerate(reply.cards):
                enqueue(session, dedupe_key=f"inbox-reply:{item.key}:{i}"[:255], kind="reply", target_type="user",
                        target_id=actor, payload=card.to_dict(), now=now)
        else:
            log.error("slack: reply of %s has nobody to go to (unknown user %s)", item.key, item.external_user)
        inbox.mark_replied(session, item.key, now)


__all__ = ["ACTION", "COMMAND", "KINDS", "accept", "action_key", "command_key", "drain", "process", "recover",
           "run_live", "take_over", "take_request"]
