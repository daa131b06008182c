"""`chatcrm import leads FILE.csv`: stream the file, import in batches, show progress, write a report."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.wiring import Wiring
from cards.escape import csv_cell
from crm_core.errors import DomainError
from crm_core.services.importing import ImportResult, ImportStats, import_leads

ENCODINGS = ("utf-8-sig", "gb18030")  # Excel in China saves CSV as GBK/GB18030


def detect_encoding(path: Path) -> str:
    with path.open("rb") as fh:
        sample = fh.read(1 << 20)
    for enc in ENCODINGS:
        try:
            sample.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    return "utf-8-sig"


def _rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    for line, cells in enumerate(reader, start=2):
        if any(c.strip() for c in cells):
            yield line, cells


def count_rows(path: Path, encoding: str) -> int:
    with path.open(encoding=encoding, newline="") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def write_report(path: Path, result: ImportResult) -> Path | None:
    if not result.rejected:
        return None
    report = path.with_name(path.stem + ".rejected.csv")
    columns = sorted({k for r in result.rejected for k in r.values})
    with report.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        # Cells are what people typed: csv_cell keeps a spreadsheet from running `=HYPERLINK(…)` & co.
        writer.writerow([csv_cell(c) for c in ["line", "reason", *columns]])
        for r in result.rejected:
            writer.writerow([csv_cell(c) for c in [r.line, r.reason, *(r.values.get(c, "") for c in columns)]])
    return report


def run_import(w: Wiring, path: Path, *, batch_size: int = 1000, show_progress: bool = True) -> ImportResult:
    if not path.is_file():
        typer.echo(f"No such file: {path}", err=True)
        raise typer.Exit(2)
    w.prepare_database()
    encoding = detect_encoding(path)
    total = count_rows(path, encoding)
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            typer.echo(f"{path} is empty: it needs a header row such as name,company,email,phone", err=True)
            raise typer.Exit(2)
        progress = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            disable=not show_progress, transient=False)
        with progress:
            task = progress.add_task("import", total=total)

            def advance(stats: ImportStats) -> None:
                progress.update(task, completed=stats.read)

            try:
                result = import_leads(w.runner.uow_factory, header, _rows(reader), now=w.clock.now(),
                                      batch_size=batch_size, on_batch=advance)
            except DomainError as exc:
                typer.echo(exc.msg_format("en"), err=True)
                raise typer.Exit(2) from None
    s = result.stats
    typer.echo(f"read {s.read} rows: {s.created} new leads, {s.merged} merged into existing leads, "
               f"{s.already_imported} skipped (imported by an earlier run, or an exact repeat), {s.rejected} rejected.")
    if result.unmapped_columns:
        typer.echo("ignored columns: " + ", ".join(result.unmapped_columns))
    report = write_report(path, result)
    if report:
        typer.echo(f"rejected rows and why: {report}")
    return result
