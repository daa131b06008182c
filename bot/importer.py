"""`chatcrm import leads FILE.csv`: stream the file, import in batches, show progress, write a report."""
from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.wiring import Wiring
from cards.escape import csv_cell
from cards.errors import error_text, error_texts
from cards.operator import OPERATOR_LOCALES, operator_line, operator_lines
from crm_core.errors import DomainError
from crm_core.services.importing import ImportResult, ImportStats, import_leads

ENCODINGS = ("utf-8-sig", "gb18030")  # Excel in China saves CSV as GBK/GB18030
CHUNK = 1 << 20


class EncodingProblem(Exception):
    """The file is neither UTF-8 nor GB18030; says where UTF-8 decoding first failed."""

    def __init__(self, path: Path, byte: int, line: int) -> None:
        super().__init__(f"{path}: byte {byte}, line {line}")
        self.path, self.byte, self.line = path, byte, line

    def lines(self) -> list[str]:
        return operator_lines("import.not_utf8", path=self.path, byte=self.byte, line=self.line)


def _first_error(path: Path, encoding: str) -> tuple[int, int] | None:
    """Decode the whole file incrementally (constant memory); None when it all decodes, else the
    (1-based byte number, 1-based line) of the first byte that does not. A character cut by a chunk
    boundary is held over by the incremental decoder, so it is never mistaken for an error."""
    with path.open("rb") as fh:
        head = fh.read(3)
        bom = 3 if encoding == "utf-8-sig" and head == codecs.BOM_UTF8 else 0
        fh.seek(bom)
        offset = bom
        decoder = codecs.getincrementaldecoder("utf-8" if encoding == "utf-8-sig" else encoding)("strict")
        held = b""  # bytes of an unfinished character carried over from the previous chunk (never a newline)
        newlines = 0  # in the bytes before `data`
        while True:
            chunk = fh.read(CHUNK)
            data = held + chunk
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return offset + exc.start + 1, 1 + newlines + data[:exc.start].count(b"\n")
            if not chunk:
                return None
            state = decoder.getstate()[0] if hasattr(decoder, "getstate") else b""
            held = state if isinstance(state, bytes) else b""
            offset += len(data) - len(held)  # bytes of the file decoded so far
            newlines += chunk.count(b"\n")


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the WHOLE file is valid UTF-8, else GB18030 when the whole file
    is valid GB18030; otherwise EncodingProblem naming the line and byte where UTF-8 fails."""
    utf8 = _first_error(path, "utf-8-sig")
    if utf8 is None:
        return "utf-8-sig"
    if _first_error(path, "gb18030") is None:
        return "gb18030"
    raise EncodingProblem(path, utf8[0], utf8[1])


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
        # The reason in every operator language (`reason`, `原因`): whoever reads the file is not known here.
        writer.writerow([csv_cell(c) for c in ["line", *operator_lines("import.reason_column"), *columns]])
        for r in result.rejected:
            # every problem of the row, on its one line
            said = [error_text(r.reason, loc).replace("\n", " | ") for loc in OPERATOR_LOCALES]
            writer.writerow([csv_cell(c) for c in [r.line, *said, *(r.values.get(c, "") for c in columns)]])
    return report


def run_import(w: Wiring, path: Path, *, batch_size: int = 1000, show_progress: bool = True) -> ImportResult:
    if not path.is_file():
        typer.echo(operator_line("import.no_file", path=path), err=True)
        raise typer.Exit(2)
    w.prepare_database()
    try:
        encoding = detect_encoding(path)
    except EncodingProblem as exc:
        for line in exc.lines():
            typer.echo(line, err=True)
        raise typer.Exit(2) from None
    total = count_rows(path, encoding)
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            typer.echo(operator_line("import.empty", path=path), err=True)
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
                for text in error_texts(exc).values():  # English, then Chinese, as the other operator lines
                    typer.echo(text, err=True)
                raise typer.Exit(2) from None
    s = result.stats
    for line in operator_lines("import.summary", read=s.read, created=s.created, merged=s.merged,
                               skipped=s.already_imported, rejected=s.rejected):
        typer.echo(line)
    if result.unmapped_columns:
        typer.echo(operator_line("import.ignored_columns", columns=", ".join(result.unmapped_columns)))
    report = write_report(path, result)
    if report:
        typer.echo(operator_line("import.report", path=report))
    return result
