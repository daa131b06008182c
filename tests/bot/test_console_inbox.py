"""The console inbox: newest first, 20 at a time, and "N more unread" when more are waiting — in the
reader's language. (Before: the 20 OLDEST, and no word about the rest.)"""
from __future__ import annotations

import re

import pytest

from bot.console import ConsoleSession
from bot.console_messenger import ConsoleMessenger
from cards.builders.common import notice_card
from handlers.ports import Recipient


def deliver(wiring, user_id, key: str, locale: str, titles: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Deliver one card per title into `key`'s console inbox, a minute apart; returns the message refs."""
    messenger = ConsoleMessenger(wiring.session_factory, wiring.clock)
    refs = []
    for title in titles:
        wiring.clock.advance(minutes=1)
        ref = messenger.send_now(Recipient(user_id(key), "console", key, locale), notice_card(locale, title))
        refs.append(ref)
    return refs


def shown(out: str) -> list[str]:
    """Titles of the incoming messages, in the order the console printed them."""
    return re.findall(r"(msg \d+)", out)


@pytest.mark.parametrize(("key", "locale", "more", "header"), [
    ("emma", "en", "… 5 more unread (older). Press Enter on an empty line to see them.", ">> new message"),
    ("li", "zh_CN", "…… 还有 5 条未读消息（更早）。直接按回车（空行）查看。", ">> 新消息"),
])
def test_newest_first_twenty_at_a_time_and_how_many_more(wiring, user_id, key, locale, more, header):  # type: ignore[no-untyped-def]
    deliver(wiring, user_id, key, locale, [f"msg {i}" for i in range(1, 26)])
    session = ConsoleSession(wiring.runner, key, inbox=True)
    first = session.exec("")
    assert shown(first) == [f"msg {i}" for i in range(25, 5, -1)]  # the 20 newest, newest first
    assert first.count(header) == 20
    assert more in first
    assert first.rstrip().endswith(more)  # said after the messages
    second = session.exec("")
    assert shown(second) == [f"msg {i}" for i in range(5, 0, -1)]  # the older five, then nothing more
    assert "unread" not in second and "未读" not in second
    assert session.exec("") == ""


def test_no_more_line_at_exactly_one_page_and_a_reply_comes_after(wiring, user_id):  # type: ignore[no-untyped-def]
    deliver(wiring, user_id, "emma", "en", [f"msg {i}" for i in range(1, 21)])
    session = ConsoleSession(wiring.runner, "emma", inbox=True)
    out = session.exec("help")
    assert shown(out)[:20] == [f"msg {i}" for i in range(20, 0, -1)]
    assert "more unread" not in out
    last = out.rindex("msg 1")
    assert "lead" not in out[:last] and "lead" in out[last:]  # the reply (help) follows the incoming messages


def test_a_card_updated_just_now_comes_before_newer_arrivals(wiring, user_id):  # type: ignore[no-untyped-def]
    refs = deliver(wiring, user_id, "emma", "en", ["msg 1", "msg 2", "msg 3"])
    wiring.clock.advance(minutes=1)
    ConsoleMessenger(wiring.session_factory, wiring.clock).update_now(refs[0], notice_card("en", "msg 1 decided"))
    out = ConsoleSession(wiring.runner, "emma", inbox=True).exec("")
    assert shown(out) == ["msg 1", "msg 3", "msg 2"]
    assert out.index(">> updated message") < out.index("msg 3")
