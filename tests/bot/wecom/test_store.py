"""The adapter's shared state under concurrency: one claim per callback, one use per response code."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bot.wecom.crypto import WeComCallback
from bot.wecom.runtime import WeComRuntime
from cards.model import Card


def race(n: int, fn: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_wecoms_retries_racing_each_other_are_claimed_once(wecom_rt: WeComRuntime) -> None:
    cb = WeComCallback(kind="text", from_user="lilei", create_time="1", msg_type="text", content="我的", msg_id="42")
    assert race(6, lambda: wecom_rt.inbound.claim(cb)).count(True) == 1


def test_a_response_code_is_taken_once_even_by_racing_workers(wecom_rt: WeComRuntime) -> None:
    cards = wecom_rt.messenger.cards
    task = cards.new_task_id(Card(title="x", kind="approval", ref="A-1"))
    cards.record_task(task, "wangfang", Card(title="x"))
    cards.add_code(task, "RC-only", "send")
    taken = [r for r in race(6, lambda: cards.take_code(task)) if r is not None]
    assert [code for _, code in taken] == ["RC-only"]
    cards.give_back(taken[0][0])
    assert cards.take_code(task) is not None and cards.take_code(task) is None


def test_task_ids_follow_wecoms_rules() -> None:
    from bot.wecom.store import CardStore
    tid = CardStore.new_task_id(Card(title="x", kind="奇怪 kind", ref="报价 Q-1"))
    assert tid.startswith("crm-") and all(c.isascii() and (c.isalnum() or c in "_-@") for c in tid)
    long = CardStore.new_task_id(Card(title="x", kind="k" * 300, ref="r"))
    assert len(long.encode()) <= 128


def test_housekeeping_forgets_old_callbacks_tasks_and_codes(wecom_rt: WeComRuntime, clock) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from crm_core.models import WeComCardTask, WeComInbound, WeComResponseCode
    cards = wecom_rt.messenger.cards
    old = WeComCallback(kind="text", from_user="lilei", create_time="1", msg_type="text", msg_id="1")
    assert wecom_rt.inbound.claim(old)
    cards.record_task("old-task", "lilei", Card(title="x"))
    cards.add_code("old-task", "RC-old", "send")
    clock.advance(days=31)
    new = WeComCallback(kind="text", from_user="lilei", create_time="2", msg_type="text", msg_id="2")
    assert wecom_rt.inbound.claim(new)
    cards.record_task("new-task", "lilei", Card(title="x"))
    cards.add_code("new-task", "RC-new", "send")
    wecom_rt.inbound.housekeeping()
    with wecom_rt.messenger.cards._factory() as s:
        assert list(s.scalars(select(WeComInbound.key))) == [new.dedupe_key]
        assert list(s.scalars(select(WeComCardTask.task_id))) == ["new-task"]
        assert s.scalar(select(func.count(WeComResponseCode.id))) == 1
    assert not wecom_rt.inbound.claim(new)  # still remembered: a retry is still a retry
