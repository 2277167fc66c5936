"""``POST /api/imports``: a dry run validates every row with the deposit rules and reports (row,
field, message) without changing anything; the real run imports the valid rows, each failing row
leaves nothing; who may import where."""

from __future__ import annotations

import json

import pytest

from helpers import sample, snapshot

REPORT_TABLES = ("imports", "import_problems")


def _jsonl(*records: object) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records).encode()


def _post(client, headers, body: bytes, **params):  # type: ignore[no-untyped-def]
    response = client.post("/api/imports", params={"centre": "centre-a", **params}, content=body, headers=headers)
    assert response.status_code == 202, response.text
    client.app.state.worker.run_until_idle("imports.run")  # the worker's job (woken by the commit) has run it
    job = client.get(response.headers["Location"], headers=headers)
    assert job.status_code == 200
    return job.json()


def _by_row(job) -> dict[int, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    found: dict[int, list[tuple[str, str]]] = {}
    for line in job["problems"]:
        found.setdefault(line["row"], []).append((line["field"], line["message"]))
    return found


BAD_JSONL = [
    {**sample(), "external_id": "ok-1"},
    {**sample(metadata__doi="10.1234/two", metadata__creators=[{"family": "X", "orcid": "0000-0000-0000-0002"}]),
     "external_id": "bad-orcid"},
    "{not json",
    {**sample(metadata__doi="10.1234/three", metadata__titles=[{"value": "x" * 10_000}]), "external_id": "long"},
    {**sample(metadata__doi="10.1234/four"), "external_id": "no-centre", "centre": "nowhere"},
    {**sample(metadata__doi="10.1234/five"), "external_id": "other-centre", "centre": "centre-b"},
    {**sample(), "external_id": "same-doi"},  # the DOI of ok-1: linked, not duplicated
]


@pytest.mark.parametrize("format", ["jsonl"])
def test_dry_run_reports_and_changes_nothing_then_the_run_imports_the_valid_rows(client, auth, database, format):
    body = _jsonl(*BAD_JSONL)
    before = {k: v for k, v in snapshot(database).items() if k not in REPORT_TABLES}
    job = _post(client, auth.editor_a, body, dry_run="true", filename="works.jsonl", publish="true")
    assert {k: v for k, v in snapshot(database).items() if k not in REPORT_TABLES} == before
    assert job["status"] == "succeeded" and job["dry_run"] is True
    assert (job["seen"], job["created_works"], job["linked"], job["failed"]) == (7, 1, 1, 5)
    rows = _by_row(job)
    assert rows[2] == [("metadata.creators[0].orcid", rows[2][0][1])] and "check" in rows[2][0][1].lower()
    assert rows[3][0][0] == "line" and "not JSON" in rows[3][0][1]
    assert rows[4][0][0] == "metadata.titles[0].value" and "2000" in rows[4][0][1]
    assert rows[5] == [("centre", "no centre 'nowhere'")]
    assert rows[6][0][0] == "centre" and "centre-b" in rows[6][0][1]
    assert "10.1234/abc.5" in rows[7][0][1].lower()

    real = _post(client, auth.editor_a, body, filename="works.jsonl", publish="true")
    assert (real["created_works"], real["linked"], real["failed"]) == (1, 1, 5)
    assert _by_row(real).keys() == rows.keys()
    listing = client.get("/api/works", headers=auth.admin).json()
    assert [w["metadata"]["doi"] for w in listing["items"]] == ["10.1234/ABC.5"]  # nothing of a failed row
    report = client.get(f"/api/imports/{real['id']}/report", params={"after": 0, "limit": 2},
                        headers=auth.editor_a).json()
    assert [line["row"] for line in report] == [2, 3]
    more = client.get(f"/api/imports/{real['id']}/report", params={"after": report[-1]["id"]},
                      headers=auth.editor_a).json()
    assert [line["row"] for line in more] == [4, 5, 6, 7]


def test_who_may_import(client, auth, database):
    body = _jsonl({**sample(), "external_id": "a"})
    assert client.post("/api/imports", params={"centre": "centre-a"}, content=body).status_code == 401
    before = snapshot(database)
    refused = client.post("/api/imports", params={"centre": "centre-a"}, content=body, headers=auth.editor_b)
    assert refused.status_code == 403
    for params, field in (({"centre": "nowhere"}, "centre"), ({"centre": "centre-a", "filename": "x.pdf"}, "format"),
                          ({"centre": "centre-a", "collection": "nowhere"}, "collection")):
        response = client.post("/api/imports", params={"filename": "x.jsonl", **params}, content=body,
                               headers=auth.admin)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field, response.text
    empty = client.post("/api/imports", params={"centre": "centre-a", "format": "csv"}, content=b"", headers=auth.admin)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "file"
    assert snapshot(database) == before
    job = _post(client, auth.editor_a, body, format="jsonl")
    assert client.get(f"/api/imports/{job['id']}", headers=auth.editor_b).status_code == 404
    assert [j["id"] for j in client.get("/api/imports", headers=auth.editor_b).json()] == []
    assert [j["id"] for j in client.get("/api/imports", headers=auth.admin).json()] == [job["id"]]
    assert job["created_works"] == 1 and job["status"] == "succeeded"
    assert client.get("/api/works", headers=auth.admin).json()["items"][0]["status"] == "draft"  # no publish


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rows_without_external_id_are_known_by_doi_or_content(client, auth):
    with_doi = sample(metadata__doi="10.5555/no-id")
    without = sample(metadata__doi=None, metadata__titles=[{"value": "Sin identificador", "lang": "spa"}])
    body = _jsonl(with_doi, without)
    first = _post(client, auth.editor_a, body, format="jsonl", publish="true")
    again = _post(client, auth.editor_a, body, format="jsonl", publish="true")
    assert (first["created_works"], again["created_works"], again["unchanged"]) == (2, 0, 2)
    assert len(client.get("/api/works", headers=auth.admin).json()["items"]) == 2
