"""Prometheus metrics: what the request path, the jobs and the queues report at ``/metrics``.

* ``repo_http_requests_total{method,route,status}`` and ``repo_http_request_duration_seconds``:
  by route *template* (``/works/{work_id}``), so the number of series stays bounded; paths that
  match no route count as ``<unmatched>``. Measured by :class:`repo.operations.middleware.Observe`,
  a pure ASGI middleware (a clock read, two cached children incremented: a few microseconds).
* ``repo_job_runs_total``, ``repo_job_items_total``, ``repo_job_failures_total``,
  ``repo_job_duration_seconds`` by ``job``: every batch of every background job.
* ``repo_outbox_backlog``, ``repo_outbox_oldest_age_seconds``, ``repo_outbox_failing``,
  ``repo_extraction_queue``: read from SQL at each scrape, so any process reports the whole
  installation's queues.
* ``repo_harvest_runs_total{source,outcome}`` (outcome: the run's status when the worker's
  ``ingest.harvest`` batch ended it: ``succeeded``, ``failed``, ``stopped`` at the end of a slice,
  ``error``), ``repo_harvest_failures_total{source}``: counted by the worker process that ran them;
  ``repo_harvest_sources_failing`` (active sources whose last run failed): read from SQL.
* ``repo_oai_records_served_total{verb}``: records and headers sent by OAI-PMH.

Several processes: ``repo serve --workers N`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
directory before the workers start (prometheus-client's multiprocess mode), so ``/metrics`` on any
worker sums every worker of that server. A ``repo worker`` process serves its own counters with
``--metrics-port``. Each host's processes are scraped separately; Prometheus sums across hosts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("repo_http_requests", "HTTP requests by method, route template and status",
                   ["method", "route", "status"])
LATENCY = Histogram("repo_http_request_duration_seconds", "Time from request to the response's last byte",
                    ["method", "route"], buckets=_LATENCY_BUCKETS)
JOB_RUNS = Counter("repo_job_runs", "Batches run by background jobs", ["job"])
JOB_ITEMS = Counter("repo_job_items", "What the batches of background jobs did (rows, files, works)", ["job"])
JOB_FAILURES = Counter("repo_job_failures", "Batches of background jobs that raised", ["job"])
JOB_SECONDS = Histogram("repo_job_duration_seconds", "Duration of one batch of a background job", ["job"],
                        buckets=_LATENCY_BUCKETS)
HARVEST_RUNS = Counter("repo_harvest_runs", "Harvest runs by source and outcome", ["source", "outcome"])
HARVEST_FAILURES = Counter("repo_harvest_failures", "Failed harvest runs by source", ["source"])
OAI_RECORDS = Counter("repo_oai_records_served", "Records and headers sent in OAI-PMH responses", ["verb"])
OAI_READ_AHEAD = Counter("repo_oai_read_ahead", "List pages made ahead, by what became of them (served, "
                         "stale: not what the request would get, unmade: it would have had to write, or failed)", ["outcome"])

# The children of the request metrics, by label values: .labels() costs a dict and a lock.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
    children[0].inc()
    children[1].observe(seconds)


def harvest_ended(source_id: int, outcome: str) -> None:
    """A harvest run of the worker's ``ingest.harvest`` job ended (or a slice of it did)."""
    HARVEST_RUNS.labels(str(source_id), outcome).inc()
    if outcome in ("failed", "error"):
        HARVEST_FAILURES.labels(str(source_id)).inc()


def observe_job(job: str, done: int, seconds: float, error: str | None) -> None:
    """A runner observer (:data:`repo.worker.runner.observers`)."""
    if error is not None:
        JOB_FAILURES.labels(job).inc()
        return
    JOB_RUNS.labels(job).inc()
    if done > 0:
        JOB_ITEMS.labels(job).inc(done)
    JOB_SECONDS.labels(job).observe(seconds)


class QueueCollector(Collector):
    """The installation's queues, read from SQL at each scrape (a few indexed counts)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from datetime import UTC, datetime

        import sqlalchemy as sa

        from repo.files.models import File
        from repo.ingest.models import HarvestRun, HarvestSource
        from repo.search.models import OutboxEntry

        with self.db.session() as session:
            backlog, oldest, failing = session.execute(sa.select(
                sa.func.count(), sa.func.min(OutboxEntry.created_at),
                sa.func.count().filter(OutboxEntry.attempts > 0))).one()
            extraction = session.scalar(sa.select(sa.func.count()).where(File.text_state == "pending"))
            failing_sources = session.scalar(
                sa.select(sa.func.count()).select_from(HarvestSource)
                .join(HarvestRun, HarvestRun.id == HarvestSource.last_run_id)
                .where(HarvestSource.status == "active", HarvestRun.status == "failed"))
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("repo_outbox_backlog", "Search outbox rows not yet indexed", value=backlog)
        yield GaugeMetricFamily("repo_outbox_oldest_age_seconds", "Age of the oldest pending outbox row",
                                value=max(age, 0.0))
        yield GaugeMetricFamily("repo_outbox_failing", "Outbox rows that failed at least once", value=failing)
        yield GaugeMetricFamily("repo_extraction_queue", "Files waiting for text extraction", value=extraction or 0)
        yield GaugeMetricFamily("repo_harvest_sources_failing", "Active harvest sources whose last run failed",
                                value=failing_sources or 0)


def exposition(db: Any) -> bytes:
    """The text exposition of this process (or of every process of this server, in multiprocess
    mode) and of the queues."""
    if os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counters = generate_latest(registry)
    else:
        counters = generate_latest(REGISTRY)
    queues = CollectorRegistry()
    queues.register(QueueCollector(db))
    try:
        queue_text = generate_latest(queues)
    except Exception:  # the database is away: the counters still tell what happened
        queue_text = b""
    return counters + queue_text


def prepare_multiprocess(directory: str) -> None:
    """Point prometheus-client at a fresh ``directory`` before the server's workers start."""
    import shutil

    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)
    os.environ[MULTIPROCESS_ENV] = directory


def process_exited(pid: int) -> None:
    if os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]

