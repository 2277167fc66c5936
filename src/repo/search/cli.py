"""Operator commands: ``repo index drain|status|check`` and ``repo reindex``.

Registered in ``repo.cli``. Each command builds settings, database and backend here (never at
import) and closes them when done.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from repo.clock import Clock
from repo.config import Settings
from repo.db import Database, upgrade
from repo.search import indexer
from repo.search.backend import SearchBackend, open_backend

index_app = typer.Typer(help="Search index: drain the outbox, status, drift check.", no_args_is_help=True)
console = Console()


@contextmanager
def _search() -> Iterator[tuple[Settings, Database, SearchBackend]]:
    settings = Settings()
    upgrade(settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    backend = open_backend(settings)
    try:
        backend.ensure()
        yield settings, database, backend
    finally:
        backend.close()
        database.dispose()


@index_app.command("drain")
def drain(
    batch_size: Annotated[int, typer.Option(help="Outbox rows per batch")] = indexer.BATCH_SIZE,
) -> None:
    """Index every pending change now (the server does this by itself after each commit)."""
    with _search() as (_, database, backend):
        report = indexer.Indexer(database, backend, Clock(), batch_size=batch_size).drain()
    console.print(f"Indexed {report.indexed} works in {report.batches} batches; {report.failed} failed "
                  "(they retry with back-off).")
    for work_id, error in list(report.errors.items())[:10]:
        console.print(f"  work {work_id}: {error}", style="red")
    if report.failed:
        raise typer.Exit(1)


@index_app.command("status")
def status() -> None:
    """Backlog of the outbox, age of the oldest pending change, failing documents."""
    with _search() as (_, database, backend):
        now = Clock().now()
        s = indexer.status(database, backend, now)
    table = Table("backend", "indexed", "pending", "due now", "failing", "oldest pending")
    age = f"{(now - s.oldest).total_seconds():.0f} s ago ({s.oldest:%Y-%m-%d %H:%M:%S}Z)" if s.oldest else "—"
    table.add_row(backend.name, str(s.indexed), str(s.pending), str(s.due), str(s.failing), age)
    console.print(table)
    for work_id, attempts, error in s.last_errors:
        console.print(f"  work {work_id} (attempt {attempts}): {error}", style="red")


@index_app.command("check")
def check(
    repair: Annotated[bool, typer.Option("--repair", help="Re-index or delete what differs")] = False,
) -> None:
    """Report drift between SQL and the index: missing, stale, extra, wrong visibility."""
    with _search() as (_, database, backend):
        report = indexer.check(database, backend, repair=repair)
    table = Table("checked", "missing", "stale", "extra", "wrong visibility")
    table.add_row(str(report.checked), *(str(len(x)) for x in (report.missing, report.stale, report.extra,
                                                                report.wrong_visibility)))
    console.print(table)
    for name, ids in (("missing", report.missing), ("stale", report.stale), ("extra", report.extra),
                      ("wrong visibility", report.wrong_visibility)):
        if ids:
            console.print(f"  {name}: {', '.join(map(str, ids[:20]))}{' …' if len(ids) > 20 else ''}")
    if report.parity:
        console.print("Index and database agree.", style="green")
    elif repair:
        console.print(f"Repaired {report.repaired} documents.", style="green")
    else:
        console.print("Drift found: run `repo index check --repair`.", style="yellow")
        raise typer.Exit(1)


def reindex(
    batch_size: Annotated[int, typer.Option(help="Works per batch")] = 1000,
) -> None:
    """Rebuild the search index from SQL into a fresh index, then swap it in."""
    with _search() as (_, database, backend):
        total = indexer.total_works(database)
        with Progress(TextColumn("[bold]reindex"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                      TimeRemainingColumn(), console=console) as progress:
            task = progress.add_task("works", total=total, rate="")
            started = time.perf_counter()

            def advance(n: int) -> None:
                done = progress.tasks[0].completed + n
                rate = done / max(time.perf_counter() - started, 1e-9)
                progress.update(task, advance=n, rate=f"{rate:,.0f} works/s")

            count = indexer.reindex(database, backend, Clock(), batch_size=batch_size, progress=advance)
        seconds = max(time.perf_counter() - started, 1e-9)
    console.print(f"Reindexed {count} works into {backend.name} in {seconds:.1f} s ({count / seconds:.0f} works/s).",
                  style="green")
