"""SlackMessenger: the outbox deliverer's way into Slack (handlers.ports.Messenger).

Only the deliverer calls these `*_now` methods. Each call goes out with the bot token of the workspace
it belongs to (multi-workspace OAuth mode; one token otherwise): a DM with the recipient's team
(`Recipient.team`), a new swarm channel with its owner's (`SwarmSpec.team`); later calls about a message
or a channel find the team in `PlatformRef.extra["team"]` (set on every result and kept by the deliverer
in sent_messages.extra), or — for swarm posts and archiving, which only get the channel id — in a
channel → team map filled by `create_swarm_now`, else through the `channel_team` lookup (the team stored
with the channel's creation in sent_messages). Unknown team: the client factory's default (the newest
installation). Failures become `DeliveryError`: HTTP 429 carries the
`Retry-After` seconds; errors retrying cannot fix (unknown channel, archived, not in channel, a card
Slack refuses, ...) are `permanent`; anything else (5xx, timeouts, network) is retried by the deliverer.

At most one copy: a post made for an outbox row carries the row in its message `metadata`
(`{"event_type": "chatcrm_outbox", "event_payload": {"outbox_id", "key"}}`). A failure after which Slack may
have stored the message anyway (timeout, HTTP 5xx, the connection dropped, Slack's own `internal_error`)
is `ambiguous`; before posting again the deliverer asks `find_sent_now` whether the channel's recent
history (conversations.history with include_all_metadata) already holds it.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from anyascii import anyascii
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from cards.model import Card
from cards.render.slack import SlackLimitError, fit_card, to_message
from handlers.ports import DeliveryError, PlatformRef, Recipient, SendTag, SwarmSpec

log = logging.getLogger("chatcrm.slack.messenger")
PLATFORM = "slack"
NAME_MAX = 80
PERMANENT = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "user_not_found", "user_not_visible", "cant_update_message",
    "message_not_found", "edit_window_closed", "msg_too_long", "no_text", "invalid_blocks", "invalid_blocks_format",
    "msg_blocks_too_long", "too_many_attachments", "invalid_arguments", "invalid_arg_name", "invalid_auth",
    "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission", "missing_scope",
    "restricted_action", "cannot_dm_bot", "invalid_name", "invalid_name_specials", "invalid_name_maxlength",
    "invalid_name_punctuation", "invalid_name_required", "too_many_users", "cant_invite", "ekm_access_denied",
    "channel_is_archived", "team_access_not_granted", "is_bot", "method_deprecated", "not_allowed_token_type",
})
IGNORABLE_INVITE = frozenset({"already_in_channel", "cant_invite_self"})
# Errors about one of the invited people, not about the channel: skip that person, invite the rest.
USER_LEVEL_INVITE_ERRORS = IGNORABLE_INVITE | {
    "user_not_found", "cant_invite", "user_is_restricted", "user_is_ultra_restricted", "ura_max_channels",
    "user_team_not_in_channel", "failed_for_some_users", "user_disabled", "not_allowed", "invalid_users"}
# Slack's answers that mean "something went wrong on our side": the message may have been stored anyway.
AMBIGUOUS = frozenset({"internal_error", "fatal_error", "request_timeout", "service_unavailable"})
METADATA_TYPE = "chatcrm_outbox"
HISTORY_MARGIN = timedelta(minutes=2)  # Slack's clock vs ours, and the time the first call took
HISTORY_PAGE = 50  # messages per conversations.history page
HISTORY_PAGES = 4  # pages looked at, at most (newest first)
# The Web API client for a workspace (team id; None: unknown — the factory picks its default).
ClientFactory = Callable[[str | None], WebClient]
ChannelTeam = Callable[[str], str | None]


def channel_name(record_type: str, record_id: int, title: str) -> str:
    """Slack's rules: lowercase letters, digits, '-' and '_', at most 80 characters. Chinese (and other
    scripts) are transliterated to ASCII (深圳 → shenzhen); emoji and anything else are dropped."""
    prefix = f"{record_type}-{record_id}"
    words: list[str] = []
    for chunk in re.split(r"\s+", title or ""):
        kept = "".join(ch for ch in chunk if not unicodedata.category(ch).startswith(("S", "C")))
        ascii_text = anyascii(kept).lower()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
        if slug:
            words.append(slug)
    slug = "-".join(words)
    name = f"{prefix}-{slug}" if slug else prefix
    return name[:NAME_MAX].rstrip("-_")


def with_suffix(name: str, n: int) -> str:
    suffix = f"-{n}"
    return name[: NAME_MAX - len(suffix)].rstrip("-_") + suffix


def _team_extra(team: str | None) -> dict[str, Any]:
    return {"team": team} if team else {}


def _error_of(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or "unknown_error")
    except (AttributeError, TypeError):
        return "unknown_error"


def delivery_error(what: str, exc: Exception) -> DeliveryError:
    """A Slack failure as the deliverer understands it."""
    if isinstance(exc, SlackApiError):
        code = _error_of(exc)
        status = getattr(exc.response, "status_code", 200)
        if status == 429 or code == "ratelimited":
            headers = getattr(exc.response, "headers", {}) or {}
            raw = headers.get("Retry-After") or headers.get("retry-after") or "1"
            try:
                retry_after = float(raw[0] if isinstance(raw, list) else raw)
            except (TypeError, ValueError):
                retry_after = 1.0
            return DeliveryError(f"slack {what}: rate limited", retry_after=retry_after)
        return DeliveryError(f"slack {what}: {code}", permanent=code in PERMANENT,
                             ambiguous=code in AMBIGUOUS or status >= 500)
    if isinstance(exc, SlackLimitError):
        return DeliveryError(f"slack {what}: card breaks a Block Kit limit: {exc}", permanent=True)
    # Timeouts, dropped connections, an HTML error page: no answer we can trust either way.
    return DeliveryError(f"slack {what}: {exc.__class__.__name__}: {exc}", ambiguous=True)


def metadata_of(tag: SendTag) -> dict[str, Any]:
    return {"event_type": METADATA_TYPE, "event_payload": {"outbox_id": tag.outbox_id, "key": tag.key}}


def carries(message: dict[str, Any], tag: SendTag) -> bool:
    """Whether a message from conversations.history is the one posted for `tag`."""
    meta = message.get("metadata") or {}
    if not isinstance(meta, dict) or meta.get("event_type") != METADATA_TYPE:
        return False
    payload = meta.get("event_payload") or {}
    return str(payload.get("outbox_id")) == str(tag.outbox_id) and str(payload.get("key")) == str(tag.key)


class SlackMessenger:
    platform = PLATFORM

    def __init__(self, client_factory: ClientFactory, *, channel_team: ChannelTeam | None = None) -> None:
        self._client = client_factory
        self._channel_team = channel_team
        self._teams: dict[str, str | None] = {}  # channel id -> team, learnt in this process
        # Swarm channels whose creation got part of the way in this process: a retry resumes there
        # instead of creating a second channel. (record_type, record_id) -> progress.
        self._progress: dict[tuple[str, int], dict[str, Any]] = {}

    # --- direct messages and cards in place ---

    def send_now(self, recipient: Recipient, card: Card, *, tag: SendTag | None = None) -> PlatformRef:
        msg = self._render(card, "chat.postMessage")
        if tag is not None:
            msg["metadata"] = metadata_of(tag)
        team = recipient.team
        resp = self._call("chat.postMessage", lambda c: c.chat_postMessage(channel=recipient.external_id, **msg),
                          team)
        channel = resp.get("channel")
        if channel and team:
            self._teams[str(channel)] = team
        if channel and card.attachments:
            self.upload_files(str(channel), card, team)
        return PlatformRef(platform=PLATFORM, channel=channel, message_ref=resp.get("ts"), extra=_team_extra(team))

    def upload_files(self, channel: str, card: Card, team: str | None) -> None:
        """The card's files (the weekly digest's chart), into the conversation the card went to. The card is
        delivered already: a failed upload is logged, never retried (a retry would send the card twice)."""
        for att in card.attachments:
            try:
                self._call("files.upload", lambda c, a=att: c.files_upload_v2(
                    channel=channel, content=a.data(), filename=a.filename, title=a.filename), team)
            except DeliveryError as exc:
                log.warning("slack: could not upload %s to %s: %s", att.filename, channel, exc)

    def update_now(self, ref: PlatformRef, card: Card) -> PlatformRef:
        if not ref.channel or not ref.message_ref:
            raise DeliveryError("slack chat.update: no channel/ts to update", permanent=True)
        msg = self._render(card, "chat.update")
        team = (ref.extra or {}).get("team") or self.team_of_channel(ref.channel)
        resp = self._call("chat.update", lambda c: c.chat_update(channel=ref.channel, ts=ref.message_ref, **msg),
                          team)
        return PlatformRef(platform=PLATFORM, channel=resp.get("channel") or ref.channel,
                           message_ref=resp.get("ts") or ref.message_ref, extra={**ref.extra, **_team_extra(team)})

    def team_of_channel(self, channel: str | None) -> str | None:
        """The workspace of a channel this messenger posted to: learnt in this process, else looked up."""
        if not channel:
            return None
        if channel not in self._teams:
            team = None
            if self._channel_team is not None:
                try:
                    team = self._channel_team(channel)
                except Exception as exc:  # noqa: BLE001 - unknown team: the default token is the best guess
                    log.warning("slack: could not look up the team of channel %s: %s", channel, exc)
                    return None
            self._teams[channel] = team
        return self._teams[channel]

    # --- swarm channels ---

    def create_swarm_now(self, spec: SwarmSpec) -> PlatformRef:
        msg = self._render(spec.card, "swarm card")
        key = (spec.record_type, spec.record_id)
        team = spec.team
        state = self._progress.setdefault(key, {})
        if "channel" not in state:
            state["channel"], state["name"] = self._create_channel(spec)
        channel = state["channel"]
        self._teams[channel] = team
        if not state.get("invited"):
            self._invite(channel, [u for u in (spec.owner_external_id, *spec.member_external_ids) if u], team)
            state["invited"] = True
        if not state.get("topic") and spec.topic:
            self._call("conversations.setTopic", lambda c: c.conversations_setTopic(channel=channel,
                                                                                    topic=spec.topic[:250]), team)
            state["topic"] = True
        if "ts" not in state:
            resp = self._call("chat.postMessage", lambda c: c.chat_postMessage(channel=channel, **msg), team)
            state["ts"] = resp.get("ts")
        if not state.get("pinned") and state.get("ts"):
            self._pin(channel, state["ts"], team)
            state["pinned"] = True
        self._progress.pop(key, None)
        return PlatformRef(platform=PLATFORM, channel=channel, message_ref=state.get("ts"),
                           extra={"name": state["name"], **_team_extra(team)})

    def post_swarm_now(self, channel: str, card: Card, *, tag: SendTag | None = None,
                       team: str | None = None) -> PlatformRef:
        """A post into a channel: a swarm channel, or a team channel a notification route names (`team`: the
        workspace the route belongs to; else the one the channel was learnt in)."""
        msg = self._render(card, "chat.postMessage")
        if tag is not None:
            msg["metadata"] = metadata_of(tag)
        team = team or self.team_of_channel(channel)
        resp = self._call("chat.postMessage", lambda c: c.chat_postMessage(channel=channel, **msg), team)
        return PlatformRef(platform=PLATFORM, channel=resp.get("channel") or channel, message_ref=resp.get("ts"),
                           extra=_team_extra(team))

    def find_sent_now(self, channel: str, tag: SendTag, since: datetime, team: str | None = None) -> PlatformRef | None:
        """The message posted for `tag` in `channel` (a user id: the bot's DM with them) since about `since`,
        from the channel's recent history; None when it is not there. Raises DeliveryError when Slack cannot
        tell (the caller then retries later instead of posting blindly)."""
        team = team or self.team_of_channel(channel)
        if channel.startswith(("U", "W")):
            resp = self._call("conversations.open", lambda c: c.conversations_open(users=channel), team)
            channel = str((resp.get("channel") or {}).get("id") or channel)
        oldest = f"{(since - HISTORY_MARGIN).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            args: dict[str, Any] = {"channel": channel, "oldest": oldest, "limit": HISTORY_PAGE,
                                    "include_all_metadata": True}
            if cursor:
                args["cursor"] = cursor
            resp = self._call("conversations.history", lambda c, a=args: c.conversations_history(**a), team)
            for message in resp.get("messages") or []:
                if carries(message, tag):
                    if team:
                        self._teams[channel] = team
                    return PlatformRef(platform=PLATFORM, channel=channel, message_ref=message.get("ts"),
                                       extra=_team_extra(team))
            cursor = ((resp.get("response_metadata") or {}).get("next_cursor") or None) if resp.get("has_more") else None
            if not cursor:
                return None
        log.warning("slack: outbox row %s not among the last %d messages of %s; assuming it was not posted",
                    tag.outbox_id, HISTORY_PAGE * HISTORY_PAGES, channel)
        return None

    def archive_swarm_now(self, channel: str) -> None:
        self._call("conversations.archive", lambda c: c.conversations_archive(channel=channel),
                   self.team_of_channel(channel), done_if="already_archived")

    # --- helpers ---

    def _create_channel(self, spec: SwarmSpec) -> tuple[str, str]:
        base = channel_name(spec.record_type, spec.record_id, spec.title)
        name = base
        for n in range(2, 52):
            try:
                resp = self._client(spec.team).conversations_create(name=name, is_private=True)
            except SlackApiError as exc:
                if _error_of(exc) == "name_taken":
                    name = with_suffix(base, n)
                    continue
                raise delivery_error("conversations.create", exc) from exc
            except (SlackClientError, OSError) as exc:
                raise delivery_error("conversations.create", exc) from exc
            channel = resp.get("channel") or {}
            return str(channel["id"]), str(channel.get("name") or name)
        raise DeliveryError(f"slack conversations.create: no free name near {base!r}", permanent=True)

    def _invite(self, channel: str, users: list[str], team: str | None) -> None:
        users = list(dict.fromkeys(users))
        if not users:
            return
        try:
            self._client(team).conversations_invite(channel=channel, users=",".join(users))
            return
        except SlackApiError as exc:
            code = _error_of(exc)
            if code not in USER_LEVEL_INVITE_ERRORS:
                raise delivery_error("conversations.invite", exc) from exc
            if len(users) == 1:
                if code not in IGNORABLE_INVITE:
                    log.warning("slack: could not invite %s to %s: %s", users[0], channel, code)
                return
        except (SlackClientError, OSError) as exc:
            raise delivery_error("conversations.invite", exc) from exc
        for user in users:  # one bad id fails the whole call: invite one by one, skipping the bad ones
            self._invite(channel, [user], team)

    def _pin(self, channel: str, ts: str, team: str | None) -> None:
        self._call("pins.add", lambda c: c.pins_add(channel=channel, timestamp=ts), team, done_if="already_pinned")

    def _render(self, card: Card, what: str) -> dict[str, Any]:
        try:
            return to_message(fit_card(card))
        except (SlackLimitError, ValueError) as exc:
            raise DeliveryError(f"slack {what}: card breaks a Block Kit limit: {exc}", permanent=True) from exc

    def _call(self, what: str, fn: Callable[[WebClient], Any], team: str | None, *,
              done_if: str | None = None) -> Any:
        """One Web API call; a failure becomes a DeliveryError, except the error `done_if` that means the
        work is already done (already_archived, already_pinned): None then."""
        try:
            return fn(self._client(team))
        except SlackApiError as exc:
            if done_if is not None and _error_of(exc) == done_if:
                return None
            raise delivery_error(what, exc) from exc
        except (SlackClientError, OSError) as exc:
            raise delivery_error(what, exc) from exc
