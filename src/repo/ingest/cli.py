"""``repo harvest …`` (sources and runs) and ``repo oai check URL`` (what a harvester would say)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from repo.ingest.models import COUNTERS
from repo.ingest.schemas import RunOut, SourceDetail, SourceOut, SourceUpdate

app = typer.Typer(help="Harvest member centres' repositories over OAI-PMH.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _context():  # type: ignore[no-untyped-def]
    from repo.cli import unit_of_work  # the shared command context (imported here: repo.cli imports this module)

    return unit_of_work()


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="OAI-PMH base URL")],
    centre: Annotated[str, typer.Option(help="Member centre the works belong to")],
    set: Annotated[Optional[str], typer.Option("--set", help="Harvest only this setSpec")] = None,
    prefix: Annotated[str, typer.Option(help="Metadata prefix (oai_dc, oai_openaire)")] = "oai_dc",
    collection: Annotated[Optional[str], typer.Option(help="Collection to file the works in")] = None,
    every: Annotated[Optional[str], typer.Option(help="Schedule: 24h, 6h, 7d…")] = None,
) -> None:
    """Add a source: it must answer Identify and offer the prefix."""
    from repo.ingest import service

    with _context() as ctx:
        data = service.validated_source({"url": url, "centre": centre, "set": set, "prefix": prefix,
                                         "collection": collection, "every": every})
        source = service.add_source(ctx, data)
        console.print(f"Source {source.id} added: {source.repository_name} ({source.base_url}, "
                      f"{source.metadata_prefix}, granularity {source.granularity}).", style="green")


@app.command("list")
def list_() -> None:
    """List sources with their last run."""
    from repo.ingest import service

    with _context() as ctx:
        for source in service.list_sources(ctx):
            out = service.source_out(ctx, source)
            last = out.last_run
            console.print(f"{out.id}  {out.status}  {out.url}  set {out.set or '-'}  {out.prefix}  → {out.centre}  "
                          f"every {_every(out.every_seconds) or '-'}  works {out.records['works']}  last run "
                          + (f"{last.status} {last.started_at:%Y-%m-%d %H:%M}" if last else "never")
                          + (f"  [red]{out.last_error[:80]}[/red]" if out.last_error else ""), soft_wrap=True)


@app.command("show")
def show(
    source_id: Annotated[int, typer.Argument(help="Source number")],
    problems: Annotated[int, typer.Option(help="Problems of the last run to list")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """A source, its last runs (counters, duration, last error) and the last run's problems."""
    from repo.ingest import service

    with _context() as ctx:
        detail = service.source_detail(ctx, service.get_source(ctx, source_id), problems=problems)
    if as_json:
        print(detail.model_dump_json(indent=2))
        return
    _print_detail(detail)


def _print_detail(detail: SourceDetail) -> None:
    console.print(f"[bold]Source {detail.id}[/bold] {detail.repository_name} — {detail.status}")
    for label, value in (("URL", detail.url), ("set", detail.set or "(all)"),
                         ("format", f"{detail.prefix} ({detail.metadata_namespace})"),
                         ("centre / collection", f"{detail.centre} / {detail.collection or '-'}"),
                         ("schedule", _every(detail.every_seconds) or "on request"),
                         ("granularity / deletedRecord", f"{detail.granularity} / {detail.deleted_record}"),
                         ("harvested through", str(detail.harvested_through or "never")),
                         ("next due", str(detail.next_due_at or "-")),
                         ("records", ", ".join(f"{k} {v}" for k, v in detail.records.items())),
                         ("last error", detail.last_error or "-")):
        console.print(f"  {label}: {value}")
    for run in detail.runs:
        counts = ", ".join(f"{c} {getattr(run, c)}" for c in COUNTERS)
        console.print(f"  run {run.id} {run.status}{' (full)' if run.full else ''} {run.started_at:%Y-%m-%d %H:%M:%S} "
                      f"{_seconds(run)}, {run.pages} pages: {counts}"
                      + (f"\n    last error: {run.last_error}" if run.last_error else ""), soft_wrap=True)
    for problem in detail.problems:
        work = f" (work {problem.work_id})" if problem.work_id else ""
        console.print(f"  {problem.kind}: {problem.identifier}{work}: {problem.reason}", soft_wrap=True)


def _seconds(run: RunOut) -> str:
    return f"{run.duration_seconds:.1f} s" if run.duration_seconds is not None else ""


def _every(seconds: int | None) -> str:
    if not seconds:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _set_status(source_id: int, status: str) -> SourceOut:
    from repo.ingest import service

    with _context() as ctx:
        return service.source_out(ctx, service.update_source(ctx, source_id, SourceUpdate(status=status)))  # type: ignore[arg-type]


@app.command("pause")
def pause(source_id: int) -> None:
    """Stop scheduling a source (a run in progress finishes)."""
    _set_status(source_id, "paused")
    console.print(f"Source {source_id} paused.")


@app.command("resume")
def resume(source_id: int) -> None:
    """Schedule a paused source again."""
    _set_status(source_id, "active")
    console.print(f"Source {source_id} resumed.")


@app.command("remove")
def remove(source_id: int) -> None:
    """Forget a source and its runs; its works stay, with their provenance, and become editable."""
    from repo.ingest import service

    with _context() as ctx:
        detached = service.remove_source(ctx, source_id)
    console.print(f"Source {source_id} removed; {detached} work(s) kept and now editable.")


@app.command("run")
def run(
    source_id: Annotated[Optional[int], typer.Argument(help="Source number (default: every due source)")] = None,
    full: Annotated[bool, typer.Option("--full", help="Harvest everything, not only what changed")] = False,
) -> None:
    """Harvest a source now (resuming its interrupted run, if any), or every due source."""
    from repo.clock import Clock
    from repo.config import Settings
    from repo.db import Database, upgrade
    from repo.ingest import jobs, service
    from repo.ingest.harvester import Busy

    settings = Settings()
    upgrade(settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    try:
        if source_id is None:
            seen = jobs.run_due(database, settings, Clock())
            console.print(f"Due sources harvested: {seen} record(s) read.")
            return
        try:
            run_id = service.run_source(database, settings, Clock(), source_id, full=full)
        except Busy as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        with _context() as ctx:
            detail = service.source_detail(ctx, service.get_source(ctx, source_id), problems=20)
        run_out = next(r for r in detail.runs if r.id == run_id)
        counts = ", ".join(f"{c} {getattr(run_out, c)}" for c in COUNTERS)
        style = "green" if run_out.status == "succeeded" else "red"
        console.print(f"Run {run_id} {run_out.status} in {_seconds(run_out)}: {counts}.", style=style, soft_wrap=True)
        if run_out.last_error:
            console.print(f"  last error: {run_out.last_error}")
        if run_out.status != "succeeded":
            raise typer.Exit(1)
    finally:
        database.dispose()


def check(
    url: Annotated[str, typer.Argument(help="OAI-PMH base URL to check")],
    full: Annotated[bool, typer.Option("--full", help="Harvest the whole list, not a sample of pages")] = False,
    pages: Annotated[int, typer.Option(help="Pages of ListRecords to sample")] = 3,
    prefix: Annotated[str, typer.Option(help="Format to harvest")] = "oai_dc",
    schemas: Annotated[Optional[Path], typer.Option(help="Folder of the official XSDs and validate.py "
                                                           "(default $REPO_OFFICIAL_SCHEMAS)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Run the checks a harvester would (Identify, formats, sets, a harvest, XSD validation, tokens,
    dates) and print what an aggregator would complain about; exit status 1 on any error."""
    from repo.config import Settings
    from repo.ingest.check import Checker

    report = Checker(url, Settings(), schemas=schemas, full=full, pages=pages, prefix=prefix).run()
    if as_json:
        print(json.dumps([f.__dict__ for f in report.findings], indent=2, ensure_ascii=False))
    else:
        table = Table("level", "check", "finding")
        colours = {"error": "red", "warning": "yellow", "ok": "green", "info": "blue"}
        for finding in report.findings:
            table.add_row(f"[{colours[finding.level]}]{finding.level}[/]", finding.check, finding.message)
        console.print(table)
        console.print(report.summary())
    if report.errors:
        sys.exit(1)
