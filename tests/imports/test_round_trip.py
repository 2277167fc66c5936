"""Export → import into an empty repository → export: the same works (both databases), and an
import run again creates nothing new."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import sample
from repo.imports import export
from repo.works.models import Work


def _deposit(client, auth) -> None:  # type: ignore[no-untyped-def]
    """Works of every status and shape through the deposit API: a published article, a draft in
    two collections, a withdrawn book with a formula-like title and a `|` and `@` in values."""
    client.post("/api/collections", json={"slug": "libros", "name": "Libros", "centre": "centre-a"}, headers=auth.admin)
    client.post("/api/collections", json={"slug": "ensayos", "name": "Ensayos", "parent": "libros"},
                headers=auth.admin)
    made = client.post("/api/works", json=sample(), headers=auth.editor_a).json()
    assert client.post(f"/api/works/{made['id']}/publish", headers=auth.editor_a).status_code == 200
    draft = sample(collections=["libros", "ensayos"], metadata__doi=None,
                   metadata__creators=[{"family": "Souza", "given": "Ana", "affiliations": [
                       {"name": "USP|Brasil", "country": "BR"}, {"name": "UBA"}]},
                       {"name": "Colectivo @ Sur", "role": "editor"}])
    assert client.post("/api/works", json=draft, headers=auth.editor_a).status_code == 201
    book = sample(type="book", centre="centre-b", metadata__doi="10.1234/book.1", metadata__journal=None,
                  metadata__titles=[{"value": "=HYPERLINK(\"http://x\")", "lang": "spa"}],
                  metadata__isbn=["9780306406157"])
    made = client.post("/api/works", json=book, headers=auth.admin).json()
    client.post(f"/api/works/{made['id']}/publish", headers=auth.admin)
    assert client.post(f"/api/works/{made['id']}/withdraw", json={"reason": "duplicate of another work"},
                       headers=auth.admin).status_code == 200


def test_jsonl_round_trip_and_idempotent_reimport(client, auth, empty_repo, normalise, tmp_path):
    _deposit(client, auth)
    exported = client.get("/api/export", headers=auth.admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/jsonl")
    first = normalise(exported.text)
    assert [r["status"] for r in first] == ["published", "draft", "withdrawn"]
    source = tmp_path / "works.jsonl"
    source.write_bytes(exported.content)

    output = empty_repo("import", str(source), "--centre", "centre-a")
    assert "created 3" in output and "failed 0" in output
    again = normalise(empty_repo("export"))
    assert again == first

    output = empty_repo("import", str(source), "--centre", "centre-a")  # the same file again: nothing new
    assert "created 0" in output and "unchanged 3" in output
    assert normalise(empty_repo("export")) == first


def test_csv_round_trip(client, auth, empty_repo, tmp_path):
    _deposit(client, auth)
    exported = client.get("/api/export", params={"format": "csv"}, headers=auth.admin)
    assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert rows[2]["titles"] == "'=HYPERLINK(\"http://x\")@spa"  # neutralised: a spreadsheet shows it as text
    assert rows[1]["creators.affiliations.name"] == "USP\\|Brasil|UBA"
    source = tmp_path / "works.csv"
    source.write_bytes(exported.content)

    assert "created 3" in empty_repo("import", str(source), "--centre", "centre-a")
    again = empty_repo("export", "--format", "csv")
    assert _without_ids_and_times(again) == _without_ids_and_times(exported.text)
    assert "unchanged 3" in empty_repo("import", str(source), "--centre", "centre-a")


def _without_ids_and_times(text: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    for row in rows:
        for key in ("id", "created", "updated", "published", "withdrawn"):
            row.pop(key)
    return rows


def test_export_filters_and_rights(client, auth, database):
    _deposit(client, auth)
    assert client.get("/api/export", headers=auth.editor_a).status_code == 403
    assert client.get("/api/export", headers=auth.anonymous).status_code == 401
    lines = client.get("/api/export", params={"status": "published"}, headers=auth.admin).text.splitlines()
    assert len(lines) == 1
    lines = client.get("/api/export", params={"centre": "centre-b"}, headers=auth.admin).text.splitlines()
    assert len(lines) == 1 and '"withdrawn"' in lines[0]
    lines = client.get("/api/export", params={"collection": "libros"}, headers=auth.admin).text.splitlines()
    assert len(lines) == 1 and '"draft"' in lines[0]
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Work)) == 3


def test_export_times_and_dates_are_the_works_own(client, auth, database):
    """The database formats the times (UTC, to the second, ``Z``) and dates: on both databases they
    are the values the ORM reads, written as ISO 8601."""
    _deposit(client, auth)
    embargoed = sample(access_right="embargoed", embargo_end="2031-02-03")
    assert client.post("/api/works", json=embargoed, headers=auth.editor_a).status_code == 201
    exported = [json.loads(line) for line in client.get("/api/export", headers=auth.admin).text.splitlines()]
    with database.session() as session:
        works = {w.id: w for w in session.scalars(sa.select(Work))}
    assert len(exported) == len(works) == 4
    for record in exported:
        work = works[record["id"]]
        for key, value in (("created", work.created_at), ("updated", work.updated_at),
                           ("published", work.published_at), ("withdrawn", work.withdrawn_at)):
            expected = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
            assert record.get(key) == expected, (key, record.get(key), value)
        assert record.get("embargo_end") == (work.embargo_end.isoformat() if work.embargo_end else None)
    assert sorted(r.get("embargo_end", "") for r in exported)[-1] == "2031-02-03"
    assert sum("withdrawn" in r for r in exported) == 1 and sum("published" in r for r in exported) == 2


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_a_parallel_export_writes_the_same_bytes(client, auth, database, settings, format):
    """Two processes, a range of ids each (tasks of two works here), give the in-process export's
    bytes, in id order, with and without a filter."""
    _deposit(client, auth)
    for n in range(5):
        assert client.post("/api/works", json=sample(metadata__doi=f"10.1234/p.{n}"),
                           headers=auth.editor_a).status_code == 201
    everything = b"".join(export.stream(database, settings, format, export.Filters()))
    some = b"".join(export.stream(database, settings, format, export.Filters(centre="centre-a")))
    assert everything.count(b"\n") > some.count(b"\n") >= 6
    parallel = settings.model_copy(update={"export_parallel_from": 0})
    for filters, alone in ((export.Filters(), everything), (export.Filters(centre="centre-a"), some)):
        assert b"".join(export.parallel_stream(database, parallel, format, filters, jobs=2, task=2)) == alone
    # below `export_parallel_from` works it stays in this process (same bytes again)
    assert b"".join(export.parallel_stream(database, settings, format, export.Filters(), jobs=2)) == everything


def test_the_cli_forks_its_export_processes(client, auth, cli, tmp_path):
    """`repo export` (a process without other threads) forks its export processes: the same bytes
    as one process, run as the command itself (the test process has threads: it would spawn)."""
    _deposit(client, auth)
    env = {**os.environ, "REPO_DATABASE_URL": cli.database_url, "REPO_DATA_DIR": str(cli.data_dir),
           "REPO_SECRET_KEY": "test-secret-key", "REPO_EXPORT_PARALLEL_FROM": "0"}
    repo = str(Path(sys.executable).with_name("repo"))
    for format in ("jsonl", "csv"):
        outputs = []
        for jobs in ("1", "2"):
            out = tmp_path / f"{jobs}.{format}"
            run = subprocess.run([repo, "export", "--format", format, "--jobs", jobs, "-o", str(out)], env=env,
                                 capture_output=True, text=True, timeout=120)
            assert run.returncode == 0, run.stderr
            outputs.append(out.read_bytes())
        assert outputs[0] == outputs[1] and outputs[0].count(b"\n") >= 3
