"""The outbox indexer and the operator commands, on SQLite and PostgreSQL, on each backend.

Crash safety: a ``repo index drain`` killed with SIGKILL in the middle of its batches, then run
again, leaves the index at parity with SQL (``repo index check``).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from repo.cli import app as cli_app
from repo.clock import Clock
from repo.search import documents, indexer
from repo.search.models import OutboxEntry
from repo.works.models import Work

from search_support import flush, ids, search

REPO_BIN = str(Path(sys.executable).with_name("repo"))


@pytest.fixture
def cli(settings, monkeypatch):
    """``repo …`` in-process with this test's settings; returns (exit code, output)."""
    monkeypatch.setenv("REPO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("REPO_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("REPO_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("REPO_SEARCH_INDEX", settings.search_index)
    if settings.search_url:
        monkeypatch.setenv("REPO_SEARCH_URL", settings.search_url)
    else:
        monkeypatch.delenv("REPO_SEARCH_URL", raising=False)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli_app, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    return run


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPO_")}
    env.update(REPO_DATA_DIR=str(settings.data_dir), REPO_DATABASE_URL=settings.resolved_database_url,
               REPO_SECRET_KEY="test-secret-key", REPO_SEARCH_INDEX=settings.search_index)
    if settings.search_url:
        env["REPO_SEARCH_URL"] = settings.search_url
    return env


def _pending(database) -> int:
    with database.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) or 0)


def _bulk_works(database, clock, n: int, centre_id: int) -> None:
    """``n`` published works and their outbox rows, written straight to SQL (fast setup)."""
    now = clock.now()
    with database.session() as session:
        works = [Work(status="published", type="report", centre_id=centre_id, access_right="open",
                      embargo_pending=False, publication_year=1990 + i % 30, version=1, created_at=now,
                      updated_at=now, published_at=now, datestamp=now,
                      doc={"titles": [{"value": f"Informe número {i} sobre cooperativas", "lang": "spa"}],
                           "creators": [{"family": f"Autora{i % 97}"}], "languages": ["spa"],
                           "publication_date": str(1990 + i % 30)})
                 for i in range(n)]
        session.add_all(works)
        session.flush()
        session.add_all([OutboxEntry(work_id=w.id, reason="create", created_at=now, available_at=now, attempts=0)
                         for w in works])


def _centre_id(database, slug: str = "centre-a") -> int:
    from repo.centres.models import MemberCentre

    with database.session() as session:
        return int(session.scalar(sa.select(MemberCentre.id).where(MemberCentre.slug == slug)))


# -- batches, failures, retries ------------------------------------------------------------------


@pytest.mark.parametrize("backend_kind", ["embedded"], indirect=True)
def test_one_bad_document_does_not_block_the_others(client, make, database, clock, auth):
    good, bad, other = (make(f"Obra {name} sobre cooperativas") for name in ("buena", "mala", "otra"))
    flush(client)
    client.app.state.worker.pause("search.outbox")  # this test drains by itself, step by step
    with database.session() as session:
        work = session.get(Work, bad)
        saved = dict(work.doc)
        work.doc = {**saved, "titles": [{"lang": "spa"}]}  # a row the document builder cannot read
        for work_id in (good, bad, other):
            session.add(OutboxEntry(work_id=work_id, reason="update", created_at=clock.now(),
                                    available_at=clock.now(), attempts=0))
    report = client.app.state.indexer.flush()
    assert set(report.errors) == {bad} and report.indexed == 2 and "KeyError" in report.errors[bad]
    with database.session() as session:
        row = session.scalars(sa.select(OutboxEntry)).one()
        assert (row.work_id, row.attempts) == (bad, 1) and "KeyError" in row.last_error
        assert row.available_at == clock.now() + indexer.backoff(1)
    assert client.app.state.indexer.flush().batches == 0  # backing off: not due yet
    with database.session() as session:
        session.get(Work, bad).doc = {**saved, "titles": [{"value": "Obra reparada", "lang": "spa"}]}
    clock.advance(seconds=indexer.backoff(1).total_seconds())
    assert client.app.state.indexer.flush().indexed == 1
    assert _pending(database) == 0
    assert ids(search(client, q="reparada")) == {bad}


def test_backoff_grows_and_is_capped():
    delays = [indexer.backoff(n).total_seconds() for n in range(1, 12)]
    assert delays[:4] == [5, 10, 20, 40]
    assert delays == sorted(delays) and delays[-1] == indexer.BACKOFF_MAX_SECONDS


@pytest.mark.parametrize("backend_kind", ["embedded"], indirect=True)
def test_backend_down_keeps_every_row_for_later(settings, database, clock, client, make):
    from repo.search.opensearch.backend import OpenSearchBackend

    work = make("Obra publicada")
    flush(client)
    client.app.state.worker.pause("search.outbox")
    with database.session() as session:
        session.add(OutboxEntry(work_id=work, reason="update", created_at=clock.now(), available_at=clock.now(),
                                attempts=0))
    down = OpenSearchBackend("http://127.0.0.1:9", "nowhere", max_retries=0)  # nothing listens on port 9
    report = indexer.Indexer(database, down, clock).drain()
    down.close()
    assert report.failed == 1 and report.indexed == 0
    with database.session() as session:
        row = session.scalars(sa.select(OutboxEntry)).one()
        assert row.attempts == 1 and "Connection" in row.last_error


# -- crash safety ----------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url, backend_kind",
                         [("sqlite", "embedded"), ("postgresql", "embedded"), ("sqlite", "osmem")], indirect=True)
def test_drain_killed_mid_batch_then_restarted_reaches_parity(settings, database, clock, client, auth, backend):
    """SIGKILL a ``repo index drain`` between its batches' commits; a new run finishes the job."""
    client.app.state.worker.pause("search.outbox")  # only the subprocess drains in this test
    n = 2000
    _bulk_works(database, clock, n, _centre_id(database))
    process = subprocess.Popen([REPO_BIN, "index", "drain", "--batch-size", "20"], env=_env(settings),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _pending(database) == n and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read() if process.stderr else ""
    left = _pending(database)
    assert 0 < left < n, f"not killed mid-drain ({left} of {n} pending)"
    drift = indexer.check(database, backend)
    assert not drift.parity and len(drift.missing) >= left - 20  # the rows still pending are not indexed
    result = subprocess.run([REPO_BIN, "index", "drain"], env=_env(settings), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _pending(database) == 0
    report = indexer.check(database, backend)
    assert report.parity and report.checked == n, report
    assert backend.count() == n


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_crash_after_backend_write_before_outbox_commit(settings, database, clock, client, auth, backend):
    """An injected crash between the backend write and the outbox delete: rows stay, a rerun redoes them."""
    client.app.state.worker.pause("search.outbox")
    _bulk_works(database, clock, 300, _centre_id(database))
    calls = []

    def crash(work_ids):
        calls.append(len(work_ids))
        if len(calls) == 3:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        indexer.Indexer(database, backend, clock, batch_size=50, fail=crash).drain()
    assert _pending(database) == 300 - 2 * 50  # the third batch's rows were not deleted
    assert indexer.Indexer(database, backend, clock, batch_size=50).drain().indexed == 200
    assert _pending(database) == 0 and indexer.check(database, backend).parity


# -- operations -----------------------------------------------------------------------------------


def test_check_reports_each_kind_of_drift_and_repairs_it(client, make, database, backend, cli):
    works = [make(f"Obra {i} sobre cooperativas") for i in range(5)]
    client.app.state.worker.pause("search.outbox")  # the drift made below must stay until repaired,
    flush(client)  # so the in-process worker is stopped (after its cycle) and the test drains
    missing, stale, wrong, extra_from = works[0], works[1], works[2], works[3]
    assert cli("index", "check")[0] == 0
    backend.delete([missing])
    with database.session() as session:
        doc = documents.load(session, [extra_from])[extra_from]
        changed = session.get(Work, stale)
        changed.doc = {**changed.doc, "titles": [{"value": "Cambiado a espaldas del outbox", "lang": "spa"}]}
        session.get(Work, wrong).status = "draft"  # a leak until repaired
    backend.index([dataclasses.replace(doc, id=987654)])
    report = indexer.check(database, backend)
    assert (report.missing, report.stale, report.extra, report.wrong_visibility) == (
        [missing], [stale], [987654], [wrong])
    code, output = cli("index", "check")
    assert code == 1 and "Drift found" in output
    code, output = cli("index", "check", "--repair")
    assert code == 0 and "Repaired 4 documents" in output
    assert indexer.check(database, backend).parity
    assert wrong not in ids(search(client, q="cooperativas"))
    assert missing in ids(search(client, q="cooperativas"))


def test_reindex_rebuilds_swaps_and_keeps_serving(client, make, database, backend, cli, settings):
    works = {make(f"Obra {i} sobre cooperativas") for i in range(3)}
    before = _index_names(backend, settings)
    backend.delete(list(works)[:1])  # drift that a rebuild from SQL removes
    code, output = cli("reindex")
    assert code == 0 and "Reindexed 3 works" in output, output
    after = _index_names(backend, settings)
    assert after != before and len(after) == 1  # a fresh index, the old one dropped
    assert indexer.check(database, backend).parity
    assert ids(search(client, q="cooperativas")) == works  # the running app reads the new index


def _index_names(backend, settings) -> list[str]:
    if settings.search_url is None:
        conn = backend._conn()
        return [str(backend._generation(conn))]
    return sorted(backend.client.indices.get_alias(name=settings.search_index))


@pytest.mark.parametrize("backend_kind", ["embedded"], indirect=True)
def test_status_shows_backlog_and_oldest_age(settings, database, cli):
    from repo.search import outbox

    now = Clock().now()
    with database.session() as session:
        outbox.enqueue(session, 123, "update", now - timedelta(hours=2))
        outbox.enqueue(session, 124, "update", now)
    code, output = cli("index", "status")
    assert code == 0
    row = next(line for line in output.splitlines() if "embedded" in line)
    assert "│ 2 " in row  # pending
    assert "720" in row  # ~7200 s ago
    code, output = cli("index", "drain")
    assert code == 0 and "Indexed 2 works" in output
    assert "│ 0 " in next(line for line in cli("index", "status")[1].splitlines() if "embedded" in line)


def test_server_indexes_after_commit_by_itself(client, auth):
    from search_support import RECORD_TITLE

    response = client.post("/api/works", json=RECORD_TITLE("Obra indexada sola"), headers=auth.editor_a)
    assert response.status_code == 201
    work = response.json()["id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if work in ids(search(client, auth.editor_a, q="indexada")):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the background indexer did not index the new draft")
