"""``repo oai``: render the stored OAI-PMH records (:mod:`repo.oai.render`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from repo.clock import Clock
from repo.config import Settings
from repo.db import Database, upgrade
from repo.oai import cache, render

app = typer.Typer(help="OAI-PMH: the stored records harvests are served from.", no_args_is_help=True)
console = Console()


def render_everything(settings: Settings, database: Database, out: Console = console) -> int:
    """Render every record that lacks fresh bytes, with a progress bar; how many were rendered."""
    with Progress(TextColumn("rendering OAI records"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=out) as progress:
        task = progress.add_task("render", total=render.total(database))
        return render.render_all(database, settings, Clock(), progress=lambda n: progress.advance(task, n))


@app.command("render")
def render_command(
    every: Annotated[bool, typer.Option("--all", help="Every record without fresh bytes, not only queued ones")] = False,
) -> None:
    """Render queued records; with --all, every record whose stored bytes are missing or stale
    (after a deploy that changes the crosswalks, or a change of the base URL). Stopping and
    starting it again resumes: records already fresh are skipped."""
    cache.pin()
    settings = Settings()
    upgrade(settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    try:
        if every:
            rendered = render_everything(settings, database)
            console.print(f"{rendered:,} records rendered; every record now has fresh bytes.")
        queued = 0
        while done := render.render_pending(database, settings, Clock()):
            queued += done
        if queued or not every:
            console.print(f"{queued:,} queued changes rendered.")
    finally:
        database.dispose()
