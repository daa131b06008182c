"""What the console says around the messages waiting in a user's inbox."""
from __future__ import annotations

from cards.i18n import translator


t = translator("inbox")


def more_unread(locale: str, n: int) -> str:
    return t(locale, "inbox.more", n=n)
