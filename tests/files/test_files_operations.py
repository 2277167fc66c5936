"""Extraction limits and state, the outbox row it writes, and the operator commands
(``repo files extract``, ``verify``, ``gc``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from file_pdfs import text_pdf
from typer.testing import CliRunner

from repo.centres.models import MemberCentre
from repo.cli import app as cli
from repo.config import Settings
from repo.db import Database
from repo.files import extraction
from repo.files.models import File
from repo.files.local import LocalStore as Storage
from repo.search.models import OutboxEntry
from repo.works.models import Work

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _row(database: Database, storage: Storage, data: bytes, media_type: str = "application/pdf") -> int:
    """A work with one stored file, written directly (no server running, so no indexer drains the outbox)."""
    with database.session() as session:
        return _row_in(session, storage, data, media_type)


def _row_in(session: Any, storage: Storage, data: bytes, media_type: str) -> int:
    sha = hashlib.sha256(data).hexdigest()
    storage.path(sha).parent.mkdir(parents=True, exist_ok=True)
    storage.path(sha).write_bytes(data)
    centre = MemberCentre(slug=f"c{sha[:8]}", name="C", created_at=NOW, updated_at=NOW)
    session.add(centre)
    session.flush()
    work = Work(status="draft", centre_id=centre.id, access_right="open", doc={}, version=1,
                created_at=NOW, updated_at=NOW, embargo_pending=False)
    session.add(work)
    session.flush()
    file = File(work_id=work.id, name="a.pdf", media_type=media_type, size=len(data), sha256=sha,
                md5=hashlib.md5(data).hexdigest(), text_state="pending", created_at=NOW, updated_at=NOW)
    session.add(file)
    session.flush()
    return file.id


def test_time_and_memory_limits_are_contained_and_recorded(database: Database, settings: Settings) -> None:
    storage = Storage(settings.data_dir)
    file_id = _row(database, storage, text_pdf([f"página {i}" for i in range(50)]))
    slow = extraction.process(database, storage, [file_id], lambda: NOW, extraction.Limits(seconds=0.01))
    assert slow[file_id].state == "failed" and "time limit" in (slow[file_id].error or "")
    small = extraction.process(database, storage, [file_id], lambda: NOW, extraction.Limits(memory_bytes=8 << 20))
    assert small[file_id].state == "failed" and "memory" in (small[file_id].error or "")
    with database.session() as session:
        row = session.get(File, file_id)
        assert (row.text_state, row.text) == ("failed", None) and "memory" in row.text_error
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 0
    assert extraction.retry_ids(database) == [file_id]
    done = extraction.process(database, storage, [file_id], lambda: NOW)
    assert done[file_id].state == "done"
    with database.session() as session:
        row = session.get(File, file_id)
        assert row.text.split("\f")[:2] == ["página 0", "página 1"] and row.has_thumbnail and row.text_error is None
        outbox = session.scalars(sa.select(OutboxEntry)).all()
        assert [(e.work_id, e.reason) for e in outbox] == [(row.work_id, "file_text")]
    assert storage.thumbnail_path(row.sha256).read_bytes().startswith(b"\x89PNG")
    assert extraction.retry_ids(database) == []
    assert list(storage.tmp.iterdir()) == []  # no thumbnail temporaries left behind


def test_a_file_replaced_during_extraction_keeps_its_new_state(database: Database, settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    storage = Storage(settings.data_dir)
    file_id = _row(database, storage, text_pdf(["old"]))
    real_extract = extraction.extract

    def extract_while_an_editor_replaces_the_file(*args: Any, **kwargs: Any) -> extraction.Outcome:
        outcome = real_extract(*args, **kwargs)
        with database.session() as session:  # a concurrent upload commits new bytes meanwhile
            session.get(File, file_id).sha256 = "f" * 64
        return outcome

    monkeypatch.setattr(extraction, "extract", extract_while_an_editor_replaces_the_file)
    assert extraction.process(database, storage, [file_id], lambda: NOW) == {}
    with database.session() as session:
        row = session.get(File, file_id)
        assert (row.text_state, row.text) == ("pending", None)  # the old bytes' text was not attached
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 0


def test_epub_text_in_spine_order_without_entities_scripts_or_bombs(database: Database, settings: Settings,
                                                                    tmp_path: Any) -> None:
    from file_samples import epub_book

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER-b4")
    storage = Storage(settings.data_dir)
    book = _row(database, storage, epub_book(["Capítulo uno: la tierra", "Capítulo dos: el agua"],
                                             entity_path=str(secret)), "application/epub+zip")
    outcome = extraction.process(database, storage, [book], lambda: NOW)[book]
    assert outcome.state == "done", outcome.error
    assert outcome.text is not None
    assert outcome.text.split("\f") == ["Capítulo uno: la tierra", "Capítulo dos: el agua"]
    assert "TOP-SECRET" not in outcome.text and "hidden" not in outcome.text and "color" not in outcome.text
    assert not outcome.thumbnail
    with database.session() as session:
        bomb = _row_in(session, storage, epub_book(["ok"], bomb_bytes=80 << 20), "application/epub+zip")
    bombed = extraction.process(database, storage, [bomb], lambda: NOW)[bomb]
    assert bombed.state == "failed" and "larger than" in (bombed.error or ""), bombed


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run the ``repo`` command against the test's database and data directory."""
    monkeypatch.setenv("REPO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("REPO_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("REPO_SECRET_KEY", "test-secret-key")
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_cli_extract_reruns_pending_and_failed(run: Any, database: Database, settings: Settings) -> None:
    storage = Storage(settings.data_dir)
    file_id = _row(database, storage, text_pdf(["uno", "dos"]))
    extraction.process(database, storage, [file_id], lambda: NOW, extraction.Limits(seconds=0.01))
    result = run("files", "extract")
    assert result.exit_code == 0, result.output
    assert "1 done" in result.output
    with database.session() as session:
        assert session.get(File, file_id).text == "uno\fdos"
    assert "nothing to do" in run("files", "extract").output


def test_cli_verify_reports_mismatches_and_missing_files(run: Any, client: TestClient, auth: Any, make_work: Any,
                                                        settings: Settings) -> None:
    work = make_work()
    for name, data in (("a.txt", b"first file"), ("b.txt", b"second file"), ("c.txt", b"third file")):
        assert client.put(f"/api/works/{work}/files/{name}", content=data, headers=auth.editor_a).status_code == 201
    clean = run("files", "verify")
    assert clean.exit_code == 0, clean.output
    assert "3 stored file(s) checked: 0 mismatched, 0 missing" in clean.output
    storage = Storage(settings.data_dir)
    storage.path(hashlib.sha256(b"first file").hexdigest()).write_bytes(b"first fil3")  # bit rot
    storage.path(hashlib.sha256(b"second file").hexdigest()).unlink()
    broken = run("files", "verify")
    assert broken.exit_code == 1
    assert f"mismatch {hashlib.sha256(b'first file').hexdigest()}" in broken.output
    assert f"missing  {hashlib.sha256(b'second file').hexdigest()}" in broken.output
    assert "1 mismatched, 1 missing" in broken.output
    # The missing file answers a clear error, not a crash.
    response = client.get(f"/works/{work}/files/b.txt", headers=auth.editor_a)
    assert response.status_code == 500 and "verify" in response.json()["detail"]


def test_cli_gc_removes_only_unreferenced_bytes(run: Any, client: TestClient, auth: Any, make_work: Any,
                                                settings: Settings) -> None:
    work = make_work()
    pdf = text_pdf(["gc"])
    client.put(f"/api/works/{work}/files/keep.txt", content=b"keep me", headers=auth.editor_a)
    client.put(f"/api/works/{work}/files/drop.pdf", content=pdf, headers=auth.editor_a)
    storage = Storage(settings.data_dir)
    dropped = hashlib.sha256(pdf).hexdigest()
    assert storage.thumbnail_path(dropped).exists()
    assert client.delete(f"/api/works/{work}/files/drop.pdf", headers=auth.editor_a).status_code == 204
    assert storage.path(dropped).exists()  # deleting the row never deletes bytes in the request
    assert "Removed 0" in run("files", "gc").output  # within the grace period
    result = run("files", "gc", "--grace-hours", "0")
    assert "Removed 2" in result.output, result.output
    assert not storage.path(dropped).exists() and not storage.thumbnail_path(dropped).exists()
    assert client.get(f"/works/{work}/files/keep.txt", headers=auth.editor_a).content == b"keep me"
