"""``repo worker`` processes beside web processes that do no background work (``REPO_WORKER=external``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from repo.config import Settings
from repo.files.models import File
from repo.search.models import OutboxEntry

from helpers import wait_for

sys.path.insert(0, str(Path(__file__).parents[1] / "files"))
from file_pdfs import text_pdf  # noqa: E402

REPO_BIN = str(Path(sys.executable).with_name("repo"))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The web process of these tests leaves every job to worker processes."""
    return settings.model_copy(update={"worker": "external"})


def env(settings: Settings, **extra: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("REPO_")}
    values.update(REPO_DATA_DIR=str(settings.data_dir), REPO_DATABASE_URL=settings.resolved_database_url,
                  REPO_SECRET_KEY="test-secret-key", REPO_LOG_LEVEL="info", **extra)
    return values


def pending(database: Any) -> int:
    with database.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) or 0)


def start_worker(settings: Settings, **extra: str) -> subprocess.Popen[str]:
    process = subprocess.Popen([REPO_BIN, "worker"], env=env(settings, **extra), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:  # wait until it runs its jobs
        if "running" in line:
            break
    else:
        pytest.fail(f"repo worker exited with {process.wait()}")
    threading.Thread(target=process.stderr.read, daemon=True).start()  # keep its pipe drained
    return process


def test_external_web_leaves_the_work_to_a_worker_process(client, auth, database, settings):
    from repo.worker.runner import External

    assert isinstance(client.app.state.worker, External)  # no job runs in the web process
    record = {"type": "report", "centre": "centre-a", "access_right": "open",
              "metadata": {"titles": [{"value": "Informe sobre cooperativas", "lang": "spa"}],
                           "creators": [{"family": "Souza"}], "languages": ["spa"], "publication_date": "2024"}}
    work = client.post("/api/works", json=record, headers=auth.editor_a).json()["id"]
    time.sleep(0.3)
    assert pending(database) == 1  # nobody drains in the web process
    # PostgreSQL wakes the worker by NOTIFY: a poll period far beyond the wait proves it
    poll = "60" if database.engine.dialect.name == "postgresql" else "0.2"
    worker = start_worker(settings, REPO_WORKER_POLL_SECONDS=poll)
    try:
        assert wait_for(lambda: pending(database) == 0, 10)  # what was waiting before it started
        assert client.post(f"/api/works/{work}/publish", headers=auth.editor_a).status_code == 200
        assert wait_for(lambda: pending(database) == 0, 10)
        hits = client.get("/api/search", params={"q": "cooperativas"}).json()
        assert [h["id"] for h in hits["hits"]] == [work]
        upload = client.put(f"/api/works/{work}/files/informe.pdf", content=text_pdf(["Texto del informe"]),
                            headers=auth.editor_a)
        assert upload.status_code == 201 and upload.json()["text_state"] == "pending"

        def extracted() -> bool:
            with database.session() as session:
                return session.scalar(sa.select(File.text_state)) == "done"

        assert wait_for(extracted, 30)  # by the worker process
        assert client.get(f"/works/{work}/files/informe.pdf/text").text.strip() == "Texto del informe"
        assert wait_for(lambda: pending(database) == 0, 10)  # the text reached the index too
        hits = client.get("/api/search", params={"q": "texto"}).json()
        assert [h["id"] for h in hits["hits"]] == [work]
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0  # a clean stop
    with database.session() as session:
        assert session.scalar(sa.text("SELECT count(*) FROM worker_leases WHERE holder IS NOT NULL")) == 0


def test_a_worker_killed_mid_batch_is_taken_over(settings, database, clock):
    """SIGKILL a worker while it drains a large outbox; a second worker finishes it (on SQLite once
    the dead one's lease has expired, on PostgreSQL at once: its row locks died with it)."""
    from repo.centres.models import MemberCentre
    from repo.search import indexer
    from repo.search.backend import open_backend
    from repo.works.models import Work

    n, now = 600, clock.now()
    with database.session() as session:
        centre = MemberCentre(slug="c", name="C", created_at=now, updated_at=now)
        session.add(centre)
        session.flush()
        works = [Work(status="published", type="report", centre_id=centre.id, access_right="open",
                      publication_year=2000, version=1, created_at=now, updated_at=now, published_at=now,
                      datestamp=now, doc={"titles": [{"value": f"Informe {i}", "lang": "spa"}],
                                          "languages": ["spa"], "publication_date": "2000"})
                 for i in range(n)]
        session.add_all(works)
        session.flush()
        session.add_all([OutboxEntry(work_id=w.id, reason="create", created_at=now, available_at=now, attempts=0)
                         for w in works])
    first = start_worker(settings, REPO_WORKER_LEASE_SECONDS="3")
    assert wait_for(lambda: pending(database) < n, 60)
    first.send_signal(signal.SIGKILL)
    first.wait()
    left = pending(database)
    assert 0 < left < n, f"not killed mid-drain ({left} of {n} pending)"
    second = start_worker(settings, REPO_WORKER_LEASE_SECONDS="3")
    try:
        assert wait_for(lambda: pending(database) == 0, 60)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    backend = open_backend(settings)
    try:
        report = indexer.check(database, backend)
    finally:
        backend.close()
    assert report.parity and report.checked == n, report
