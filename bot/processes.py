"""Long-running processes started by the CLI: the outbox deliverer (`chatcrm worker`), the scheduler
(`chatcrm scheduler`), and both inside `chatcrm serve` when CHATCRM_EMBEDDED_WORKERS=1.

The inbox recovery (`InboxRecovery`, `recover_inbox`) runs wherever the deliverer runs, and once at the start
of every web process (bot/app.py): inbound requests a dead process acknowledged but did not finish.

This is where concrete messengers are wired into the deliverer (`build_messengers`).
"""
from __future__ import annotations

import importlib
import logging
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from typing import Any

import typer
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.console_messenger import ConsoleMessenger
from bot.logs import configure as configure_logging
from bot.wiring import Wiring
from cards.operator import operator_line
from crm_core import inbox
from handlers.ports import Messenger
from scheduler.leader import leader_for
from scheduler.service import SchedulerService
from scheduler.worker import DeliveryLoop

log = logging.getLogger("chatcrm.processes")

# (platform, module, function): each function takes the Wiring and returns a Messenger, or None when
# that platform is not configured. A platform whose module is missing is simply left out.
PLATFORM_MESSENGERS = (
    ("slack", "bot.slack.app", "slack_messenger"),
    ("wecom", "bot.wecom.runtime", "wecom_messenger"),
)


def build_messengers(w: Wiring) -> dict[str, Messenger]:
    """Every messenger this process can deliver through: the console always, Slack and WeCom when configured."""
    messengers: dict[str, Messenger] = {"console": ConsoleMessenger(w.session_factory, w.clock)}
    for platform, module_name, function in PLATFORM_MESSENGERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that adapter is not part of this build
            raise
        factory: Callable[[Wiring], Messenger | None] | None = getattr(module, function, None)
        messenger = factory(w) if factory is not None else None
        if messenger is not None:
            messengers[platform] = messenger
    return messengers


# Inbox rows each platform answers: (platform, module, function taking (Wiring, Item), inbox kinds).
INBOX_PROCESSORS = (
    ("slack", "bot.slack.inbox", "recover", ("slack.command", "slack.action")),
    ("wecom", "bot.wecom.runtime", "recover", ("wecom.callback",)),
)
RECOVERY_EVERY = 5.0  # seconds between recovery passes (at most; never longer than the lease)
PRUNE_EVERY = 60  # passes between two prunes of replied rows older than inbox.KEEP


def recover_inbox(w: Wiring, *, limit: int = 20) -> int:
    """One recovery pass over the inbox (crm_core.inbox): requests left pending, or done with the reply not
    sent, by a process that died (their lease ran out) are done — or only answered — now. Only the kinds of
    the platforms configured in this process are taken. Returns how many rows were handled; never raises."""
    enabled = {"slack": w.settings.slack_enabled, "wecom": w.settings.wecom_enabled}
    processors: dict[str, Callable[[Wiring, inbox.Item], None]] = {}
    for platform, module_name, function, kinds in INBOX_PROCESSORS:
        if enabled.get(platform):
            fn = getattr(importlib.import_module(module_name), function)
            processors.update({kind: fn for kind in kinds})
    if not processors:
        return 0
    try:
        items = inbox.claim_due(w.session_factory, w.clock.now(), kinds=tuple(processors),
                                lease=timedelta(seconds=w.settings.chatcrm_inbox_lease_seconds), limit=limit)
    except Exception:  # noqa: BLE001 - the next pass tries again
        log.exception("inbox recovery: claiming rows failed")
        return 0
    for item in items:
        log.warning("inbox recovery: %s (%s, received %s) — %s", item.key, item.status, item.received_at,
                    "redoing the work" if item.status == "pending" else "sending the stored reply")
        try:
            processors[item.kind](w, item)
        except Exception:  # noqa: BLE001 - processors record their own failures; this is the last line
            log.exception("inbox recovery: %s failed", item.key)
    return len(items)


class InboxRecovery:
    """Recovery passes in a thread: one at start, then every few seconds, until stopped."""

    def __init__(self, w: Wiring) -> None:
        self.w = w
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self.every = min(RECOVERY_EVERY, max(0.2, w.settings.chatcrm_inbox_lease_seconds))

    def run(self) -> None:
        passes = 0
        while True:
            try:
                while recover_inbox(self.w) and not self.stop_event.is_set():
                    pass
                if passes % PRUNE_EVERY == 0:
                    inbox.prune(self.w.session_factory, self.w.clock.now())
                passes += 1
            except Exception:  # noqa: BLE001 - a pass that fails is logged; the next one runs anyway
                log.exception("inbox recovery pass failed")
            if self.stop_event.wait(self.every):
                return

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="inbox-recovery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def recover_at_start(w: Wiring) -> threading.Thread:
    """A web process without the embedded workers: one recovery pass at start, in the background."""
    def one_pass() -> None:
        while recover_inbox(w):
            pass

    thread = threading.Thread(target=one_pass, name="inbox-recovery-at-start", daemon=True)
    thread.start()
    return thread


def delivery_loop(w: Wiring, **options: Any) -> DeliveryLoop:
    return DeliveryLoop(w.session_factory, build_messengers(w), w.clock, w.config, **options)


def scheduler_service(w: Wiring, name: str = "scheduler") -> SchedulerService:
    return SchedulerService(w.runner.uow_factory, leader_for(w.engine, name=name))


def _stop_on_signals(stop: Callable[[], None]) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        stop()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def run_worker(w: Wiring) -> None:
    configure_logging(w.settings.chatcrm_log_format)  # text or json (CHATCRM_LOG_FORMAT)
    w.prepare_database()
    loop = delivery_loop(w)
    recovery = InboxRecovery(w)
    recovery.start()
    _stop_on_signals(lambda: (loop.stop_event.set(), recovery.stop_event.set()))
    typer.echo(operator_line("worker.started", platforms=", ".join(sorted(loop.deliverer.messengers))))
    loop.run()


def run_scheduler(w: Wiring) -> None:
    configure_logging(w.settings.chatcrm_log_format)  # text or json (CHATCRM_LOG_FORMAT)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our jobs log what they do
    w.prepare_database()
    service = scheduler_service(w)
    sched = service.build(BlockingScheduler(timezone=w.config.company.timezone))
    _stop_on_signals(lambda: sched.shutdown(wait=False))
    typer.echo(operator_line("scheduler.started", jobs=", ".join(service.specs)))
    try:
        sched.start()  # blocks until shutdown
    finally:
        service.leader.release()


def embed_workers(w: Wiring) -> None:
    """`chatcrm serve` with CHATCRM_EMBEDDED_WORKERS=1: the deliverer and the scheduler run in this
    process, started and stopped with the app (hooks in w.lifespan)."""
    loop = delivery_loop(w)
    service = scheduler_service(w, name="embedded scheduler")
    recovery = InboxRecovery(w)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    def start() -> None:
        loop.start()
        service.start()
        recovery.start()

    def stop() -> None:
        recovery.stop()
        service.stop()
        loop.stop()

    w.lifespan.on_start.append(start)
    w.lifespan.on_stop.append(stop)
