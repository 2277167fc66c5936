"""``repo import FILE`` and ``repo export`` (registered on the top-level command in :mod:`repo.cli`)."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

console = Console(stderr=True)


class _Rate(ProgressColumn):
    """Works (rows) per second since the run began."""

    def render(self, task: Task) -> Text:
        rows = task.fields.get("rows", 0)
        elapsed = task.elapsed or 0
        return Text(f"{rows / elapsed:,.0f} rows/s" if elapsed > 0.5 else "… rows/s", style="progress.data.speed")


def import_command(
    file: Annotated[Path, typer.Argument(help="The file: CSV, JSON Lines, BibTeX or RIS", exists=True,
                                         dir_okay=False, readable=True)],
    centre: Annotated[str, typer.Option(help="Member centre the works belong to (a row may name another you edit)")],
    format: Annotated[Optional[str], typer.Option(help="csv, jsonl, bibtex or ris (default: from the extension)")] = None,
    collection: Annotated[Optional[str], typer.Option(help="Also file every work in this collection")] = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish works whose row has no status (else drafts)")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and match every row, change nothing")] = False,
    files: Annotated[Optional[Path], typer.Option("--files", help="Directory the rows' file paths are relative to")] = None,
    encoding: Annotated[Optional[str], typer.Option(help="The file's encoding (default: detected)")] = None,
    report: Annotated[Optional[Path], typer.Option(help="Write the whole report here (CSV: row, field, message)")] = None,
) -> None:
    """Import works from a file, in batches, with a report (run it again to resume an interrupted import)."""
    from repo.app import open_file_store
    from repo.cli import unit_of_work
    from repo.clock import Clock
    from repo.config import Settings
    from repo.db import Database
    from repo.imports import service
    from repo.imports.jobs import Busy, ImportRun

    options = service.Options(centre=centre, filename=file.name, format=format, collection=collection,
                              publish=publish, dry_run=dry_run, files_dir=files, encoding=encoding)
    with unit_of_work() as ctx:
        job, resumed = service.start(ctx, options, service.receive_path(ctx, file), resume=True)
        job_id, size, done, rows = job.id, job.size, job.offset, job.rows
        if job.note:
            console.print(f"[yellow]note:[/yellow] {job.note}")
    console.print(f"Import {job_id}: " + (f"resuming after row {rows:,}" if resumed else "started")
                  + (" (dry run: nothing will change)" if dry_run else ""))
    settings = Settings()
    database = Database(settings.resolved_database_url)
    try:
        with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), DownloadColumn(),
                      _Rate(), TimeRemainingColumn(), console=console, transient=False) as progress:
            task = progress.add_task("importing", total=size, completed=done, rows=rows)

            def advance(state) -> None:  # type: ignore[no-untyped-def]
                # BibTeX is parsed whole: its position counts entries, not bytes
                progress.update(task, completed=state.offset if state.format != "bibtex" else 0, rows=state.rows)

            try:
                ImportRun(database, settings, Clock(), job_id, open_file_store(settings), on_batch=advance,
                          parallel_from_bytes=settings.import_parallel_from_bytes).run()
            except Busy as exc:
                console.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(1) from None
            progress.update(task, completed=size)
        code = _summary(database, settings, job_id, report)
    finally:
        database.dispose()
    raise typer.Exit(code)


def _summary(database, settings, job_id: int, report: Path | None) -> int:  # type: ignore[no-untyped-def]
    from repo.imports import repository
    from repo.imports.models import COUNTERS, Import

    with database.session() as session:
        job = session.get(Import, job_id)
        assert job is not None
        counts = ", ".join(f"{c} {getattr(job, c):,}" for c in COUNTERS)
        colour = "red" if job.status == "failed" or job.failed else "green"
        console.print(f"[{colour}]Import {job.id} {job.status}{' (dry run)' if job.dry_run else ''}:[/{colour}] "
                      f"{counts}.")
        if job.error:
            console.print(f"[red]error:[/red] {job.error}")
        shown = 0
        for problem in repository.problems(session, job.id, 20):
            where = f"row {problem.row}" if problem.row is not None else "file"
            console.print(f"  {where} {problem.kind}{' ' + problem.field if problem.field else ''}: {problem.message}",
                          soft_wrap=True, markup=False)
            shown += 1
        total = repository.problem_count(session, job.id)
        if report is not None:
            with report.open("w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(["row", "external_id", "kind", "field", "message", "work_id"])
                for p in repository.all_problems(session, job.id):
                    writer.writerow([p.row or "", p.external_id or "", p.kind, p.field or "", p.message,
                                     p.work_id or ""])
            console.print(f"The report ({total:,} lines) is in {report}.")
        elif total > shown:
            console.print(f"  … {total - shown:,} more: --report FILE writes them all.")
        return 1 if job.status == "failed" or job.failed else 0


def export_command(
    format: Annotated[str, typer.Option(help="jsonl or csv")] = "jsonl",
    status: Annotated[Optional[str], typer.Option(help="draft, published or withdrawn (default: all)")] = None,
    centre: Annotated[Optional[str], typer.Option(help="Only this centre's works")] = None,
    collection: Annotated[Optional[str], typer.Option(help="Only this collection's works (and its sub-collections')")] = None,
    files: Annotated[Optional[Path], typer.Option("--files", help="Copy the works' files into this directory")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here (default: standard output)")] = None,
    jobs: Annotated[int, typer.Option(help="Processes making a large export (default: one per core, at most 4)")] = 0,
) -> None:
    """Export every work (every field; importable again) as JSON Lines or CSV."""
    from repo.config import Settings
    from repo.db import Database, upgrade
    from repo.imports import export

    if format not in export.FORMATS:
        console.print(f"[red]error:[/red] --format is one of {', '.join(export.FORMATS)}")
        raise typer.Exit(2)
    if status not in (None, "draft", "published", "withdrawn"):
        console.print("[red]error:[/red] --status is draft, published or withdrawn")
        raise typer.Exit(2)
    settings = Settings()
    upgrade(settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    storage = None
    if files is not None:
        from repo.app import open_file_store  # the web application's module: imported only when needed

        files.mkdir(parents=True, exist_ok=True)
        storage = open_file_store(settings)
    try:
        filters = export.Filters(status, centre, collection)
        if files is None:  # several processes when it is worth it; copying files stays in one
            chunks = export.parallel_stream(database, settings, format, filters, jobs or min(os.cpu_count() or 1, 4))
        else:
            chunks = export.stream(database, settings, format, filters, files, storage)
        if output is None:
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        else:
            with output.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
    finally:
        database.dispose()
