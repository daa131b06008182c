"""The `chatcrm` command line (INTERFACE.md: serve, console, worker, scheduler, db upgrade, demo, import, check-config)."""
from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import TaskID

from bot import heap
from bot.logs import configure
from bot.settings import Settings
from cards.operator import OPERATOR_LOCALES, half_configured_line, operator_line, operator_lines, say
from crm_core import migrate
from crm_core.db import make_engine, one_web_process
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

    try:
        settings = Settings()
    except ValidationError as exc:
        bad = "; ".join(f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors())
        typer.echo(operator_line("refuse.invalid_setting", problems=bad), err=True)
        raise typer.Exit(2) from None
    problems = settings.missing_variables() if platforms else []
    if problems:
        typer.echo(half_configured_line(problems), err=True)
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
    except migrate.MigrationStateError as exc:
        _red(operator_lines("database.unknown_revisions", what=what, revisions=", ".join(exc.unknown),
                            table="alembic_version"))
        raise typer.Exit(1) from None
    except DBAPIError as exc:
        ref = secrets.token_hex(4)
        logging.getLogger("chatcrm.cli").error("%s: database error ref=%s", what, ref, exc_info=exc)
        _red(operator_lines("database.unavailable", what=what, ref=ref))
        raise typer.Exit(1) from None


def _red(lines: list[str]) -> None:
    """Lines to stderr in red; what they quote (a path, a revision, "[picklists.region]") is text, not markup."""
    for line in lines:
        err.print(line, style="red", markup=False)


def _config_problems(exc: ConfigError) -> None:
    _red([operator_line("config.problems")])
    for path, msg in exc.problems:
        err.print(f"  {path}: {msg}", markup=False)  # "[picklists.region]" is text, not rich markup


@app.command()
def serve(port: Annotated[int | None, typer.Option(help="HTTP port (default: $PORT or 8000)")] = None,
          host: Annotated[str, typer.Option(help="Interface to listen on")] = "0.0.0.0",
          workers: Annotated[int, typer.Option(min=1, help="Web processes sharing the port and the inbound queue "
                                                           "(PostgreSQL only for more than 1)")] = 1) -> None:
    """Run the web app (migrations applied automatically; embedded workers unless disabled)."""
    import uvicorn

    from bot.app import create_app
    w = _wiring(platforms=True)
    configure(w.settings.chatcrm_log_format)
    if workers > 1 and one_web_process(w.engine):
        _red(operator_lines("serve.sqlite_one_process", command="serve --workers"))
        raise typer.Exit(2)
    if workers > 1:
        with _database_errors("serve"):
            w.prepare_database()  # once, here: the web processes start on a migrated database
        w.engine.dispose()  # no connection crosses into the web processes
        uvicorn.run("bot.cli:web_process_app", factory=True, host=host, port=port or w.settings.port,
                    workers=workers, log_level="info", log_config=None,
                    # a web process takes seconds to import and start on a busy machine: uvicorn's 5 s
                    # health check would kill it before it ever served
                    timeout_worker_healthcheck=WEB_PROCESS_HEALTHCHECK)
        return
    with _database_errors("serve"):
        application = create_app(wiring=w)  # migrates (a no-op when `chatcrm db upgrade` ran first)
    w.lifespan.on_start.append(heap.settle)  # last: once everything else has started
    uvicorn.run(application, host=host, port=port or w.settings.port, log_level="info", log_config=None)


WEB_PROCESS_HEALTHCHECK = 30  # seconds a web process may take to answer uvicorn's supervisor


def web_process_app():  # type: ignore[no-untyped-def]
    """One of `serve --workers N`'s web processes (uvicorn imports this in each): the same app, on the
    database the parent migrated. They share the inbound queue (the inbox) through PostgreSQL."""
    from bot.app import create_app
    w = _wiring(platforms=True)
    configure(w.settings.chatcrm_log_format)
    application = create_app(wiring=w, prepare_database=False)
    w.lifespan.on_start.append(heap.settle)  # last: once everything else has started
    return application


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
    typer.echo(operator_line("db.up_to_date", where=w.engine.url.render_as_string(hide_password=True)))


def _engine_only():  # type: ignore[no-untyped-def]
    """The database of DATABASE_URL, without loading the team configuration (db current / downgrade)."""
    return make_engine(Settings().database_url)


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision and whether it is at the head (exit 0 at head, 3 behind)."""
    _terminal_logging()
    engine = _engine_only()
    with _database_errors("db current"):
        rows, head = migrate.current(engine)
    where = engine.url.render_as_string(hide_password=True)
    if rows == [head]:
        typer.echo(f"{head} (head) — {where}")
        return
    run = {"head": head, "command": "chatcrm db upgrade", "where": where}
    if not rows:
        typer.echo(operator_line("db.none_applied", **run))
    elif len(rows) > 1:
        typer.echo(operator_line("db.branched", revisions=", ".join(rows), **run))
    else:
        typer.echo(operator_line("db.behind", revision=rows[0], **run))
    raise typer.Exit(3)


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. 0013, or 'base' for an empty schema")],
                 yes: Annotated[bool, typer.Option("--yes", help="Confirm: tables and columns added after REVISION are dropped with their data")] = False) -> None:
    """Take the schema back to REVISION (drops what later migrations added, with its data). Needs --yes."""
    from alembic.util import CommandError

    _terminal_logging()
    engine = _engine_only()
    if not yes:
        _red(operator_lines("db.downgrade_confirm", what="db downgrade", revision=revision,
                            command=f"chatcrm db downgrade {revision} --yes"))
        raise typer.Exit(2)
    with _database_errors("db downgrade"):
        try:
            migrate.downgrade(engine, revision)
        except (CommandError, migrate.MigrationStateError) as exc:
            _red(operator_lines("db.downgrade_unknown", what="db downgrade", problem=exc, history="`alembic history`",
                                base="base"))
            raise typer.Exit(2) from None
    rows, head = migrate.current(engine)
    typer.echo(operator_line("db.downgraded", revisions=", ".join(rows) or "base", head=head,
                             command="`chatcrm db upgrade`"))


@app.command()
def demo(leads: Annotated[int, typer.Option(help="How many leads to generate")] = 300,
         force: Annotated[bool, typer.Option(help="Load even if the database already has data")] = False) -> None:
    """Load a realistic sample: leads, deals across stages, activities."""
    from bot.demo import demo_loaded, load_demo, tour_lines
    _terminal_logging()
    w = _wiring()
    with _database_errors("demo"):
        w.prepare_database()
        if demo_loaded(w.runner) and not force:
            typer.echo(operator_line("demo.has_data"))
            raise typer.Exit(1)
        with _demo_progress(sys.stdout.isatty()) as progress:
            stats = load_demo(w.runner, leads=leads, progress=progress)
        typer.echo(operator_line("demo.loaded", counts=", ".join(f"{k}={v}" for k, v in stats.items())))
        for line in tour_lines(w.runner):
            typer.echo(line)


@contextmanager
def _demo_progress(terminal: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per phase on a terminal; otherwise one plain line per quarter of each phase."""
    if terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        bars = Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        tasks: dict[str, TaskID] = {}

        def bar(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bars.add_task(operator_line(f"demo.phase.{phase}"), total=total)
            bars.update(tasks[phase], completed=done, total=total)

        with bars:
            yield bar
        return
    quarters: dict[str, int] = {}

    def line(phase: str, done: int, total: int) -> None:
        quarter = done * 4 // max(total, 1)
        if quarter > quarters.get(phase, 0):
            quarters[phase] = quarter
            typer.echo(f"demo: {operator_line(f'demo.phase.{phase}')} {done}/{total}")
            sys.stdout.flush()

    yield line


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
    from bot.wiring import checked_config
    path = file or Settings().chatcrm_config
    try:
        cfg = checked_config(path)
    except ConfigError as exc:
        _config_problems(exc)
        raise typer.Exit(1) from None
    counts = {"users": len(cfg.users), "stages": len(cfg.pipeline.stages), "levels": len(cfg.approvals.levels),
              "products": len(cfg.products), "routes": len(cfg.routes)}
    for loc in OPERATOR_LOCALES:
        typer.echo(say(loc, "config.ok", source=path or say(loc, "config.sample"), **counts))


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
