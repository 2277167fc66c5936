"""Bad input: a clear 4xx problem+json answer, and nothing stored changes."""

from __future__ import annotations

import pytest

from helpers import assert_problem, sample, snapshot


@pytest.fixture
def draft(client, auth):
    work = client.post("/api/works", json=sample(), headers=auth.editor_a).json()
    return work["id"]


def refused(client, database, request_kwargs: dict, status: int, field: str | None = None) -> dict:
    before = snapshot(database)
    body = assert_problem(client.request(**request_kwargs), status, field)
    assert snapshot(database) == before, "a refused request changed what is stored"
    return body


JSON = {"Content-Type": "application/json"}


def test_malformed_json(client, auth, database, draft):
    for payload in (b"{bad", b"", b"[1, 2", b"\xff\xfe"):
        refused(client, database, dict(method="POST", url="/api/works", content=payload,
                                       headers={**auth.editor_a, **JSON}), 400 if payload else 422)
    refused(client, database, dict(method="PUT", url=f"/api/works/{draft}", content=b"{",
                                   headers={**auth.editor_a, **JSON}), 400)


def test_wrong_types_and_unknown_fields(client, auth, database, draft):
    cases = [
        (sample(type=42), "type"),
        (sample(metadata__titles="not a list"), "metadata.titles"),
        (sample(metadata__titles=[{"value": "x", "colour": "red"}]), "metadata.titles[0].colour"),
        (sample(unknown=1), "unknown"),
        (sample(type="novel"), "type"),
        (sample(access_right="sometimes"), "access_right"),
        (sample(metadata__languages=["klingon"]), "metadata.languages[0]"),
        (sample(metadata__countries=["XX"]), "metadata.countries[0]"),
        (sample(metadata__license="https://example.org/my-licence"), "metadata.license"),
        (sample(metadata__publication_date="2021-02-30"), "metadata.publication_date"),
        (sample(metadata__version="final"), "metadata.version"),
        (sample(access_right="embargoed"), "body"),
        (sample(embargo_end="2030-01-01"), "body"),
        (sample(metadata__titles=[{"value": "a", "type": "main"}, {"value": "b", "type": "main"}]), "metadata"),
    ]
    for record, field in cases:
        refused(client, database, dict(method="POST", url="/api/works", json=record, headers=auth.editor_a), 422, field)
        refused(client, database, dict(method="PUT", url=f"/api/works/{draft}", json=record, headers=auth.editor_a),
                422, field)


def test_invalid_identifiers(client, auth, database):
    cases = [
        (sample(metadata__isbn=["978-3-16-148410-1"]), "metadata.isbn[0]"),  # bad check digit
        (sample(metadata__isbn=["12345"]), "metadata.isbn[0]"),
        (sample(metadata__journal={"title": "J", "issn": "0188-7654"}), "metadata.journal.issn"),
        (sample(metadata__creators=[{"family": "X", "orcid": "0000-0002-1825-0098"}]), "metadata.creators[0].orcid"),
        (sample(metadata__creators=[{"family": "X", "orcid": "orcid"}]), "metadata.creators[0].orcid"),
        (sample(metadata__doi="11.1234/x"), "metadata.doi"),
        (sample(metadata__creators=[{"family": "X", "affiliations": [{"name": "A", "ror": "ror"}]}]),
         "metadata.creators[0].affiliations[0].ror"),
        (sample(metadata__creators=[{"given": "Only"}]), "metadata.creators[0]"),
    ]
    for record, field in cases:
        refused(client, database, dict(method="POST", url="/api/works", json=record, headers=auth.editor_a), 422, field)


def test_valid_identifiers_are_normalised(client, auth):
    record = sample(metadata__isbn=["9783161484100", "0-306-40615-2"],
                    metadata__doi="https://doi.org/10.5555/XYZ",
                    metadata__creators=[{"family": "X", "orcid": "https://orcid.org/0000000218250097"}])
    work = client.post("/api/works", json=record, headers=auth.editor_a).json()
    assert work["metadata"]["isbn"] == ["978-3-16-148410-0", "978-0-306-40615-7"]
    assert work["metadata"]["doi"] == "10.5555/XYZ"
    assert work["metadata"]["creators"][0]["orcid"] == "0000-0002-1825-0097"


def test_oversized_bodies_are_413(client, auth, database, settings):
    big = sample(metadata__notes="x" * (settings.json_max_bytes + 10))
    refused(client, database, dict(method="POST", url="/api/works", json=big, headers=auth.editor_a), 413)

    def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(settings.json_max_bytes // 65536 + 2):
            yield b" " * 65536

    refused(client, database, dict(method="POST", url="/api/works", content=chunks(),
                                   headers={**auth.editor_a, **JSON}), 413)


def test_stale_etag_unknown_ids_and_foreign_centres(client, auth, database, draft):
    refused(client, database, dict(method="PUT", url=f"/api/works/{draft}", json=sample(),
                                   headers={**auth.editor_a, "If-Match": '"7"'}), 412)
    refused(client, database, dict(method="POST", url=f"/api/works/{draft}/publish",
                                   headers={**auth.editor_a, "If-Match": '"0"'}), 412)
    refused(client, database, dict(method="PUT", url="/api/works/424242", json=sample(), headers=auth.admin), 404)
    refused(client, database, dict(method="POST", url="/api/works/424242/publish", headers=auth.admin), 404)
    refused(client, database, dict(method="POST", url="/api/works", json=sample(centre="centre-b"),
                                   headers=auth.editor_a), 403)
    refused(client, database, dict(method="PUT", url=f"/api/works/{draft}", json=sample(),
                                   headers=auth.editor_b), 404)
    refused(client, database, dict(method="PATCH", url=f"/api/works/{draft}", json=[1, 2],
                                   headers=auth.editor_a), 422)


def test_control_characters_are_cleaned_not_stored(client, auth):
    record = sample(metadata__titles=[{"value": "Título\x00 con\x07 controles\x1f", "lang": "spa"}])
    work = client.post("/api/works", json=record, headers=auth.editor_a)
    assert work.status_code == 201
    assert work.json()["metadata"]["titles"][0]["value"] == "Título con controles"


def test_nothing_a_client_sends_causes_a_500(client, auth, draft):
    weird = ["%00", "..%2F..%2Fetc", "1e309", "-1", "9" * 40, "\u202e", "' OR 1=1 --"]
    for value in weird:
        for method, url in (("GET", f"/api/works/{value}"), ("GET", f"/api/works?cursor={value}"),
                            ("GET", f"/api/works?updated_since={value}"), ("PATCH", f"/api/works/{value}")):
            response = client.request(method, url, json={}, headers=auth.admin)
            assert response.status_code < 500, (method, url, response.text)
