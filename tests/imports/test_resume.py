"""An import killed mid-run (SIGKILL: no clean-up of any kind) resumes where its last batch
committed — when ``repo import`` runs again, or when the background job finds it orphaned: every
row once, no gap, no duplicate; the API shows its counts meanwhile. The same when the import
validates in a second process (a big file): that process does not outlive it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import sample
from repo.clock import Clock
from repo.imports import jobs
from repo.imports.models import Import
from repo.ingest.models import IngestRecord
from repo.works.models import Work

BATCH = 100
ROWS = BATCH * 4


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie is gone
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("apart", [False, True], ids=["here", "apart"])
def test_killed_import_resumes(cli, client, auth, database, settings, tmp_path, apart):
    client.app.state.worker.pause("imports.run")  # this test says who resumes the import
    path = tmp_path / "many.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for n in range(ROWS):
            out.write(json.dumps({**sample(metadata__doi=f"10.5555/row.{n}"), "external_id": f"row-{n}"}) + "\n")
    env = {**os.environ, "REPO_DATABASE_URL": settings.resolved_database_url, "REPO_DATA_DIR": str(settings.data_dir),
           "REPO_SECRET_KEY": "test-secret-key", "REPO_IMPORT_BATCH": str(BATCH),
           "REPO_IMPORT_PARALLEL_FROM_BYTES": "0" if apart else str(1 << 40)}
    process = subprocess.Popen([sys.executable, "-c", "from repo.cli import app; app()", "import", str(path),
                                "--centre", "centre-a", "--publish"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with database.session() as session:
                rows = session.scalar(sa.select(Import.rows))
            if rows:  # a batch has committed: kill it in the middle of what follows
                break
            time.sleep(0.02)
        children = _children(process.pid)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert bool(children) == apart  # the process validating its rows (and multiprocessing's resource tracker)
    deadline = time.monotonic() + 30
    while not all(_gone(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in children), "the second process outlived the import"
    with database.session() as session:
        job = session.scalars(sa.select(Import)).one()
        assert job.status == "running" and 0 < job.rows < ROWS, "the import was not killed mid-run"
        done, import_id = job.rows, job.id
        assert session.scalar(sa.select(sa.func.count()).select_from(Work)) == done  # batches are atomic
    shown = client.get(f"/api/imports/{import_id}", headers=auth.admin).json()  # the counts of an unfinished run
    assert (shown["status"], shown["rows"], shown["created_works"], shown["size"]) == ("running", done, done,
                                                                                        path.stat().st_size)
    assert 0 < shown["bytes_read"] < shown["size"]

    if database.engine.dialect.name == "sqlite":  # the operator runs the command again
        output = cli("import", str(path), "--centre", "centre-a", "--publish")
        assert f"resuming after row {done:,}" in output and f"created {ROWS:,}" in output
    else:  # the background job of repo serve finds the orphaned import (its process is dead) and ends it
        assert jobs.run_queued(database, settings, Clock(), client.app.state.files) == ROWS - done
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Work)) == ROWS
        keys = session.scalars(sa.select(IngestRecord.external_id)).all()
        assert sorted(keys) == sorted(f"row-{n}" for n in range(ROWS))
        job = session.scalars(sa.select(Import)).one()
        assert (job.status, job.rows, job.seen, job.created, job.attempts) == ("succeeded", ROWS, ROWS, ROWS, 2)
