"""What the console says around the messages waiting in a user's inbox."""
from __future__ import annotations

from cards.i18n import translator

CATALOG = {
    "inbox.more": {"en": "… {n} more unread (older). Press Enter on an empty line to see them.",
                   "zh_CN": "…… 还有 {n} 条未读消息（更早）。直接按回车（空行）查看。"},
}

t = translator(CATALOG)


def more_unread(locale: str, n: int) -> str:
    return t(locale, "inbox.more", n=n)
