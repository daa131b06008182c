"""Long-running processes started by the CLI: the outbox deliverer (`chatcrm worker`), the scheduler
(`chatcrm scheduler`), and both inside `chatcrm serve` when CHATCRM_EMBEDDED_WORKERS=1.

This is where concrete messengers are wired into the deliverer (`build_messengers`).
"""
from __future__ import annotations

import importlib
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import typer
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.console_messenger import ConsoleMessenger
from bot.wiring import Wiring
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


def delivery_loop(w: Wiring, **options: Any) -> DeliveryLoop:
    return DeliveryLoop(w.session_factory, build_messengers(w), w.clock, w.config, **options)


def scheduler_service(w: Wiring, name: str = "scheduler") -> SchedulerService:
    return SchedulerService(w.session_factory, w.config, w.clock, leader_for(w.engine, name=name))


def _stop_on_signals(stop: Callable[[], None]) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        stop()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def run_worker(w: Wiring) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    w.prepare_database()
    loop = delivery_loop(w)
    _stop_on_signals(loop.stop_event.set)
    typer.echo(f"chatcrm worker: delivering through {', '.join(sorted(loop.deliverer.messengers))}. Ctrl-C to stop.")
    loop.run()


def run_scheduler(w: Wiring) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our jobs log what they do
    w.prepare_database()
    service = scheduler_service(w)
    sched = service.build(BlockingScheduler(timezone=w.config.company.timezone))
    _stop_on_signals(lambda: sched.shutdown(wait=False))
    typer.echo(f"chatcrm scheduler: jobs {', '.join(service.specs)}; on PostgreSQL only the holder of the "
               "scheduler lock fires them. Ctrl-C to stop.")
    try:
        sched.start()  # blocks until shutdown
    finally:
        service.leader.release()


def embed_workers(w: Wiring) -> None:
    """`chatcrm serve` with CHATCRM_EMBEDDED_WORKERS=1: the deliverer and the scheduler run in this
    process, started and stopped with the app (lifespan hooks in w.extras)."""
    loop = delivery_loop(w)
    service = scheduler_service(w, name="embedded scheduler")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    def start() -> None:
        loop.start()
        service.start()

    def stop() -> None:
        service.stop()
        loop.stop()

    w.extras.setdefault("on_start", []).append(start)
    w.extras.setdefault("on_stop", []).append(stop)
