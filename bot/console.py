"""The console adapter: chat with the bot in a terminal, same grammar and cards; buttons are numbers."""
from __future__ import annotations

import sys
from typing import TextIO

from sqlalchemy import select

from cards.model import Button, Reply
from cards.render.console import render_cards
from crm_core.errors import DomainError
from crm_core.models import User
from crm_core.services.users import user_by_key
from handlers.invocation import Invocation
from handlers.runner import Runner


class ConsoleSession:
    """One person at the terminal. `exec(line)` returns what they would see (errbot's testbot style)."""

    def __init__(self, runner: Runner, user_key: str) -> None:
        self.runner = runner
        with runner.session_factory() as session:
            try:
                user = user_by_key(session, user_key)
            except DomainError:
                keys = ", ".join(session.scalars(select(User.key).order_by(User.key)))
                raise SystemExit(f"No user with key {user_key!r}. Known users: {keys}") from None
            self.user_id = user.id
            self.user_name = user.name
        self.buttons: list[Button] = []
        self.last_reply: Reply | None = None

    def exec(self, line: str) -> str:
        line = line.strip()
        if not line:
            return ""
        if line.isdigit() and len(line) < 4:
            if not self.buttons:
                return "There are no buttons to press yet; type a command (help lists them). / 当前没有可按的按钮，请输入命令。"
            return self.press(int(line))
        return self._show(self.runner.run_text(self.user_id, line, platform="console"))

    def press(self, number: int) -> str:
        if not 1 <= number <= len(self.buttons):
            return f"No button {number}; choose 1–{len(self.buttons)}."
        button = self.buttons[number - 1]
        inv = Invocation(actor_id=self.user_id, kind="action", name=button.action, args={"value": button.value},
                         platform="console")
        return self._show(self.runner.run(inv))

    def _show(self, reply: Reply) -> str:
        self.last_reply = reply
        text, buttons = render_cards(reply.cards)
        self.buttons = buttons
        return text


def repl(session: ConsoleSession, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    interactive = stdin.isatty()
    if interactive:
        stdout.write(f"chatcrm console — you are {session.user_name}. Type help, or a number to press a button. "
                     "Ctrl-D to leave.\n")
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        out = session.exec(line)
        if out:
            stdout.write(out + "\n\n")
            stdout.flush()
