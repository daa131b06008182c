"""The console adapter: chat with the bot in a terminal, same grammar and cards; buttons are numbers."""
from __future__ import annotations

import logging
import secrets
import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from bot.console_messenger import ConsoleInbox
from cards.builders.inbox import more_unread
from cards.i18n import translator
from cards.model import Attachment, Button, Card, Reply
from cards.render.console import render_card, render_cards
from crm_core.db import read_only
from crm_core.errors import DomainError
from crm_core.models import User
from crm_core.services.users import locale_of, user_by_key
from handlers.invocation import Invocation
from handlers.runner import Runner

log = logging.getLogger("chatcrm.console")

t = translator("console")



class ConsoleSession:
    """One person at the terminal. `exec(line)` returns what they would see (errbot's testbot style)."""

    def __init__(self, runner: Runner, user_key: str, *, inbox: bool = False, files_dir: Path | None = None) -> None:
        self.runner = runner
        # Attachments of replies (quote documents) are written here; the reply shows the path.
        self.files_dir = files_dir or Path("chatcrm-files")
        with read_only(runner.session_factory)() as session:
            try:
                user = user_by_key(session, user_key)
            except DomainError:
                keys = ", ".join(session.scalars(select(User.key).order_by(User.key)))
                raise SystemExit(f"No user with key {user_key!r}. Known users: {keys}") from None
            self.user_id = user.id
            self.user_name = user.name
            self.locale = locale_of(user, runner.config)
        self.buttons: list[Button] = []
        self.last_reply: Reply | None = None
        # Messages the deliverer put in this user's console inbox, shown before each reply.
        self.inbox = ConsoleInbox(runner.session_factory, runner.clock, self.user_id) if inbox else None

    def exec(self, line: str) -> str:
        line = line.strip()
        if not line:
            return self._show(Reply()) if self.inbox is not None else ""
        if line.isdigit() and len(line) < 4:
            if not self.buttons:
                return t(self.locale, "no_buttons")
            return self.press(int(line))
        return self._show(self.runner.run_text(self.user_id, line, platform="console"))

    def press(self, number: int) -> str:
        if not 1 <= number <= len(self.buttons):
            return t(self.locale, "no_such_button", number=number, last=len(self.buttons))
        button = self.buttons[number - 1]
        inv = Invocation(actor_id=self.user_id, kind="action", name=button.action, args={"value": button.value},
                         platform="console")
        return self._show(self.runner.run(inv))

    def _show(self, reply: Reply) -> str:
        self.last_reply = reply
        incoming: list[tuple[Card, str | None, bool]] = []
        more = 0
        if self.inbox is not None:
            try:
                page = self.inbox.take_page()
                incoming, more = page.items, page.more
            except Exception:  # noqa: BLE001 - the reply is shown anyway; the messages stay unseen for next time
                log.warning("console: could not read the inbox of user %s", self.user_id, exc_info=True)
        if not incoming and not reply.cards:
            return ""  # nothing new: the buttons shown last stay pressable
        parts: list[str] = []
        buttons: list[Button] = []
        for card, channel, updated in incoming:
            text, card_buttons = render_card(card, first_number=len(buttons) + 1)
            parts.append(_incoming_header(card, channel, updated) + "\n" + text)
            parts.extend(t(self.locale, "file", path=path) for path in save_attachments(card.attachments, self.files_dir))
            buttons.extend(card_buttons)
        if more:
            parts.append(more_unread(self.locale, more))
        if reply.cards:
            # The reply's buttons are numbered after the incoming ones.
            text, reply_buttons = render_cards(reply.cards, already=len(buttons))
            parts.append(text)
            buttons.extend(reply_buttons)
        parts.extend(t(self.locale, "file", path=path) for path in save_attachments(reply.attachments, self.files_dir))
        self.buttons = buttons
        return "\n\n".join(parts)


def save_attachments(attachments: tuple[Attachment, ...], directory: Path) -> list[Path]:
    """Write each attachment into the directory (created when needed); returns the paths written."""
    if not attachments:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for att in attachments:
        path = directory / Path(att.filename).name  # never outside the directory
        path.write_bytes(att.data())  # text as UTF-8; a PDF or a PNG as it is
        paths.append(path)
    return paths


def _incoming_header(card: Card, channel: str | None, updated: bool) -> str:
    where = f" #{channel}" if channel else ""
    return t(card.locale, "updated" if updated else "incoming", where=where)


def exec_safely(session: ConsoleSession, line: str) -> str:
    """`session.exec(line)`, but a crash (the database away, a bug) becomes a short message with a
    reference that is also in the log; the console never dies and what was typed is shown back."""
    try:
        return session.exec(line)
    except Exception as exc:  # noqa: BLE001 - the console is the last place that can turn a crash into an id
        ref = secrets.token_hex(4)
        log.error("console: internal error ref=%s user=%s line=%r", ref, session.user_id, line.strip(), exc_info=exc)
        return t(getattr(session, "locale", "en"), "crashed", ref=ref, line=line.strip())


def repl(session: ConsoleSession, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    interactive = stdin.isatty()
    if interactive:
        stdout.write(t(session.locale, "welcome", name=session.user_name) + "\n")
        waiting = exec_safely(session, "")  # messages that arrived while away
        if waiting:
            stdout.write(waiting + "\n\n")
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        out = exec_safely(session, line)
        if out:
            stdout.write(out + "\n\n")
            stdout.flush()
