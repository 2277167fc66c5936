"""The fields the harvesting formats need: conference, related identifiers, funders with
identifiers, subject schemes, ISSN-L, the main file. Validated on deposit like the rest
(problem+json naming the field, nothing stored changes), stored in canonical form."""

from __future__ import annotations

from helpers import assert_problem, sample, snapshot


def _refused(client, database, auth, record, field):  # type: ignore[no-untyped-def]
    before = snapshot(database)
    assert_problem(client.post("/api/works", json=record, headers=auth.editor_a), 422, field)
    assert snapshot(database) == before, "a refused deposit changed what is stored"


def test_bad_values_name_their_field(client, auth, database):  # type: ignore[no-untyped-def]
    conference = {"name": "Congreso ALAS", "start": "2019-12-06"}
    cases = [
        (sample(metadata__conference={**conference, "end": "2019-12-01"}), "metadata.conference.end"),
        (sample(metadata__conference={"name": "C", "end": "2019-12-01"}), "metadata.conference.end"),
        (sample(metadata__conference={**conference, "country": "Perú"}), "metadata.conference.country"),
        (sample(metadata__conference={"start": "2019-12-01"}), "metadata.conference.name"),
        (sample(metadata__related_identifiers=[{"identifier": "10.1/x", "type": "DOI", "relation": "IsPartOf"}]),
         "metadata.related_identifiers[0].identifier"),
        (sample(metadata__related_identifiers=[{"identifier": "978-3-16-148410-1", "type": "ISBN",
                                                "relation": "Reviews"}]), "metadata.related_identifiers[0].identifier"),
        (sample(metadata__related_identifiers=[{"identifier": "ftp://x", "type": "URL", "relation": "References"}]),
         "metadata.related_identifiers[0].identifier"),
        (sample(metadata__related_identifiers=[{"identifier": "10.1234/x", "type": "DOI", "relation": "isFriendOf"}]),
         "metadata.related_identifiers[0].relation"),
        (sample(metadata__related_identifiers=[{"identifier": "x", "type": "ORCID", "relation": "Cites"}]),
         "metadata.related_identifiers[0].type"),
        (sample(metadata__funding=[{"funder": "EC", "funder_id": "10.1234/501100000780"}]), "metadata.funding[0].funder_id"),
        (sample(metadata__funding=[{"funder": "EC", "award_uri": "not a url"}]), "metadata.funding[0].award_uri"),
        (sample(metadata__subjects=[{"value": "x", "scheme_uri": "https://example.org/scheme"}]),
         "metadata.subjects[0].scheme_uri"),
        (sample(metadata__journal={"title": "J", "issn_l": "0188-7654"}), "metadata.journal.issn_l"),
        (sample(main_file="texto.pdf"), "main_file"),  # a new work has no files yet
    ]
    for record, field in cases:
        _refused(client, database, auth, record, field)


def test_values_are_stored_in_canonical_form(client, auth):  # type: ignore[no-untyped-def]
    record = sample(
        metadata__conference={"name": "Congreso ALAS", "place": "Lima", "country": "per", "start": "2019-12-01",
                              "end": "2019-12-06"},
        metadata__related_identifiers=[{"identifier": "https://doi.org/10.5555/DATA.1", "type": "doi",
                                        "relation": "isSupplementedBy"},
                                       {"identifier": "https://hdl.handle.net/20.500.1/2", "type": "handle",
                                        "relation": "hasversion"}],
        metadata__funding=[{"funder": "European Commission", "funder_id": "https://dx.doi.org/10.13039/501100000780"},
                           {"funder": "ANR", "funder_id": "00rbzpz17", "award_number": "ANR-1"}],
        metadata__subjects=[{"value": "Social movements", "scheme": "lcsh"}, {"value": "K10", "scheme": "JEL",
                                                                              "scheme_uri": "https://example.org/jel"}],
        metadata__journal={"title": "Novos Estudos", "issn": "0101-3300", "eissn": "1980-5403"},
    )
    work = client.post("/api/works", json=record, headers=auth.editor_a).json()
    m = work["metadata"]
    assert m["conference"]["country"] == "PE"
    assert m["related_identifiers"] == [
        {"identifier": "10.5555/DATA.1", "type": "DOI", "relation": "IsSupplementedBy"},
        {"identifier": "20.500.1/2", "type": "Handle", "relation": "HasVersion"}]
    assert [f["funder_id"] for f in m["funding"]] == ["https://doi.org/10.13039/501100000780", "https://ror.org/00rbzpz17"]
    assert m["subjects"][0] == {"value": "Social movements", "scheme": "LCSH",
                                "scheme_uri": "http://id.loc.gov/authorities/subjects"}
    assert m["subjects"][1]["scheme_uri"] == "https://example.org/jel"  # a given URI wins
    assert work["main_file"] is None


def test_the_main_file(client, auth):  # type: ignore[no-untyped-def]
    work = client.post("/api/works", json=sample(), headers=auth.editor_a).json()
    url = f"/api/works/{work['id']}"
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    for name in ("anexo.pdf", "texto.pdf"):
        uploaded = client.put(f"{url}/files/{name}", content=pdf,
                              headers={**auth.editor_a, "Content-Type": "application/pdf"})
        assert uploaded.status_code in (200, 201), uploaded.text
    assert_problem(client.patch(url, json={"main_file": "otro.pdf"}, headers=auth.editor_a), 422, "main_file")
    chosen = client.patch(url, json={"main_file": "texto.pdf"}, headers=auth.editor_a)
    assert chosen.status_code == 200 and chosen.json()["main_file"] == "texto.pdf"
    revisions = client.get(f"{url}/revisions", headers=auth.editor_a).json()
    assert {"field": "main_file", "old": None, "new": "texto.pdf"} in revisions[-1]["changes"]
    # removing the main file clears the choice (the default rule chooses again)
    assert client.delete(f"{url}/files/texto.pdf", headers=auth.editor_a).status_code == 204
    assert client.get(url, headers=auth.editor_a).json()["main_file"] is None
