"""``repo worker``: a process that runs the background jobs (``REPO_WORKER=external`` for the web)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from repo.clock import Clock
from repo.db import upgrade

console = Console()
log = logging.getLogger("repo.worker")


def worker(
    once: Annotated[bool, typer.Option("--once", help="Run every job until it is idle, then exit")] = False,
    job: Annotated[Optional[list[str]], typer.Option("--job", help="Run only this job (repeatable)")] = None,
    list_jobs: Annotated[bool, typer.Option("--list", help="List the jobs and who holds their leases")] = False,
    metrics_port: Annotated[Optional[int], typer.Option(help="Serve this process's Prometheus metrics here")] = None,
) -> None:
    """Run the background jobs (outbox indexing, extraction, embargo lifts, warming …) until stopped.

    Start any number, on any host: they share the jobs through leases in SQL. SIGTERM or Ctrl-C
    stops after the batches running now.
    """
    from repo.app import jobs, open_resources
    from repo.operations import logs, preflight
    from repo.worker import leases
    from repo.worker.notify import Listener
    from repo.worker.runner import Runner, wall_clock

    settings = preflight.load_settings()
    preflight.check_or_exit(settings)  # a misconfiguration: one line and exit status 2
    if not (once or list_jobs):
        logs.configure(settings.log_level, settings.log_format)
    if settings.is_sqlite:
        upgrade(settings.resolved_database_url)  # the embedded profile migrates itself, as `repo serve` does
    selected = [j for j in jobs() if not job or j.name in job]
    unknown = set(job or ()) - {j.name for j in selected}
    if unknown:
        console.print(f"[red]error:[/red] unknown job(s): {', '.join(sorted(unknown))} "
                      f"(known: {', '.join(j.name for j in jobs())})")
        raise typer.Exit(2)
    resources = open_resources(settings, Clock())
    try:
        runner = Runner(selected, resources, lease_seconds=settings.worker_lease_seconds,
                        poll_seconds=settings.worker_poll_seconds)
        if list_jobs:
            held = leases.holders(resources.db, wall_clock())
            table = Table("job", "every", "on commit", "sharing", "lease held by")
            for j in selected:
                holder = held.get(j.name)
                table.add_row(j.name, f"{runner.interval(j):g} s", "yes" if j.on_commit else "", j.sharing.value,
                              f"{holder[0]} until {holder[1]:%H:%M:%S}Z" if holder else "")
            console.print(table)
            return
        if once:
            for j in selected:
                done = runner.run_until_idle(j.name)
                console.print(f"{j.name}: {done}")
            return
        stop = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("worker: %s received, stopping after the current batches", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        if metrics_port is not None:
            from prometheus_client import start_http_server

            start_http_server(metrics_port)
        listener = Listener(settings.resolved_database_url, runner.wake_commit) if not settings.is_sqlite else None
        runner.start()
        if listener is not None:
            listener.start()
        log.info("worker %s: running %s", runner.holder, ", ".join(j.name for j in selected))
        stop.wait()
        if listener is not None:
            listener.stop()
        runner.stop(timeout=30)
    finally:
        resources.close()
