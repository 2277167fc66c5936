"""Files: exported with ``--files DIR`` and imported from it into an empty repository through the
upload path; a row naming a missing file, or a path out of the directory, fails alone."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from helpers import pdf_bytes, sample, snapshot
from repo.files.models import File

REPORT_TABLES = ("imports", "import_problems")


def test_files_round_trip(client, auth, empty_repo, normalise, tmp_path):
    made = client.post("/api/works", json=sample(), headers=auth.editor_a).json()
    put = client.put(f"/api/works/{made['id']}/files/informe.pdf", content=pdf_bytes(2), headers=auth.editor_a)
    assert put.status_code == 201
    client.put(f"/api/works/{made['id']}/files/datos.csv", content=b"a,b\n1,2\n", headers=auth.editor_a,
               params={"access_right": "restricted"})
    client.post(f"/api/works/{made['id']}/publish", headers=auth.editor_a)
    assert client.patch(f"/api/works/{made['id']}", json={"main_file": "informe.pdf"},
                        headers=auth.editor_a).status_code == 200
    from repo.imports import export

    state = client.app.state
    first = b"".join(export.stream(state.db, state.settings, "jsonl", export.Filters(), tmp_path / "out", state.files))
    record = json.loads(first)
    assert [f["path"].split("/")[1] for f in record["files"]] == ["datos.csv", "informe.pdf"]
    assert record["files"][0]["access_right"] == "restricted" and record["main_file"] == "informe.pdf"
    (tmp_path / "works.jsonl").write_bytes(first)

    output = empty_repo("import", str(tmp_path / "works.jsonl"), "--centre", "centre-a", "--files", str(tmp_path / "out"))
    assert "created 1" in output and "failed 0" in output
    again = empty_repo("export", "--files", str(tmp_path / "again"))
    assert normalise(again) == normalise(first.decode())
    path = record["files"][1]["path"]  # by content: the same bytes under the same sha256
    assert (tmp_path / "again" / path).read_bytes() == (tmp_path / "out" / path).read_bytes()
    output = empty_repo("import", str(tmp_path / "works.jsonl"), "--centre", "centre-a", "--files", str(tmp_path / "out"))
    assert "unchanged 1" in output  # the same files: nothing new


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_file_references_fail_their_row(cli, database, tmp_path):
    cli.setup()
    files = tmp_path / "files"
    files.mkdir()
    (files / "ok.pdf").write_bytes(pdf_bytes())
    (tmp_path / "secret.txt").write_text("not for import")
    (files / "link.txt").symlink_to(tmp_path / "secret.txt")
    rows = [("ok", "ok.pdf"), ("missing", "nowhere.pdf"), ("up", "../secret.txt"), ("absolute", str(tmp_path / "secret.txt")),
            ("link", "link.txt"), ("mixed", "ok.pdf")]
    lines = []
    for n, (key, path) in enumerate(rows):
        files_of = [{"path": path}] + ([{"path": "nowhere.pdf"}] if key == "mixed" else [])
        lines.append(json.dumps({**sample(metadata__doi=f"10.5555/f.{n}"), "external_id": key, "files": files_of}))
    (tmp_path / "works.jsonl").write_text("\n".join(lines) + "\n")
    before = {k: v for k, v in snapshot(database).items() if k not in REPORT_TABLES}
    report = tmp_path / "report.csv"
    output = cli("import", str(tmp_path / "works.jsonl"), "--centre", "centre-a", "--files", str(files),
                 "--dry-run", "--report", str(report), code=1)
    assert "created 1" in output and "failed 5" in output
    assert {k: v for k, v in snapshot(database).items() if k not in REPORT_TABLES} == before
    found = {line.split(",")[1]: line for line in report.read_text().splitlines()[1:]}
    assert "no file 'nowhere.pdf'" in found["missing"] and "no file 'nowhere.pdf'" in found["mixed"]
    assert "not a path inside" in found["up"] and "not a path inside" in found["absolute"]
    assert "outside the files directory" in found["link"]
    output = cli("import", str(tmp_path / "works.jsonl"), "--centre", "centre-a", "--files", str(files), code=1)
    assert "created 1" in output and "failed 5" in output
    with database.session() as session:
        assert session.scalars(sa.select(File.name)).all() == ["ok.pdf"]  # nothing of the 'mixed' row's good file
