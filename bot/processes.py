"""Long-running processes started by the CLI. The worker and scheduler arrive with their issue."""
from __future__ import annotations

from pathlib import Path

import typer

from bot.wiring import Wiring


def run_worker(w: Wiring) -> None:
    del w
    typer.echo("chatcrm worker: not yet — the outbox deliverer arrives with the scheduler issue.")


def run_scheduler(w: Wiring) -> None:
    del w
    typer.echo("chatcrm scheduler: not yet — scheduled jobs arrive with the scheduler issue.")


def run_import(w: Wiring, file: Path) -> None:
    del w
    typer.echo(f"chatcrm import leads {file}: not yet — bulk import arrives with the load-and-faults issue.")
    raise typer.Exit(1)
