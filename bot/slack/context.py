"""What every Slack listener shares: the process wiring, the actor lookup, and turning a Reply into
what Slack is sent (ephemeral Block Kit through `respond`)."""
from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.answer import AFTER_RESPONSE, InlineExecutor, WorkQueue
from bot.slack.identity import known_user_id, resolve_user_id, team_of
from bot.slack.published import PublishedViews
from bot.slack.replay import MemorySeen, claim_event
from bot.slack.workspaces import WorkspaceGate
from bot.shared import Shared
from cards.builders.common import internal_error_card
from cards.model import Card, Reply
from cards.render.slack import SlackLimitError, fit_card, fit_text, to_message
from crm_core.data_version import DataVersion
from crm_core.db import one_web_process
from crm_core.services.users import locale_of, user_by_identity
from handlers.invocation import Invocation
from handlers.runner import ActorLookup, Runner

log = logging.getLogger("chatcrm.slack")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class SlackContext:
    wiring: Shared  # the process's Wiring, of which the context needs only the shared parts
    work: Executor | None = None  # where work after the ack runs; None: in the listener's own thread
    workspaces: WorkspaceGate | None = None  # which workspaces are served (configured ids bind to binding_team)
    queue: WorkQueue | None = None  # the bounded queue in front of `work` for commands and clicks (answer.py)
    ack_sessions: sessionmaker[Session] | None = None  # the inbox row before an ack (None: wiring.session_factory)
    client_for: Callable[[str | None], WebClient | None] | None = None  # a workspace's Web API client (inbox.py)
    _redone: MemorySeen = field(init=False, repr=False)  # event ids of work that may run again harmlessly
    home_views: PublishedViews = field(init=False, repr=False)  # the Home view last published for each person
    data_version: DataVersion = field(init=False, repr=False)  # whether anything was committed since

    def __post_init__(self) -> None:
        self._redone = MemorySeen(self.wiring.clock)
        # SQLite serves one web process, so no other process publishes a different view behind this one's back.
        self.home_views = PublishedViews(self.wiring.clock, sole_publisher=one_web_process(self.wiring.engine))
        self.data_version = DataVersion(self.wiring.engine)

    def defer(self, fn: Callable[..., Any], **kwargs: Any) -> None:
        """Run `fn(**kwargs)` after the response, off the request thread (the HTTP response leaves when the
        listener returns); a `Send` it returns (a call that waits on Slack) runs after it, on the send pool.
        `fn` reports its own errors; anything escaping even that is logged here."""
        # No bounded queue (recovery's context): the same run-then-send, through a queue of this call's own; the
        # context's `queue` stays None, which is what tells the inbox to run requests inline.
        queue = self.queue or WorkQueue(self.work or InlineExecutor(), capacity=1)
        held = AFTER_RESPONSE.get()
        if held is None:  # not inside a request's dispatch (recovery, a test calling a listener): start now
            queue.submit(fn, **kwargs)
        else:  # once the response is out (bot/slack/app.py): started now, it would compete with it
            held.append(functools.partial(queue.submit, fn, **kwargs))

    def first_delivery(self, body: dict[str, Any], *, harmless_again: bool = False) -> bool:
        """False for a retried Events API callback whose event_id was already handled (claimed on the first
        delivery); True for anything else. Call it where the event starts its work, after the ack.

        The claim is a row, so a retry that reaches another process, or this one after a restart, is still
        dropped. `harmless_again`: work that only repeats what the first delivery did (publishing a person's
        own Home view) remembers the id in this process instead: no write per event, and a retry that slips
        past (another process) shows the same view again, sending nobody anything."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return True
        if harmless_again:
            return self._redone.claim(str(event_id))
        return claim_event(self.wiring.session_factory, self.wiring.clock, str(event_id))

    @property
    def runner(self) -> Runner:
        return self.wiring.runner

    def actor_id(self, client: WebClient | None, slack_user_id: str, fallback_name: str | None = None, *,
                 body: dict[str, Any] | None = None) -> int:
        """The CRM user of a Slack user of the request's workspace (`body` tells it): users are keyed by
        (workspace, user id), so a request never runs as a user of another workspace."""
        return resolve_user_id(self.wiring.session_factory, self.wiring.clock, client, slack_user_id, fallback_name,
                               team=team_of(body),
                               binding_team=self.workspaces.binding_team if self.workspaces is not None else None)

    def known_actor(self, slack_user_id: str, body: dict[str, Any]) -> ActorLookup:
        """The same user as `actor_id`, looked up inside the request's own transaction (no session of its own);
        it finds nobody on a first contact, when `actor_id` creates (or binds) the user."""
        team = team_of(body)
        return lambda session: known_user_id(session, slack_user_id, team)

    def locale(self, actor_id: int | None) -> str:
        if actor_id is None:
            return self.wiring.config.company.locale
        return self.runner.locale_for(actor_id)

    def run(self, inv: Invocation) -> Reply:
        return self.runner.run(inv)


def idempotency_key(kind: str, body: dict[str, Any], slack_user_id: str) -> str | None:
    """The key that makes a request run once: its trigger id, with the workspace and the person, so two
    people's requests (or two workspaces') never share one. No trigger id: no key — the request runs, and
    is never mistaken for somebody else's."""
    trigger = str(body.get("trigger_id") or "").strip()
    if not trigger:
        return None
    return f"slack:{kind}:{team_of(body) or ''}:{slack_user_id}:{trigger}"[:200]


def new_ref() -> str:
    return secrets.token_hex(4)


def message_for(reply: Reply, locale: str) -> dict[str, Any]:
    """`{"text", "blocks"}` for a reply. A card Slack would refuse is an internal error, logged with an id."""
    cards = reply.cards or (Card(title="✓", locale=locale, kind="info"),)
    try:
        return to_message([fit_card(c) for c in cards])
    except (SlackLimitError, ValueError) as exc:
        ref = new_ref()
        log.error("slack: cannot render reply ref=%s kinds=%s: %s", ref, [c.kind for c in cards], exc)
        # The work is over (its outcome is what failed to render): whether it saved anything is not known here.
        return to_message(internal_error_card(locale, ref, saved=None))


def respond_with(respond: Callable[..., Any], reply: Reply, locale: str, *, replace_original: bool = False) -> None:
    msg = message_for(reply, locale)
    respond(text=msg["text"], blocks=msg["blocks"], response_type=reply.visibility,
            replace_original=replace_original or reply.replace_original)


def send_attachments(client: WebClient, slack_user_id: str, reply: Reply) -> None:
    """Files that go with a reply (a quote document) land in the person's DM with the app: ephemeral
    messages cannot carry files. A failure is logged; the reply itself was already shown."""
    if not reply.attachments:
        return
    try:
        dm = client.conversations_open(users=slack_user_id)["channel"]["id"]
        for att in reply.attachments:
            client.files_upload_v2(channel=dm, content=att.data(), filename=att.filename,
                                   title=att.filename)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("slack: could not upload %s for %s: %s", [a.filename for a in reply.attachments],
                    slack_user_id, exc)


def error_text(reply: Reply) -> str | None:
    """The message of an error reply (for a modal's field error), else None."""
    for card in reply.cards:
        if card.kind in ("error", "usage"):
            texts = [getattr(b, "text", "") for b in card.blocks if getattr(b, "text", "")]
            return " ".join(texts)[:600] or card.title
    return None


def guarded(what: str) -> Callable[[F], F]:
    """Wrap a listener body: any crash is logged with a short reference id, and the person who acted is
    told that id (through `respond` when the payload has a response_url). Nothing is swallowed silently."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            try:
                return fn(**kwargs)
            except Exception as exc:  # noqa: BLE001 - the adapter's last line: log with an id, tell the user
                ref = new_ref()
                log.error("slack %s failed ref=%s", what, ref, exc_info=exc)
                if not _acked_with_error_view(kwargs, ref):
                    _tell(kwargs, ref)
                return None
        return wrapper  # type: ignore[return-value]
    return deco


def _locale(kwargs: dict[str, Any]) -> str:
    """The language of the person who acted, for an error message; the company's when unknown."""
    ctx: SlackContext | None = (kwargs.get("context") or {}).get("chatcrm")
    if ctx is None:
        return "en"
    body = kwargs.get("body") or {}
    slack_id = body.get("user_id") or (body.get("user") or {}).get("id") or (kwargs.get("event") or {}).get("user")
    try:
        with ctx.wiring.session_factory() as session:
            user = user_by_identity(session, "slack", str(slack_id), team=team_of(body)) if slack_id else None
            return locale_of(user, ctx.wiring.config)
    except Exception as exc:  # noqa: BLE001 - already reporting an error; fall back, but say so
        log.warning("slack: could not look up the language of %s: %s", slack_id, exc)
        return ctx.wiring.config.company.locale


def _acked_with_error_view(kwargs: dict[str, Any], ref: str) -> bool:
    """A crash before the ack: acknowledge anyway (else Slack shows a timeout). A modal submission is
    answered by replacing the modal with the reference id; True when that told the user."""
    ack = kwargs.get("ack")
    if ack is None or getattr(ack, "response", None) is not None:
        return False
    body = kwargs.get("body") or {}
    if body.get("type") != "view_submission":
        ack()
        return False
    card = internal_error_card(_locale(kwargs), ref, saved=None)  # the submission may have been applied
    view = View(type="modal", title=fit_text(card.title, 24), close="OK",
                blocks=[SectionBlock(text=MarkdownTextObject(text=" ".join(getattr(b, "text", "") for b in card.blocks)))])
    ack(response_action="update", view=view.to_dict())
    return True


def _tell(kwargs: dict[str, Any], ref: str) -> None:
    respond = kwargs.get("respond")
    body = kwargs.get("body") or {}
    if respond is None or not (body.get("response_url") or body.get("response_urls")):
        return
    try:
        # A view submission may have been applied before the crash; other listeners crash before any work.
        saved = None if body.get("type") == "view_submission" else False
        msg = to_message(internal_error_card(_locale(kwargs), ref, saved=saved))
        respond(text=msg["text"], blocks=msg["blocks"], response_type="ephemeral", replace_original=False)
    except Exception as exc:  # noqa: BLE001 - reporting the error failed too; it is logged, not hidden
        log.error("slack: could not tell the user about ref=%s: %s", ref, exc)
