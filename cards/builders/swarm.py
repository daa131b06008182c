"""Swarm channel cards: the reply to `swarm D-7`, one-line updates, and the summary posted on close."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.format import short
from cards.format import t as labels_t  # how a list is joined in the reader's language
from cards.i18n import translator
from cards.model import Card, Context, Field, Section

t = translator("swarm")

TITLE_NAME_MAX = 100  # keeps every title well inside Slack's 150-character header


def swarm_line_card(locale: str, ref: str, name: str, line: str) -> Card:
    """A one-line update posted into a record's swarm channel."""
    return Card(title=f"{ref} · {short(name, TITLE_NAME_MAX)}", locale=locale, blocks=(Section(short(line, 2900)),),
                kind="swarm.update", ref=ref)


@dataclass(frozen=True)
class CloseSummary:
    ref: str
    name: str
    won: bool
    amount: str | None
    owner: str
    closed_by: str
    days_open: int
    activities: int
    reason: str | None = None
    history: tuple["HistoryLine", ...] = ()  # what happened, oldest first: logged activities, stages, decisions


@dataclass(frozen=True)
class HistoryLine:
    at: str  # company time
    kind: str  # activity | stage | approval
    who: str
    text: str  # the activity's text, "from → to", or the approval's status


def history_text(locale: str, lines: Sequence[HistoryLine]) -> str:
    return "\n".join(t(locale, f"history.{h.kind}", at=h.at, who=h.who, text=short(h.text, 200)) for h in lines)


def swarm_summary_card(locale: str, v: CloseSummary, *, archiving: bool) -> Card:
    fields = [Field(t(locale, "f.amount"), v.amount or "—"), Field(t(locale, "f.owner"), v.owner),
              Field(t(locale, "f.closed_by"), v.closed_by), Field(t(locale, "f.days_open"), t(locale, "days", n=v.days_open)),
              Field(t(locale, "f.activities"), str(v.activities))]
    if v.reason:
        fields.append(Field(t(locale, "f.reason"), short(v.reason, 1500)))
    blocks: tuple[Section | Context, ...] = ()
    if v.history:
        blocks += (Section(t(locale, "history.title") + "\n" + short(history_text(locale, v.history), 2800)),)
    if archiving:
        blocks += (Context(t(locale, "swarm.archived_note")),)
    title = t(locale, "swarm.won" if v.won else "swarm.lost", ref=v.ref, name=short(v.name, TITLE_NAME_MAX))
    return Card(title=title, locale=locale, fields=tuple(fields), blocks=blocks, kind="swarm.summary", ref=v.ref)


def swarm_status_card(locale: str, ref: str, name: str, *, channels: Sequence[str] = (), pending: bool = False,
                      invite_tags: Sequence[str] = ()) -> Card:
    """The reply to `swarm D-7`: the existing channel(s), or that creation is under way."""
    if channels:
        text = t(locale, "swarm.exists", ref=ref, channels=labels_t(locale, "sep").join(channels))
    elif pending:
        text = t(locale, "swarm.pending", ref=ref)
    else:
        tags = labels_t(locale, "sep").join(invite_tags) if invite_tags else t(locale, "swarm.tags_none")
        text = t(locale, "swarm.requested", ref=ref, name=short(name, TITLE_NAME_MAX), tags=tags)
    return Card(title=t(locale, "swarm.title", ref=ref), locale=locale, blocks=(Section(text),), kind="swarm", ref=ref)


def pinned_line(locale: str, ref: str, who: str) -> Card:
    """The channel's one line after a 📌: the message is now on the deal."""
    return Card(title=t(locale, "pin.title", ref=ref), locale=locale, blocks=(Section(t(locale, "pin.logged", ref=ref,
                                                                                          who=who)),),
                kind="swarm.update", ref=ref)


# --- a message typed in a group chat, logged to a deal (WeCom: `@bot 记录 …`; handlers/conversation.py) -----

def group_logged_card(locale: str, ref: str, name: str, who: str, text: str) -> Card:
    """The answer in the group: what was logged, to which deal, by whom."""
    return Card(title=t(locale, "group.logged_title", ref=ref, name=short(name, TITLE_NAME_MAX)), locale=locale,
                blocks=(Section(f"“{short(text, 300)}”"), Context(t(locale, "group.logged_by", who=who))),
                kind="swarm.update", ref=ref)


def group_not_linked_card(locale: str) -> Card:
    """`记录 <text>` where the chat is no deal's group: how to name the deal instead."""
    return Card(title=t(locale, "group.not_linked_title"), locale=locale,
                blocks=(Section(t(locale, "group.not_linked_body")),), kind="usage")


def group_linked_card(locale: str, ref: str, name: str) -> Card:
    """`绑定 D-12` in a group chat: from now on `记录 <text>` there logs to that deal."""
    return Card(title=t(locale, "group.linked_title", ref=ref, name=short(name, TITLE_NAME_MAX)), locale=locale,
                blocks=(Section(t(locale, "group.linked_body", ref=ref)),), kind="swarm.update", ref=ref)


def group_log_how_card(locale: str, ref: str) -> Card:
    """`记录` with nothing after it."""
    return Card(title=t(locale, "group.how_title"), locale=locale, blocks=(Section(t(locale, "group.how_body", ref=ref)),),
                kind="usage", ref=ref)


def group_unknown_sender_card(locale: str, userid: str) -> Card:
    """A sender whose chat id is nobody in the CRM: nothing is logged, and this is how to fix it."""
    return Card(title=t(locale, "group.unknown_title"), locale=locale,
                blocks=(Section(t(locale, "group.unknown_body", userid=userid)),), kind="error")


def group_commands_elsewhere_card(locale: str) -> Card:
    """A command other than `记录` typed in a group: the group would see the answer, so it is not given here."""
    return Card(title=t(locale, "group.elsewhere_title"), locale=locale,
                blocks=(Section(t(locale, "group.elsewhere_body")),), kind="usage")
