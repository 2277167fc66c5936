"""``repo backup DIR`` and ``repo restore DIR`` (see :mod:`repo.operations.backup`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def backup(directory: Annotated[Path, typer.Argument(help="A new (or empty) directory")]) -> None:
    """Copy the database, every stored file and the secret into DIRECTORY (consistent while serving)."""
    from repo.app import open_file_store
    from repo.operations import preflight
    from repo.operations.backup import BackupError, backup as run

    settings = preflight.load_settings()
    try:
        summary = run(settings, open_file_store(settings), directory)
    except BackupError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"Backed up {summary.works} works, {summary.files} files ({summary.bytes:,} bytes) and "
                  f"{summary.thumbnails} thumbnails at schema {summary.revision} into {directory}.", style="green")


def restore(directory: Annotated[Path, typer.Argument(help="A directory written by `repo backup`")]) -> None:
    """Restore a backup into this empty installation, then rebuild the search index."""
    from repo.app import open_file_store
    from repo.clock import Clock
    from repo.db import Database, upgrade
    from repo.operations import preflight
    from repo.operations.backup import BackupError, restore as run
    from repo.search import indexer
    from repo.search.runtime import open_search

    settings = preflight.load_settings()
    try:
        summary, warnings = run(settings, open_file_store(settings), directory)
    except BackupError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}")
    upgrade(settings.resolved_database_url)  # a backup from an older release: bring it to this one
    database, backend = Database(settings.resolved_database_url), open_search(settings)
    try:
        indexed = indexer.reindex(database, backend, Clock())
    finally:
        backend.close()
        database.dispose()
    console.print(f"Restored {summary.works} works and {summary.files} files ({summary.bytes:,} bytes); "
                  f"search index rebuilt ({indexed} documents).", style="green")
