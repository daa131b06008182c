"""The `chatcrm` command line (INTERFACE.md: serve, console, worker, scheduler, db upgrade, demo, import, check-config)."""
from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.settings import Settings
from crm_core.config import load_config
from crm_core.errors import ConfigError

app = typer.Typer(help="chatcrm — a CRM you run from chat.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk import.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
err = Console(stderr=True, soft_wrap=True, highlight=False)


def _settings(*, platforms: bool = False) -> Settings:
    """The process settings, or exit 2 with one line (English / Chinese) naming what is wrong: a value
    that does not parse, or (for the long-running processes, `platforms`) a half-configured platform."""
    from pydantic import ValidationError

    from bot.settings import half_configuration_line
    try:
        settings = Settings()
    except ValidationError as exc:
        bad = "; ".join(f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())
        typer.echo(f"chatcrm: refusing to start: invalid environment variable {bad} / 拒绝启动：环境变量取值无效 {bad}",
                   err=True)
        raise typer.Exit(2) from None
    problems = settings.missing_variables() if platforms else []
    if problems:
        typer.echo(half_configuration_line(problems), err=True)
        raise typer.Exit(2)
    return settings


def _wiring(*, platforms: bool = False):  # type: ignore[no-untyped-def]
    from bot.wiring import build
    settings = _settings(platforms=platforms)
    try:
        w = build(settings)
    except ConfigError as exc:
        _config_problems(exc)
        raise typer.Exit(2) from None
    return w


class OneLineFormatter(logging.Formatter):
    """Log lines for a person at a terminal: the exception's type and first line, never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        exc_info, exc_text = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text = exc_info, exc_text
        if exc_info and exc_info[1] is not None:
            first = (str(exc_info[1]).strip().splitlines() or [""])[0][:300]
            line += f" ({type(exc_info[1]).__name__}: {first})"
        return line


def _terminal_logging() -> None:
    """Commands a person runs in a terminal (console, demo, import, db upgrade) log warnings to stderr
    one line each, with the reference the person was shown."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


@contextmanager
def _database_errors(what: str) -> Iterator[None]:
    """A database that is away or busy ends the command with a short message and an error id, not a traceback."""
    from sqlalchemy.exc import DBAPIError
    try:
        yield
    except DBAPIError as exc:
        ref = secrets.token_hex(4)
        logging.getLogger("chatcrm.cli").error("%s: database error ref=%s", what, ref, exc_info=exc)
        err.print(f"[red]{what}: the database is unavailable (reference {ref}). Check DATABASE_URL and that the "
                  f"database is running, then try again.[/red]")
        err.print(f"[red]{what}：数据库暂时不可用（参考编号 {ref}）。请检查 DATABASE_URL 和数据库是否在运行，然后重试。[/red]")
        raise typer.Exit(1) from None


def _config_problems(exc: ConfigError) -> None:
    err.print("[red]The configuration has problems: / 配置文件有以下问题：[/red]")
    for path, msg in exc.problems:
        err.print(f"  {path}: {msg}", markup=False)  # "[picklists.region]" is text, not rich markup


@app.command()
def serve(port: Annotated[int | None, typer.Option(help="HTTP port (default: $PORT or 8000)")] = None,
          host: Annotated[str, typer.Option(help="Interface to listen on")] = "0.0.0.0") -> None:
    """Run the web app (migrations applied automatically; embedded workers unless disabled)."""
    import uvicorn

    from bot.app import create_app
    from bot.logs import configure
    w = _wiring(platforms=True)
    configure(w.settings.chatcrm_log_format)
    with _database_errors("serve"):
        application = create_app(wiring=w)  # migrates (a no-op when `chatcrm db upgrade` ran first)
    uvicorn.run(application, host=host, port=port or w.settings.port, log_level="info", log_config=None)


@app.command()
def console(as_: Annotated[str, typer.Option("--as", help="The user key to act as, e.g. li")]) -> None:
    """Chat with the bot in the terminal. Reads one command per line; buttons are numbers."""
    from bot.console import ConsoleSession, repl
    _terminal_logging()
    w = _wiring()
    with _database_errors("console"):
        w.prepare_database()
        session = ConsoleSession(w.runner, as_, inbox=True)
    repl(session)  # never raises for a failing command: each one answers, with an error id when it crashed


@app.command()
def worker() -> None:
    """Run the outbox deliverer."""
    from bot import processes
    processes.run_worker(_wiring(platforms=True))


@app.command()
def scheduler() -> None:
    """Run the scheduled jobs (SLA, renewals, stale deals, digests)."""
    from bot import processes
    processes.run_scheduler(_wiring(platforms=True))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations and sync users from the configuration."""
    _terminal_logging()
    w = _wiring()
    with _database_errors("db upgrade"):
        w.prepare_database()
    typer.echo(f"Database is up to date ({w.engine.url.render_as_string(hide_password=True)}).")


@app.command()
def demo(leads: Annotated[int, typer.Option(help="How many leads to generate")] = 300,
         force: Annotated[bool, typer.Option(help="Load even if the database already has data")] = False) -> None:
    """Load a realistic sample: leads, deals across stages, activities."""
    from bot.demo import demo_loaded, load_demo
    _terminal_logging()
    w = _wiring()
    with _database_errors("demo"):
        w.prepare_database()
        if demo_loaded(w.runner) and not force:
            typer.echo("The database already has leads or deals; use --force to add the demo data anyway.")
            raise typer.Exit(1)
        stats = load_demo(w.runner, leads=leads)
    typer.echo("Demo data loaded: " + ", ".join(f"{k}={v}" for k, v in stats.items()))
    typer.echo("Try: chatcrm console --as li   (then: my, deal list, pipeline, help)")


@import_app.command("leads")
def import_leads(file: Annotated[Path, typer.Argument(help="CSV file with a header row (English or Chinese)")],
                 batch_size: Annotated[int, typer.Option(help="Rows per transaction")] = 1000,
                 progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True) -> None:
    """Import leads from a CSV file (dedupe, scoring and assignment as for single leads; re-runnable)."""
    from bot.importer import run_import
    _terminal_logging()
    w = _wiring()
    with _database_errors("import"):
        run_import(w, file, batch_size=batch_size, show_progress=progress)


@app.command("check-config")
def check_config(file: Annotated[Path | None, typer.Argument(help="TOML file (default: $CHATCRM_CONFIG)")] = None) -> None:
    """Validate the configuration file and print every problem with its key path."""
    path = file or Settings().chatcrm_config
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        _config_problems(exc)
        raise typer.Exit(1) from None
    typer.echo(f"OK: {path or 'built-in sample team'} — {len(cfg.users)} users, "
               f"{len(cfg.pipeline.stages)} stages, {len(cfg.approvals.levels)} approval levels, "
               f"{len(cfg.products)} products.")


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
