"""A big import validates its rows in a second process while this one writes (pipeline.Preparer):
the same works, reports and counts as validating them here, on both databases; the second process
goes away when the import stops, whatever stops it, and the import resumes as ever."""

from __future__ import annotations

import json
import multiprocessing
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from helpers import sample
from repo.app import open_file_store
from repo.clock import Clock
from repo.context import Context
from repo.deposit.auth import Principal, TokenRole
from repo.imports import service
from repo.imports.jobs import ImportRun
from repo.imports.models import Import
from repo.ingest import pipeline
from repo.ingest.models import IngestRecord
from repo.works.models import Work

HERE = {"REPO_IMPORT_BATCH": "3", "REPO_IMPORT_PARALLEL_FROM_BYTES": str(1 << 40)}
APART = {"REPO_IMPORT_BATCH": "3", "REPO_IMPORT_PARALLEL_FROM_BYTES": "0"}


def _rows(title: str = "Segunda") -> list[dict[str, Any]]:
    rows = [{**sample(metadata__doi=f"10.5555/apart.{n}"), "external_id": f"row-{n}"} for n in range(1, 7)]
    rows[1]["metadata"]["titles"] = [{"value": title, "lang": "spa"}]
    rows[2]["metadata"]["isbn"] = ["978-0-00-000000-1"]  # a bad check digit: the row fails, naming the field
    rows[3].update(status="draft")
    rows[4].update(status="withdrawn", withdrawal_reason="retracted by the authors")
    rows[5]["collections"] = ["nowhere"]  # found out only when written: fails alone, nothing of it stays
    rows.append({**sample(metadata__doi="10.5555/APART.1"), "external_id": "same-doi"})  # linked to row-1
    no_title = sample(metadata__doi="10.5555/apart.8")
    no_title["metadata"]["titles"] = []
    rows.append({**no_title, "external_id": "no-title"})  # cannot be published
    rows.append({**sample(metadata__doi="10.5555/apart.9", collections=["libros"]), "external_id": "row-9"})
    rows.append({**sample(metadata__doi="10.5555/apart.10"), "external_id": "row-10"})
    return rows


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _counts(output: str) -> list[str]:
    return re.findall(r"\b(?:created|updated|unchanged|linked|failed|withdrawn|skipped) \d+", output)


@pytest.fixture
def submitted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the batches sent to a second process (it was used, and for what)."""
    sizes: list[int] = []
    submit = pipeline.Preparer.submit

    def counted(self: pipeline.Preparer, feed: pipeline.Feed, items: Any) -> Any:
        sizes.append(len(items))
        return submit(self, feed, items)

    monkeypatch.setattr(pipeline.Preparer, "submit", counted)
    return sizes


def test_rows_validated_apart_give_what_rows_validated_here_give(cli, empty_repo, normalise, submitted, tmp_path):
    cli.setup()
    cli.env.update(HERE)
    empty_repo.env.update(APART)
    first = _write(tmp_path / "works.jsonl", _rows())
    outputs, exports, reports = [], [], []
    for repo, name in ((cli, "here"), (empty_repo, "apart")):
        report = tmp_path / f"report-{name}.csv"
        outputs.append(_counts(repo("import", str(first), "--centre", "centre-a", "--publish", "--report",
                                    str(report), code=1)))
        reports.append(report.read_text(encoding="utf-8"))
        exports.append(normalise(repo("export")))
    assert submitted == [3, 3, 3, 1], "the second repository's import did not validate in a second process"
    assert outputs[0] == outputs[1] == ["created 6", "updated 0", "unchanged 0", "linked 1",
                                                 "skipped 0", "failed 3"], outputs
    assert reports[0] == reports[1]
    for expected in ("metadata.isbn[0]", "no collection 'nowhere'", "a title is required to publish",
                     "linked, not duplicated"):
        assert expected in reports[1]
    assert exports[0] == exports[1]
    assert sorted(r["status"] for r in exports[1]) == ["draft", "published", "published", "published", "published",
                                                                "withdrawn"]

    submitted.clear()
    again = _write(tmp_path / "again.jsonl", _rows(title="Segunda, corregida"))  # one row changed: an update
    for n, repo in enumerate((cli, empty_repo)):
        outputs[n] = _counts(repo("import", str(again), "--centre", "centre-a", "--publish", code=1))
        exports[n] = normalise(repo("export"))
    assert len(submitted) == 4
    assert outputs[0] == outputs[1] == ["created 0", "updated 1", "unchanged 6", "linked 0",
                                                 "skipped 0", "failed 3"], outputs
    assert exports[0] == exports[1]
    titles = [t["value"] for r in exports[1] for t in r["metadata"]["titles"]]
    assert "Segunda, corregida" in titles and "Segunda" not in titles


def _start(database: Any, settings: Any, path: Path) -> int:
    admin = Principal(token_id=0, name="test", role=TokenRole.admin)
    with database.session() as session:
        ctx = Context(session, admin, Clock().now(), settings, Clock(), open_file_store(settings))
        options = service.Options(centre="centre-a", filename=path.name, format=None, collection=None, publish=True,
                                  dry_run=False, files_dir=None, encoding=None)
        job, _ = service.start(ctx, options, service.receive_path(ctx, path), resume=True)
        return job.id


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_the_second_process_stops_with_the_import_which_resumes(client, auth, database, settings, submitted, tmp_path,
                                                                 stop):
    client.app.state.worker.pause("imports.run")  # this test runs the import itself
    settings = settings.model_copy(update={"import_batch": 3})
    path = _write(tmp_path / "works.jsonl",
                  [{**sample(metadata__doi=f"10.5555/stop.{n}"), "external_id": f"row-{n}"} for n in range(12)])
    import_id = _start(database, settings, path)
    files = open_file_store(settings)

    def interrupt(_state: Import) -> None:  # Ctrl-C (or a failure) while the next batch is being prepared
        raise stop("stop here")

    with pytest.raises(stop):
        ImportRun(database, settings, Clock(), import_id, files, owner="me", on_batch=interrupt,
                  parallel_from_bytes=0).run()
    assert submitted == [3, 3]  # the second batch was out there when the first one's callback stopped it
    assert multiprocessing.active_children() == []  # shut down and joined: no process left behind
    with database.session() as session:
        assert session.scalar(sa.select(Import.rows).where(Import.id == import_id)) == 3
        assert session.scalar(sa.select(sa.func.count()).select_from(Work)) == 3

    assert ImportRun(database, settings, Clock(), import_id, files, owner="me", parallel_from_bytes=0).run() == 9
    assert multiprocessing.active_children() == []
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Work)) == 12
        keys = session.scalars(sa.select(IngestRecord.external_id)).all()
        assert sorted(keys) == sorted(f"row-{n}" for n in range(12))
        job = session.get(Import, import_id)
        assert job is not None and (job.status, job.rows, job.created) == ("succeeded", 12, 12)
