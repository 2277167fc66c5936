"""Uploads: bytes and hashes survive the round trip; who may change files; what a change records."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from file_pdfs import text_pdf
from file_samples import ACCEPTED
from file_support import assert_problem, snapshot, stored_files

from repo.clock import ManualClock
from repo.db import Database
from repo.files.local import LocalStore as Storage


def test_put_then_download_returns_identical_bytes_and_hashes(client: TestClient, auth: Any, make_work: Any,
                                                              settings: Any) -> None:
    work = make_work()
    pdf = text_pdf([f"Página {i}" for i in range(5)]) + b"%" + bytes(range(256)) * 40 + b"\n%%EOF\n"
    response = client.put(f"/api/works/{work}/files/Capítulo 1.pdf", content=pdf,
                          headers={**auth.editor_a, "Content-Type": "application/pdf"})
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert record["md5"] == hashlib.md5(pdf).hexdigest()
    assert (record["size"], record["media_type"]) == (len(pdf), "application/pdf")
    # Content-addressed: the bytes are stored once, under their sha256.
    sha = record["sha256"]
    assert Storage(settings.data_dir).path(sha).read_bytes() == pdf
    assert f"sha256/{sha[:2]}/{sha[2:4]}/{sha}" in stored_files(settings)
    download = client.get(f"/works/{work}/files/Capítulo 1.pdf", headers=auth.editor_a)
    assert download.status_code == 200
    assert download.content == pdf
    assert hashlib.sha256(download.content).hexdigest() == sha
    assert download.headers["etag"] == f'"{sha}"'


def test_every_accepted_kind_round_trips_by_multipart(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work()
    for kind, (name, data, media_type) in sorted(ACCEPTED.items()):
        response = client.post(f"/api/works/{work}/files", files={"file": (name, data, "application/octet-stream")},
                               headers=auth.editor_a)
        assert response.status_code == 201, (kind, response.text)
        assert response.json()["media_type"] == media_type, kind
        assert response.json()["sha256"] == hashlib.sha256(data).hexdigest()
        assert client.get(f"/works/{work}/files/{name}", headers=auth.editor_a).content == data
    listed = client.get(f"/api/works/{work}/files", headers=auth.editor_a).json()["items"]
    assert sorted(f["name"] for f in listed) == sorted(name for name, _, _ in ACCEPTED.values())


def test_multipart_with_access_fields(client: TestClient, auth: Any, make_work: Any, clock: ManualClock) -> None:
    work = make_work(status="published")
    until = (clock.now() + timedelta(days=30)).date().isoformat()
    response = client.post(f"/api/works/{work}/files", headers=auth.editor_a,
                           files={"file": ("a.txt", b"embargoed notes", "text/plain")},
                           data={"access_right": "embargoed", "embargo_end": until})
    assert response.status_code == 201, response.text
    assert (response.json()["access_right"], response.json()["embargo_end"]) == ("embargoed", until)
    assert client.get(f"/works/{work}/files/a.txt").status_code == 403


def test_multipart_refuses_unknown_fields_and_missing_file(client: TestClient, auth: Any, make_work: Any,
                                                           database: Database, settings: Any) -> None:
    work = make_work()
    before = snapshot(database)
    assert_problem(client.post(f"/api/works/{work}/files", headers=auth.editor_a,
                               files={"file": ("a.txt", b"x", "text/plain")}, data={"owner": "me"}), 422, "owner")
    assert_problem(client.post(f"/api/works/{work}/files", headers=auth.editor_a, data={"access_right": "open"},
                               files={"other": ("a.txt", b"x", "text/plain")}), 422)
    assert_problem(client.post(f"/api/works/{work}/files", headers=auth.editor_a, files=[
        ("file", ("a.txt", b"one", "text/plain")), ("file", ("b.txt", b"two", "text/plain"))]), 422, "file")
    assert_problem(client.post(f"/api/works/{work}/files", headers={**auth.editor_a, "Content-Type": "text/plain"},
                               content=b"abc"), 415, "header.content-type")
    assert_problem(client.post(f"/api/works/{work}/files", headers={
        **auth.editor_a, "Content-Type": "multipart/form-data; boundary=xyz"},
        content=b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc"), 400)
    assert snapshot(database) == before
    assert stored_files(settings) == []


def test_replace_and_delete_on_a_draft(client: TestClient, auth: Any, make_work: Any, settings: Any) -> None:
    work = make_work()
    url = f"/api/works/{work}/files/notes.txt"
    assert client.put(url, content=b"first", headers=auth.editor_a).status_code == 201
    replaced = client.put(url, content=b"second version", headers=auth.editor_a)
    assert replaced.status_code == 200
    assert replaced.json()["sha256"] == hashlib.sha256(b"second version").hexdigest()
    assert client.get(f"/works/{work}/files/notes.txt", headers=auth.editor_a).content == b"second version"
    revisions = client.get(f"/api/works/{work}/revisions", headers=auth.editor_a).json()
    change = revisions[-1]["changes"][0]
    assert (change["field"], change["old"]["sha256"], change["new"]["sha256"]) == (
        "files.notes.txt", hashlib.sha256(b"first").hexdigest(), hashlib.sha256(b"second version").hexdigest())
    # The same bytes again change nothing and write no revision.
    assert client.put(url, content=b"second version", headers=auth.editor_a).status_code == 200
    assert len(client.get(f"/api/works/{work}/revisions", headers=auth.editor_a).json()) == len(revisions)
    assert client.delete(url, headers=auth.editor_a).status_code == 204
    assert_problem(client.get(url, headers=auth.editor_a), 404)
    assert_problem(client.get(f"/works/{work}/files/notes.txt", headers=auth.editor_a), 404)
    last = client.get(f"/api/works/{work}/revisions", headers=auth.editor_a).json()[-1]
    assert last["changes"][0]["new"] is None


def test_change_on_published_work_writes_revision_and_bumps_datestamp(
    client: TestClient, auth: Any, make_work: Any, clock: ManualClock, database: Database
) -> None:
    from repo.works.models import Work

    work = make_work(status="published")
    with database.session() as session:
        published_stamp = session.get(Work, work).datestamp
    clock.advance(hours=2)
    etag = client.get(f"/api/works/{work}", headers=auth.editor_a).headers["etag"]
    response = client.put(f"/api/works/{work}/files/book.pdf", content=text_pdf(["x"]),
                          headers={**auth.editor_a, "If-Match": etag})
    assert response.status_code == 201, response.text
    assert response.headers["etag"] != etag
    with database.session() as session:
        stamp = session.get(Work, work).datestamp
    assert stamp == clock.now() and stamp > published_stamp
    revision = client.get(f"/api/works/{work}/revisions", headers=auth.editor_a).json()[-1]
    assert revision["action"] == "files" and revision["changes"][0]["field"] == "files.book.pdf"
    # Stale If-Match: 412, and nothing stored.
    before = snapshot(database)
    assert_problem(client.put(f"/api/works/{work}/files/other.txt", content=b"x",
                              headers={**auth.editor_a, "If-Match": etag}), 412)
    assert snapshot(database) == before


def test_withdrawn_work_files_are_frozen(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work(status="withdrawn")
    assert_problem(client.put(f"/api/works/{work}/files/a.txt", content=b"x", headers=auth.admin), 409)


def test_who_may_upload(client: TestClient, auth: Any, make_work: Any, database: Database, settings: Any) -> None:
    work = make_work()
    before = snapshot(database)
    assert_problem(client.put(f"/api/works/{work}/files/a.txt", content=b"x"), 401)
    assert_problem(client.put(f"/api/works/{work}/files/a.txt", content=b"x", headers=auth.editor_b), 404)
    published = make_work(status="published")
    before = snapshot(database)
    assert_problem(client.put(f"/api/works/{published}/files/a.txt", content=b"x", headers=auth.editor_b), 403)
    assert_problem(client.put("/api/works/999999/files/a.txt", content=b"x", headers=auth.admin), 404)
    assert snapshot(database) == before
    assert stored_files(settings) == []
    assert client.put(f"/api/works/{work}/files/a.txt", content=b"x", headers=auth.admin).status_code == 201


def test_file_access_override_by_patch(client: TestClient, auth: Any, make_work: Any, clock: ManualClock) -> None:
    work = make_work(status="published")
    client.put(f"/api/works/{work}/files/a.txt", content=b"text", headers=auth.editor_a)
    url = f"/api/works/{work}/files/a.txt"
    response = client.patch(url, json={"access_right": "restricted"}, headers=auth.editor_a)
    assert response.status_code == 200, response.text
    assert response.json()["access_right"] == "restricted" and response.json()["open"] is False
    assert client.get(f"/works/{work}/files/a.txt").status_code == 403
    assert_problem(client.patch(url, json={"access_right": "embargoed"}, headers=auth.editor_a), 422)
    assert_problem(client.patch(url, json={"access_right": "open", "x": 1}, headers=auth.editor_a), 422, "x")
    assert_problem(client.patch(url, content=b"{not json", headers=auth.editor_a), 400)
    assert_problem(client.patch(url, content=b" " * 20_000, headers=auth.editor_a), 413)
    assert_problem(client.patch(url, json={"access_right": None}), 401)
    assert client.patch(url, json={"access_right": None}, headers=auth.editor_a).json()["access_right"] is None
    assert client.get(f"/works/{work}/files/a.txt").status_code == 200


def test_a_long_upload_is_stamped_when_it_lands_not_when_it_began(client: TestClient, auth: Any, make_work: Any,
                                                                   clock: ManualClock, database: Database) -> None:
    """An incremental OAI harvest that starts while the bytes stream must not miss the new file: the
    work's datestamp is the moment the upload lands (restamped after its commit), not the moment
    its request arrived."""
    import sqlalchemy as sa

    from repo.works.models import Work

    work = make_work(status="published")
    began = clock.now()

    def slow_body() -> Any:
        yield b"first half of the notes, "
        clock.advance(minutes=7)  # minutes of streaming pass
        yield b"second half"

    response = client.put(f"/api/works/{work}/files/notes.txt", content=slow_body(),
                          headers={**auth.editor_a, "Content-Type": "text/plain"})
    assert response.status_code == 201, response.text
    with database.session() as session:
        stamped = session.scalar(sa.select(Work.datestamp).where(Work.id == work))
    assert stamped == began + timedelta(minutes=7)
