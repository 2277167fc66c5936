"""Harvesting a source that misbehaves as real endpoints do: one test per misbehaviour, against our
own fault-injecting OAI-PMH provider over a real socket, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ingest_support import Harvester
from oai_source import Faults, Item, dc_item, http_date

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
# The faults are the client's business: one database is enough here (the pipeline's tests run on both).
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def corpus(count: int = 12, *, hours: int = 1) -> list[Item]:
    return [dc_item(n, START + timedelta(hours=hours * n)) for n in range(1, count + 1)]


def identifiers(count: int) -> set[str]:
    return {f"oai:source.example.org:{n}" for n in range(1, count + 1)}


def test_a_plain_source_is_harvested_to_the_end(harvester: Harvester, oai_source) -> None:
    source = oai_source(corpus(12), page_size=5)
    run = harvester.run(harvester.add(source.url))
    assert (run.status, run.pages, run.seen, run.created, run.failed) == ("succeeded", 3, 12, 12, 0)
    works = harvester.works()
    assert set(works) == identifiers(12)
    work = works["oai:source.example.org:3"]
    assert work.status == "published" and work.type == "journal_article" and work.access_right == "open"
    assert work.doc["titles"][0] == {"value": "Registro número 3", "lang": "spa", "type": "main"}
    assert work.origin["base_url"] == source.url and work.origin["datestamp"] == "2024-03-01T15:00:00Z"


def test_503_with_retry_after_in_seconds_is_honoured(harvester: Harvester, oai_source) -> None:
    source = oai_source(corpus(8), page_size=5, faults=Faults(retry_after="1", unavailable_times=1))
    began = datetime.now(UTC)
    run = harvester.run(harvester.add(source.url))
    assert run.status == "succeeded" and run.created == 8
    assert datetime.now(UTC) - began >= timedelta(seconds=1)  # waited as told, then went on
    assert sum(1 for r in source.requests if r.get("resumptionToken")) == 2  # page 2 asked twice


def test_503_with_retry_after_as_an_http_date_is_honoured(harvester: Harvester, oai_source) -> None:
    # sickle, pyoai and scythe raise ValueError on this form (OAI-PMH.md T5); we read it
    source = oai_source(corpus(8), page_size=5, faults=Faults(retry_after=http_date(1), unavailable_times=1))
    run = harvester.run(harvester.add(source.url))
    assert run.status == "succeeded" and run.created == 8


def test_a_retry_after_beyond_the_time_budget_stops_the_run_resumably(harvester: Harvester, oai_source) -> None:
    source = oai_source(corpus(8), page_size=5, faults=Faults(retry_after="3600", unavailable_times=1))
    source_id = harvester.add(source.url)
    run = harvester.run(source_id, harvest_max_seconds=8, harvest_max_retry_after_seconds=3600)
    assert run.status == "stopped" and "past the run's time budget" in run.last_error
    assert run.created == 5 and run.token  # the first page is in, the position is kept
    again = harvester.run(source_id)
    assert again.id == run.id and again.status == "succeeded" and again.created == 8 and again.attempts == 2


def test_dropped_connections_are_retried_with_back_off(harvester: Harvester, oai_source) -> None:
    source = oai_source(corpus(8), page_size=5, faults=Faults(drop_times=2))
    run = harvester.run(harvester.add(source.url))
    assert run.status == "succeeded" and run.created == 8


def test_an_expired_token_restarts_the_window_not_the_source(harvester: Harvester, oai_source) -> None:
    source = oai_source(corpus(12), page_size=5, faults=Faults(expire_tokens=True))
    run = harvester.run(harvester.add(source.url))
    assert run.status == "succeeded" and run.window_restarts >= 1
    assert run.created == 12 and set(harvester.works()) == identifiers(12)  # no duplicate, no gap


def test_a_token_loop_is_detected(harvester: Harvester, oai_source) -> None:
    source = oai_source(corpus(20), page_size=5, faults=Faults(loop_at=2))
    run = harvester.run(harvester.add(source.url))
    assert run.status == "failed" and "resumption token loop" in run.last_error
    assert len(source.requests) < 10 and run.created == 15  # what came before the loop is kept


def test_endless_tokens_are_stopped(harvester: Harvester, oai_source) -> None:
    source = oai_source(corpus(5), page_size=5, faults=Faults(endless=True))
    run = harvester.run(harvester.add(source.url))
    assert run.status == "failed" and "endless resumption tokens" in run.last_error
    assert run.created == 5 and len(source.requests) < 20


def test_a_malformed_page_is_asked_again_once(harvester: Harvester, oai_source) -> None:
    source = oai_source(corpus(12), page_size=5, faults=Faults(malformed_page=1, malformed_times=1))
    run = harvester.run(harvester.add(source.url))
    assert run.status == "succeeded" and run.created == 12


def test_a_page_that_stays_malformed_fails_the_run_and_keeps_what_came_before(harvester: Harvester,
                                                                              oai_source) -> None:
    source = oai_source(corpus(12), page_size=5, faults=Faults(malformed_page=1))
    run = harvester.run(harvester.add(source.url))
    assert run.status == "failed" and "malformed XML" in run.last_error
    assert run.created == 5 and run.token  # resumable from the broken page


def test_a_slow_source_is_held_to_the_time_budget(harvester: Harvester, oai_source) -> None:
    source = oai_source(corpus(12), page_size=5, faults=Faults(slow_seconds=0.2))
    run = harvester.run(harvester.add(source.url), harvest_max_seconds=1.5)
    assert run.status == "stopped" and "time budget" in run.last_error
    assert run.finished_at is not None and (run.finished_at - run.started_at) < timedelta(seconds=10)


def test_day_granularity_is_asked_for_with_day_dates(harvester: Harvester, oai_source) -> None:
    items = corpus(6, hours=30)
    source = oai_source(items, page_size=5, granularity="YYYY-MM-DD")
    source_id = harvester.add(source.url)
    assert harvester.run(source_id).created == 6
    harvester.run(source_id)  # incremental: from = the first run's start (day) minus the overlap
    incremental = source.requests[-1]
    assert len(incremental["from"]) == len(incremental["until"]) == 10, incremental  # never finer (§3.3.1)


def test_oai_errors_sent_with_an_http_error_status_are_still_read(harvester: Harvester, oai_source) -> None:
    # sickle and pyoai stop at the HTTP status (OAI-PMH.md T4); the harvest reads the OAI error first
    source = oai_source(corpus(3), page_size=5, faults=Faults(error_status_for_oai_errors=404))
    source_id = harvester.add(source.url)
    assert harvester.run(source_id).created == 3
    second = harvester.run(source_id)  # an empty window answers noRecordsMatch, with HTTP 404
    assert second.status == "succeeded" and second.seen == 0


@pytest.mark.parametrize("granularity", ["YYYY-MM-DDThh:mm:ssZ"])
def test_a_full_run_is_asked_window_by_window(harvester: Harvester, oai_source, granularity: str) -> None:
    items = [dc_item(n, START + timedelta(days=100 * n)) for n in range(1, 9)]  # over two years
    source = oai_source(items, page_size=5, granularity=granularity)
    run = harvester.run(harvester.add(source.url), harvest_window_days=200)
    assert run.status == "succeeded" and run.created == 8
    windows = [(r.get("from"), r.get("until")) for r in source.requests if r.get("verb") == "ListRecords"
               and "resumptionToken" not in r]
    assert len(windows) >= 4 and windows[0][0] is None  # the first window is open at the bottom
    for (_, until), (start, _) in zip(windows, windows[1:]):
        assert start > until  # contiguous, not overlapping, at the granularity


def test_the_scheduler_job_runs_the_sources_that_are_due(harvester: Harvester, oai_source) -> None:
    from repo.ingest.jobs import run_due

    scheduled = harvester.add(oai_source(corpus(3)).url, every="1h")  # due at once, then every hour
    harvester.add(oai_source(corpus(2)).url)  # on request only: never due by itself
    assert run_due(harvester.database, harvester.settings, harvester.clock) == 3
    assert run_due(harvester.database, harvester.settings, harvester.clock) == 0  # next due in an hour
    assert set(harvester.works()) == identifiers(3) and scheduled


def test_background_work_harvests_a_long_run_in_slices(harvester: Harvester, oai_source) -> None:
    from repo.ingest.jobs import run_due

    source = oai_source(corpus(16), page_size=4, faults=Faults(page_delay=0.3))
    harvester.add(source.url, every="1h")
    slices = []
    for _ in range(30):  # the worker calls the job again while it did something, or at its interval
        slices.append(run_due(harvester.database, harvester.settings, harvester.clock, slice_seconds=1.0))
        if harvester.get_run(1).status == "succeeded":
            break
    assert len(slices) > 1 and sum(slices) == 16, slices
    runs = harvester.get_run(1)
    assert runs.status == "succeeded" and runs.created == 16 and runs.attempts >= len(slices)  # one run, resumed


def test_the_worker_job_runs_the_due_sources_and_counts_them(harvester: Harvester, oai_source) -> None:
    from prometheus_client import REGISTRY

    from repo.app import jobs, open_resources
    from repo.operations import metrics
    from repo.worker.runner import Runner

    good = harvester.add(oai_source(corpus(3)).url, every="1h")
    bad = harvester.add(oai_source(corpus(2), faults=Faults(malformed_page=0)).url, every="1h")

    def runs(source: int, outcome: str) -> float:
        return REGISTRY.get_sample_value("repo_harvest_runs_total", {"source": str(source), "outcome": outcome}) or 0

    before = runs(good, "succeeded"), runs(bad, "failed")
    job = next(j for j in jobs() if j.name == "ingest.harvest")  # registered with every other job
    on = open_resources(harvester.settings.model_copy(update={"harvest_scheduler_seconds": 60}), harvester.clock)
    try:
        runner = Runner([job], on)
        assert runner.interval(job) == 60
        assert runner.run_until_idle("ingest.harvest") == 3  # under the job's lease, like any job
        assert set(harvester.works()) == identifiers(3)
        assert (runs(good, "succeeded"), runs(bad, "failed")) == (before[0] + 1, before[1] + 1)
        text = metrics.exposition(on.db).decode()
        assert "repo_harvest_sources_failing 1.0" in text  # from SQL: any process tells
        assert f'repo_harvest_failures_total{{source="{bad}"}}' in text
    finally:
        on.close()
    off = open_resources(harvester.settings, harvester.clock)  # harvest_scheduler_seconds=0: off
    try:
        harvester.add(oai_source(corpus(2)).url, every="1h")
        assert Runner([job], off).run_until_idle("ingest.harvest") == 0
    finally:
        off.close()
