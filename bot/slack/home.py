"""App Home: `views.publish` on app_home_opened — my open deals by stage, tasks due, approvals waiting
on me, tickets near breach (everything the `home.show` use case and the areas' `my` sections give)."""
from __future__ import annotations

import functools
import threading
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

from bot.slack.answer import Send
from bot.slack.context import SlackContext, guarded, log, new_ref
from bot.slack.identity import team_of
from bot.slack.published import Version
from cards.builders.common import internal_error_card
from cards.i18n import translator
from cards.render.slack import SlackLimitError, fit_card, to_view_blocks
from handlers.invocation import Invocation
from handlers.runner import ActorLookup, UnknownActor

t = translator("slack")


def home_view(ctx: SlackContext, actor: int | ActorLookup) -> dict[str, Any]:
    """The Home view of `actor`: our user id, or the adapter's look-up of it, run inside the use case's own
    transaction (one read of the person; UnknownActor on a first contact, having done nothing)."""
    outcome = ctx.runner.answer_as(actor, Invocation(actor_id=0, kind="action", name="home.show", platform="slack"))
    reply, actor_id = outcome.reply, outcome.actor_id
    locale = reply.locale or ctx.locale(actor_id)  # read with the actor inside the run
    hint = ContextBlock(block_id="home:hint", elements=[MarkdownTextObject(text=t(locale, "home.hint"))])
    try:
        blocks = to_view_blocks([fit_card(c) for c in reply.cards], leading=[hint.to_dict()])
    except SlackLimitError as exc:
        ref = new_ref()
        log.error("slack: home view for user %s does not fit ref=%s: %s", actor_id, ref, exc)
        blocks = to_view_blocks([internal_error_card(locale, ref)])
    # The blocks are dicts already, each built and checked as a slack_sdk block (to_view_blocks counts them):
    # wrapping them in `View` parsed and checked every block once more, a fifth of the Home tab's work.
    return {"type": "home", "blocks": blocks}


def publish_home(ctx: SlackContext, client: WebClient, team: str | None, slack_user_id: str, actor_id: int) -> None:
    """Publish the person's Home view now, unless it is the view they already have (published.py)."""
    key, version = (team or "", slack_user_id), ctx.data_version.current()  # before the view is read
    view = home_view(ctx, actor_id)
    digest = ctx.home_views.digest(view)
    if not ctx.home_views.showing(key, digest, version):
        _send_view(client, ctx, key, view, digest, version)


class Queued:
    """The people whose Home view is queued and not yet begun. Opening the tab again meanwhile queues nothing
    more: the view waiting is built after this opening, from what the database holds then, so it shows
    everything this one would. Once a build has begun, the next opening queues another."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def add(self, key: tuple[str, str]) -> bool:
        """False when a view for `key` is already waiting."""
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            return True

    def discard(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._keys.discard(key)


def register(app: App, ctx: SlackContext) -> None:
    queued = Queued()

    @app.event("app_home_opened")
    @guarded("app_home_opened")
    def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient, context: Any) -> None:
        if event.get("tab", "home") != "home":
            return
        key = (team_of(body) or "", str(event.get("user", "")))  # also the key of published.PublishedViews
        if not queued.add(key):
            return  # their view is waiting to be built, and will show what this opening would
        # Events are answered when this listener returns: the Home tab is built off the request thread.
        try:
            ctx.defer(guarded("app_home_opened")(_publish), client=client, event=event, body=body, context=context,
                      key=key)
        except BaseException:
            queued.discard(key)  # not queued after all: the next opening must not wait on it
            raise

    def _publish(client: WebClient, event: dict[str, Any], body: dict[str, Any], context: Any,
                 key: tuple[str, str]) -> Send | None:
        """Build the view on a work thread; its publish waits on Slack, so it goes to the send pool."""
        queued.discard(key)  # first: an opening from now on may change what this build reads
        # publishing a view twice tells nobody anything; replay.GUARDED_BY_EVENT_ID counts on this check
        if not ctx.first_delivery(body, harmless_again=True):
            return None
        version = ctx.data_version.current()  # before the view is read: a commit from now on changes it
        if ctx.home_views.unchanged(key, version):
            return None  # nothing committed since their view was built, a moment ago: it would be the same
        try:
            view = home_view(ctx, ctx.known_actor(event["user"], body))
        except UnknownActor:  # their first contact: the user is created (or bound) first
            view = home_view(ctx, ctx.actor_id(client, event["user"], body=body))
        digest = ctx.home_views.digest(view)
        if ctx.home_views.showing(key, digest, version):
            return None  # the view they have is this one: nothing to send
        return functools.partial(_send_view_guarded, client=client, ctx=ctx, key=key, view=view, digest=digest,
                                 version=version, body=body, context=context)


def _send_view(client: WebClient, ctx: SlackContext, key: tuple[str, str], view: dict[str, Any], digest: bytes | None,
               version: Version = None, body: dict[str, Any] | None = None, context: Any = None) -> None:
    """views.publish for key's person; remembered once Slack has it (with the database version it was built
    at), forgotten when that is not known."""
    try:
        client.views_publish(user_id=key[1], view=view)
    except BaseException:
        ctx.home_views.forget(key)
        raise
    ctx.home_views.published(key, digest, version)


_send_view_guarded = guarded("app_home_opened")(_send_view)  # body and context: whom to tell of a failure
