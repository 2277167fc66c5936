"""``repo files``: re-run extraction, verify fixity, collect unreferenced bytes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from repo.clock import Clock
from repo.config import Settings
from repo.db import Database, upgrade
from repo.files import extraction, service
from repo.files.storage import FileStore

app = typer.Typer(help="Stored files: extraction, fixity, garbage collection.", no_args_is_help=True)
console = Console()


def _open() -> tuple[Settings, Database, FileStore]:
    from repo.app import open_file_store

    settings = Settings()
    upgrade(settings.resolved_database_url)
    return settings, Database(settings.resolved_database_url), open_file_store(settings)


@app.command("extract")
def extract(
    seconds: Annotated[float, typer.Option(help="Time limit per file")] = extraction.Limits.seconds,
    memory_mb: Annotated[int, typer.Option(help="Memory limit per file (MiB)")] = extraction.Limits.memory_bytes >> 20,
) -> None:
    """Extract text and thumbnails of files whose extraction is pending or failed."""
    _, database, store = _open()
    try:
        ids = extraction.retry_ids(database)
        limits = extraction.Limits(seconds=seconds, memory_bytes=memory_mb << 20)
        counts: dict[str, int] = {}
        with Progress(TextColumn("extracting"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      console=console) as progress:
            task = progress.add_task("extract", total=len(ids))
            for file_id in ids:
                for outcome in extraction.process(database, store, [file_id], Clock().now,
                                                  limits).values():
                    counts[outcome.state] = counts.get(outcome.state, 0) + 1
                    if outcome.error:
                        console.print(f"file {file_id}: [yellow]{outcome.error}[/yellow]")
                progress.advance(task)
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing to do"
        console.print(f"{len(ids)} file(s): {summary}.")
    finally:
        database.dispose()


@app.command("verify")
def verify() -> None:
    """Re-hash every stored file; exit status 1 when any is missing or does not match its hashes."""
    _, database, store = _open()
    try:
        with database.session() as session:
            total = service.total_bytes(session)
            with Progress(TextColumn("verifying"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                          TimeRemainingColumn(), console=console) as progress:
                task = progress.add_task("verify", total=total)
                report = service.verify(session, store, lambda n: progress.advance(task, n))
        for sha256 in report.missing:
            console.print(f"[red]missing[/red]  {sha256}")
        for sha256, what in report.mismatches:
            console.print(f"[red]mismatch[/red] {sha256}: {what}")
        bad = len(report.missing) + len(report.mismatches)
        console.print(f"{report.checked} stored file(s) checked: {len(report.mismatches)} mismatched, "
                      f"{len(report.missing)} missing.", style="red" if bad else "green")
        if bad:
            raise typer.Exit(1)
    finally:
        database.dispose()


@app.command("gc")
def gc(
    grace_hours: Annotated[float, typer.Option(help="Keep unreferenced bytes younger than this")] = 24.0,
) -> None:
    """Delete stored bytes and thumbnails that no file references (and stale temporary files)."""
    _, database, store = _open()
    try:
        with database.session() as session:
            # File times are compared with the precise wall clock (the service clock drops sub-seconds).
            removed = service.collect_garbage(session, store, datetime.now(UTC),
                                              timedelta(hours=grace_hours))
        console.print(f"Removed {len(removed)} unreferenced file(s).")
    finally:
        database.dispose()
