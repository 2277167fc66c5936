"""A harvest killed mid-run (SIGKILL, no chance to clean up) resumes from the last committed token
(or window, when it was killed between windows):
no gap and no duplicate, on SQLite and PostgreSQL; also when its records are mapped and validated
in a second process, which does not outlive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from ingest_support import Harvester
from oai_source import Faults, dc_item

from repo.ingest.models import HarvestRun, IngestRecord
from repo.works.models import Work

COUNT = 20


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie is gone
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("windows", [1, 3])
def test_a_killed_run_resumes_without_duplicates_or_gaps(harvester: Harvester, oai_source, where: str,
                                                         windows: int) -> None:
    """``windows``: the records in one window, or in three of 200 days (7, 7 and 6 records: the run
    reads ahead across their boundaries)."""
    start = datetime(2024, 3, 1, tzinfo=UTC)
    per_window = -(-COUNT // windows)
    source = oai_source([dc_item(n, start + timedelta(days=200 * ((n - 1) // per_window), minutes=n))
                         for n in range(1, COUNT + 1)], page_size=5, faults=Faults(page_delay=0.25))
    source_id = harvester.add(source.url)
    settings = harvester.settings
    env = {**os.environ, "REPO_DATABASE_URL": settings.resolved_database_url, "REPO_SECRET_KEY": "test-secret-key",
           "REPO_DATA_DIR": str(settings.data_dir), "REPO_HARVEST_SCHEDULER_SECONDS": "0",
           "REPO_HARVEST_PARALLEL_FROM_RECORDS": str(settings.harvest_parallel_from_records),
           "REPO_HARVEST_WINDOW_DAYS": "200"}
    command = [sys.executable, "-c", "from repo.cli import app; app()", "harvest", "run", str(source_id)]
    process = subprocess.Popen(command, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until some pages are committed, then kill it in the middle of the list
            with harvester.database.session() as session:
                pages = session.scalar(sa.select(sa.func.max(HarvestRun.pages))) or 0
            if pages >= 2:
                break
            assert process.poll() is None and time.monotonic() < deadline, "the harvest ended too early"
            time.sleep(0.05)
        children = [int(c) for c in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert bool(children) == (where == "apart")  # the second process (and multiprocessing's resource tracker)
    deadline = time.monotonic() + 30
    while not all(_gone(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in children), "the second process outlived the harvest"
    with harvester.database.session() as session:
        killed = session.scalars(sa.select(HarvestRun)).one()
        assert killed.status == "running" and killed.created < COUNT
        assert killed.token or windows > 1  # in one window, a run is always in the middle of its list
        done_before = killed.created
    asked_before = len(source.requests)
    run = harvester.run(source_id, harvest_window_days=200)
    assert run.id == killed.id and run.attempts == 2 and "interrupted" in (run.last_error or "")
    assert run.status == "succeeded" and run.created == COUNT
    resumed = source.requests[asked_before:]
    list_requests = [r for r in resumed if r.get("verb") == "ListRecords"]
    # (the killed run's last look-ahead request may reach the source after the kill: it is among these)
    if killed.token:  # resumed from the token of the last page written …
        assert any(r.get("resumptionToken") == killed.token for r in list_requests)
    else:  # … or from the start of its window: the one after the last page written
        assert killed.window_from
        assert any(r.get("from") == killed.window_from.strftime("%Y-%m-%dT%H:%M:%SZ") for r in list_requests)
    assert all("resumptionToken" in r or r.get("from") for r in list_requests)  # never from the start
    assert run.seen == COUNT and run.unchanged == 0 and done_before > 0  # no page applied twice
    with harvester.database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Work)) == COUNT
        identifiers = session.scalars(sa.select(IngestRecord.external_id)).all()
    assert sorted(identifiers) == sorted(f"oai:source.example.org:{n}" for n in range(1, COUNT + 1))
