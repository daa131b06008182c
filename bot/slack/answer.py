"""Answering a Slack request as soon as its work is done, and the bounded queue in front of that work.

- `InlineSlot`: a slash command whose work finishes within the budget (CHATCRM_SLACK_REPLY_WITHIN, default
  1 s; Slack allows 3 s) is answered in the HTTP response itself: one round trip, no response_url post. When
  the budget runs out first, the request is acked empty and the answer goes to the response_url when ready.
  Exactly one of the two happens: the worker `offer`s the ready reply and the waiting request either takes it
  (the inbox row is marked replied, then the reply leaves in the HTTP response) or has already gone (the
  worker posts to the response_url). Waiting is on an Event, never a sleep-and-poll.
- `WorkQueue`: the work after the ack runs on a few threads behind a bounded queue. A request that finds it
  full is still written to the durable inbox (bot/slack/inbox.py), due at once, and the person is told
  "busy, your command is queued"; each worker drains such rows after its own task (on PostgreSQL any web or
  worker process's recovery pass may take them too).
- Work and sends apart: a task may end by returning its send (a `Send`: the post to the response_url, the
  Home view's publish), which runs on a pool of its own. The work threads do what needs the CPU and the
  database and never wait on Slack's network, so there can be few of them: on SQLite every extra runnable
  thread only hands the GIL back and forth (bench/ack.py, 32 users reading: 236 replies/s with 8 work
  threads, 303 with 2, medians of seven alternated runs), while a send mostly waits, its GIL released. A
  request keeps its place in the queue until its send is done, so the bound still counts every request not
  yet answered.

- `AFTER_RESPONSE`: work an event starts after its ack (the Home tab built, a 📌 looked up) is handed to the
  work threads only once the HTTP response has gone (bot/slack/app.py): started earlier, it competed for
  the GIL with the very response it follows.

Clicks (block_actions) are never answered inline: Slack ignores the body of their HTTP response, so they are
acked at once and answered through the response_url the moment the work is done.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

log = logging.getLogger("chatcrm.slack.answer")

# Set by the route around one request's dispatch: work its listeners deferred, to start after the response.
AFTER_RESPONSE: ContextVar["list[Callable[[], None]] | None"] = ContextVar("chatcrm_after_response", default=None)


@contextmanager
def held_until_response() -> Iterator[list[Callable[[], None]]]:
    """Around a dispatch: what its listeners defer (`SlackContext.defer`) is collected here instead of
    started; the caller starts it once the response is out (`start_all`). Should the dispatch raise, it is
    started at once: the work was wanted whatever became of the response."""
    held: list[Callable[[], None]] = []
    token = AFTER_RESPONSE.set(held)
    try:
        yield held
    except BaseException:
        start_all(held)
        raise
    finally:
        AFTER_RESPONSE.reset(token)


def start_all(held: list[Callable[[], None]]) -> None:
    """Start what a request held back (a submit each: it never waits)."""
    for start in held:
        try:
            start()
        except Exception:  # noqa: BLE001 - one that cannot start (shutting down) must not stop the others
            log.exception("slack: deferred work could not start")
    held.clear()


class InlineSlot:
    """One request's chance to carry its own answer. States: waiting → claimed (the worker has the reply and
    is recording it) → answered; or waiting → gone (the budget ran out; the answer goes to response_url)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = "waiting"
        self._done = threading.Event()
        self._message: dict[str, Any] | None = None

    def offer(self) -> bool:
        """Worker: the reply is ready. True: the request is still waiting and now expects `answer()` (or
        `withdraw()`); False: it has gone, send the reply the other way."""
        with self._lock:
            if self._state != "waiting":
                return False
            self._state = "claimed"
            return True

    def answer(self, message: dict[str, Any]) -> None:
        """Worker, after `offer()` and after the inbox row was marked replied: hand the message over."""
        with self._lock:
            self._message, self._state = message, "answered"
        self._done.set()

    def withdraw(self) -> None:
        """Worker: no inline answer after all (recording it failed, or the work ended without a reply to
        give); the request acks empty. A no-op once answered."""
        with self._lock:
            if self._state == "answered":
                return
            self._state = "gone"
        self._done.set()

    def wait(self, budget: float) -> dict[str, Any] | None:
        """Request thread: the answer, if the worker had it within `budget` seconds; else None (ack empty)."""
        if not self._done.wait(budget):
            with self._lock:
                if self._state == "waiting":
                    self._state = "gone"
                    return None
            self._done.wait()  # claimed: the worker is committing "replied"; a short transaction, then answer()
        with self._lock:
            return self._message if self._state == "answered" else None


Send = Callable[[], Any]  # what a task hands on to the send pool: a call that waits on Slack


class InlineExecutor(Executor):
    """Runs each task at once, in the caller's thread (a context with no work pool; tests)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the Future, as a real executor does
            future.set_exception(exc)
        return future


class WorkQueue:
    """A bounded queue of work in front of an executor: `capacity` tasks running or waiting at most. A task
    that returns a `Send` has it run on `sends` (inline when there is none) and keeps its place until then."""

    def __init__(self, executor: Executor, capacity: int, sends: Executor | None = None) -> None:
        self.executor = executor
        self.sends = sends
        self.capacity = capacity
        self._free = threading.BoundedSemaphore(capacity)
        self.overflowed = threading.Event()  # requests were left in the inbox because the queue was full
        self.drain: Callable[[], int] | None = None  # takes such rows (set by the Slack app); how many it did

    def reserve(self) -> bool:
        """A place in the queue, or False when it is full (never blocks)."""
        return self._free.acquire(blocking=False)

    def release(self) -> None:
        self._free.release()

    def run(self, fn: Callable[..., Send | None], /, **kwargs: Any) -> None:
        """Run `fn(**kwargs)` in a place taken with `reserve()`; the place is freed when it ends, or when the
        send it returned is done."""
        def task() -> None:
            send = None
            try:
                send = fn(**kwargs)
            finally:
                if send is None:
                    self._free.release()
            if send is not None:
                self._send(send, self._free.release)
            self._drain_overflow()

        self.executor.submit(task).add_done_callback(log_escaped)

    def submit(self, fn: Callable[..., Send | None], /, **kwargs: Any) -> None:
        """Work that must not be refused (after a modal closed, the Home tab): queued even when full."""
        def task() -> None:
            send = fn(**kwargs)
            if send is not None:
                self._send(send, None)

        self.executor.submit(task).add_done_callback(log_escaped)

    def _send(self, send: Send, then: Callable[[], Any] | None) -> None:
        def task() -> None:
            try:
                send()
            finally:
                if then is not None:
                    then()

        if self.sends is None:
            task()
        else:
            self.sends.submit(task).add_done_callback(log_escaped)

    def _drain_overflow(self) -> None:
        while self.overflowed.is_set() and self.drain is not None:
            self.overflowed.clear()
            try:
                if self.drain():
                    self.overflowed.set()  # there may be more
            except Exception:  # noqa: BLE001 - the recovery pass takes them later
                log.exception("slack: draining queued requests failed; the recovery pass will take them")
                return


def log_escaped(future: Future[Any]) -> None:
    """A done-callback for deferred work: what escaped its own guard is logged, never lost."""
    exc = future.exception()
    if exc is not None:
        log.error("slack: deferred work failed outside its guard", exc_info=exc)


__all__ = ["AFTER_RESPONSE", "InlineSlot", "Send", "WorkQueue", "held_until_response", "log_escaped", "start_all"]
