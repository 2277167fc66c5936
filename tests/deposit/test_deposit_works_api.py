"""The works deposit API over HTTP: every endpoint's success and failure paths, on both databases."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from helpers import assert_problem, sample


def create(client: TestClient, headers: dict[str, str], **overrides: object) -> dict:
    response = client.post("/api/works", json=sample(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_the_draft_with_etag_and_location(client, auth):
    response = client.post("/api/works", json=sample(), headers=auth.editor_a)
    assert response.status_code == 201
    work = response.json()
    assert work["status"] == "draft" and work["version"] == 1 and work["centre"] == "centre-a"
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"].endswith(f"/api/works/{work['id']}")
    # values are normalised: ISO 639-3 kept, licence canonical, DOI without resolver
    assert work["metadata"]["languages"] == ["spa"]
    assert work["metadata"]["doi"] == "10.1234/ABC.5"


def test_languages_given_as_iso_639_1_are_stored_as_639_3(client, auth):
    work = create(client, auth.editor_a, metadata__languages=["pt", "en"])
    assert work["metadata"]["languages"] == ["por", "eng"]


def test_a_draft_may_be_incomplete_but_publishing_lists_everything_missing(client, auth):
    draft = client.post("/api/works", json={"centre": "centre-a", "metadata": {"titles": [{"value": "Sin terminar"}]}},
                        headers=auth.editor_a).json()
    body = assert_problem(client.post(f"/api/works/{draft['id']}/publish", headers=auth.editor_a), 422)
    missing = {e["field"] for e in body["errors"]}
    assert missing == {"metadata.creators", "type", "metadata.publication_date", "metadata.languages", "access_right"}
    assert client.get(f"/api/works/{draft['id']}", headers=auth.editor_a).json()["status"] == "draft"


def test_get_published_work_anonymously_but_not_a_draft(client, auth):
    work = create(client, auth.editor_a)
    assert_problem(client.get(f"/api/works/{work['id']}"), 404)
    published = client.post(f"/api/works/{work['id']}/publish", headers=auth.editor_a)
    assert published.status_code == 200 and published.json()["status"] == "published"
    response = client.get(f"/api/works/{work['id']}")
    assert response.status_code == 200 and response.json()["published"] is not None
    assert response.headers["etag"] == '"2"'


def test_get_unknown_work_is_404(client, auth):
    assert_problem(client.get("/api/works/999999", headers=auth.admin), 404)
    assert_problem(client.get("/api/works/not-a-number", headers=auth.admin), 422, "path.work_id")


def test_full_replace_with_if_match(client, auth):
    work = create(client, auth.editor_a)
    record = sample(metadata__publisher="CLACSO")
    response = client.put(f"/api/works/{work['id']}", json=record, headers={**auth.editor_a, "If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["publisher"] == "CLACSO" and response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'


def test_stale_if_match_is_412_and_changes_nothing(client, auth):
    work = create(client, auth.editor_a)
    client.patch(f"/api/works/{work['id']}", json={"metadata": {"publisher": "A"}}, headers=auth.editor_a)
    stale = client.patch(f"/api/works/{work['id']}", json={"metadata": {"publisher": "B"}},
                         headers={**auth.editor_a, "If-Match": '"1"'})
    assert_problem(stale, 412)
    assert client.get(f"/api/works/{work['id']}", headers=auth.editor_a).json()["metadata"]["publisher"] == "A"


def test_patch_is_a_json_merge_patch(client, auth):
    work = create(client, auth.editor_a)
    response = client.patch(f"/api/works/{work['id']}",
                            json={"metadata": {"publisher": "CLACSO", "doi": None}, "access_right": "restricted"},
                            headers=auth.editor_a)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metadata"]["publisher"] == "CLACSO" and "doi" not in body["metadata"]
    assert body["access_right"] == "restricted"
    assert body["metadata"]["titles"] == work["metadata"]["titles"]


def test_patch_producing_an_invalid_record_is_422(client, auth):
    work = create(client, auth.editor_a)
    assert_problem(client.patch(f"/api/works/{work['id']}", json={"access_right": "embargoed"},
                                headers=auth.editor_a), 422)
    assert_problem(client.patch(f"/api/works/{work['id']}", json={"metadata": {"languages": ["xx"]}},
                                headers=auth.editor_a), 422, "metadata.languages[0]")


def test_editing_a_published_work_bumps_datestamp_and_must_stay_complete(client, auth, clock, database):
    from repo.works.models import Work

    work = create(client, auth.editor_a)
    client.post(f"/api/works/{work['id']}/publish", headers=auth.editor_a)
    with database.session() as session:
        first = session.get(Work, work["id"]).datestamp
    clock.advance(minutes=5)
    assert client.patch(f"/api/works/{work['id']}", json={"metadata": {"publisher": "X"}},
                        headers=auth.editor_a).status_code == 200
    with database.session() as session:
        assert session.get(Work, work["id"]).datestamp == first + timedelta(minutes=5)
    assert_problem(client.patch(f"/api/works/{work['id']}", json={"metadata": {"creators": []}},
                                headers=auth.editor_a), 422, "metadata.creators")


def test_withdraw_requires_a_reason_and_leaves_a_tombstone(client, auth):
    work = create(client, auth.editor_a)
    assert_problem(client.post(f"/api/works/{work['id']}/withdraw", json={"reason": "x"}, headers=auth.editor_a), 409)
    client.post(f"/api/works/{work['id']}/publish", headers=auth.editor_a)
    assert_problem(client.post(f"/api/works/{work['id']}/withdraw", json={}, headers=auth.editor_a), 422, "reason")
    assert_problem(client.post(f"/api/works/{work['id']}/withdraw", json={"reason": "  "}, headers=auth.editor_a),
                   422, "reason")
    response = client.post(f"/api/works/{work['id']}/withdraw", json={"reason": "Plagiarism"}, headers=auth.editor_a)
    assert response.status_code == 200 and response.json()["withdrawal"]["reason"] == "Plagiarism"
    gone = assert_problem(client.get(f"/api/works/{work['id']}"), 410)
    assert "Plagiarism" in gone["detail"]
    assert client.get(f"/api/works/{work['id']}", headers=auth.editor_a).json()["status"] == "withdrawn"
    # a tombstone is never erased nor edited
    assert_problem(client.delete(f"/api/works/{work['id']}", headers=auth.admin), 409)
    assert_problem(client.put(f"/api/works/{work['id']}", json=sample(), headers=auth.admin), 409)
    assert_problem(client.post(f"/api/works/{work['id']}/publish", headers=auth.admin), 409)


def test_delete_a_draft_but_not_a_published_work(client, auth):
    draft = create(client, auth.editor_a)
    assert client.delete(f"/api/works/{draft['id']}", headers=auth.editor_a).status_code == 204
    assert_problem(client.get(f"/api/works/{draft['id']}", headers=auth.editor_a), 404)
    published = create(client, auth.editor_a)
    client.post(f"/api/works/{published['id']}/publish", headers=auth.editor_a)
    assert_problem(client.delete(f"/api/works/{published['id']}", headers=auth.editor_a), 409)


def test_revision_history_records_who_when_and_what(client, auth):
    work = create(client, auth.editor_a)
    client.patch(f"/api/works/{work['id']}", json={"metadata": {"publisher": "CLACSO"}}, headers=auth.editor_a)
    client.post(f"/api/works/{work['id']}/publish", headers=auth.admin)
    revisions = client.get(f"/api/works/{work['id']}/revisions", headers=auth.editor_a).json()
    assert [(r["version"], r["action"], r["actor"]) for r in revisions] == [
        (1, "create", "editor-a"), (2, "update", "editor-a"), (3, "publish", "admin")]
    assert revisions[1]["changes"] == [{"field": "metadata.publisher", "old": None, "new": "CLACSO"}]
    assert_problem(client.get(f"/api/works/{work['id']}/revisions"), 401)
    assert_problem(client.get(f"/api/works/{work['id']}/revisions", headers=auth.editor_b), 403)


def test_list_filters_and_cursor_pagination(client, auth):
    client.post("/api/collections", json={"slug": "libros", "name": "Libros"}, headers=auth.admin)
    client.post("/api/collections", json={"slug": "ensayos", "name": "Ensayos", "parent": "libros"}, headers=auth.admin)
    ids = []
    for i in range(7):
        work = create(client, auth.editor_a if i % 2 == 0 else auth.editor_b,
                      centre="centre-a" if i % 2 == 0 else "centre-b",
                      type="book" if i < 3 else "journal_article",
                      collections=["ensayos"] if i == 0 else [])
        ids.append(work["id"])
        if i < 5:
            client.post(f"/api/works/{work['id']}/publish", headers=auth.admin)
    seen, cursor = [], None
    while True:
        page = client.get("/api/works", params={"size": 2, **({"cursor": cursor} if cursor else {})},
                          headers=auth.admin).json()
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))

    def listed(headers: dict[str, str] | None = None, **params: object) -> set[int]:
        return {w["id"] for w in client.get("/api/works", params=params, headers=headers or {}).json()["items"]}

    assert listed() == set(ids[:5])  # anonymous: published only
    assert listed(auth.editor_a) == set(ids[:5]) | {ids[6]}  # plus their centre's drafts
    assert listed(auth.admin, status="draft") == {ids[5], ids[6]}
    assert listed(centre="centre-b") == {ids[1], ids[3]}
    assert listed(type="book") == set(ids[:3])
    assert listed(collection="libros") == {ids[0]}  # a parent includes its children
    assert listed(status="draft") == set()
    assert listed(auth.admin, updated_since="2999-01-01T00:00:00Z") == set()
    assert_problem(client.get("/api/works", params={"cursor": "forged"}), 400, "query.cursor")
    assert_problem(client.get("/api/works", params={"size": 1000}), 422, "query.size")
    assert_problem(client.get("/api/works", params={"status": "lost"}), 422, "query.status")


def test_unknown_centre_or_collection_is_422_with_the_field(client, auth):
    assert_problem(client.post("/api/works", json=sample(centre="nowhere"), headers=auth.admin), 422, "centre")
    assert_problem(client.post("/api/works", json=sample(collections=["nope"]), headers=auth.admin), 422,
                   "collections[0]")


def test_openapi_documents_the_api(client):
    spec = client.get("/api/openapi.json").json()
    assert {"/api/works", "/api/works/{work_id}", "/api/works/{work_id}/publish", "/api/works/{work_id}/withdraw",
            "/api/works/{work_id}/revisions", "/api/centres", "/api/collections"} <= set(spec["paths"])
    assert client.get("/api/docs").status_code == 200
