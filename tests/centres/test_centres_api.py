"""Member centres and collections over HTTP."""

from __future__ import annotations

from helpers import assert_problem, snapshot


def test_create_list_get_and_update_centres(client, auth):
    response = client.post("/api/centres", json={"slug": "iep", "name": "Instituto de Estudios Peruanos",
                                                 "country": "PER", "ror": "https://ror.org/03cqe8w59"},
                           headers=auth.admin)
    assert response.status_code == 201, response.text
    assert response.json()["country"] == "PE"
    assert [c["slug"] for c in client.get("/api/centres").json()] == ["centre-a", "centre-b", "iep"]
    updated = client.patch("/api/centres/iep", json={"name": "IEP", "country": None}, headers=auth.admin).json()
    assert updated["name"] == "IEP" and updated["country"] is None
    assert client.get("/api/centres/iep").json()["name"] == "IEP"


def test_centre_errors(client, auth, database):
    before = snapshot(database)
    assert_problem(client.post("/api/centres", json={"slug": "centre-a", "name": "dup"}, headers=auth.admin), 409)
    assert_problem(client.post("/api/centres", json={"slug": "Bad Slug", "name": "x"}, headers=auth.admin), 422, "slug")
    assert_problem(client.post("/api/centres", json={"slug": "ok", "name": "x", "country": "ZZ"}, headers=auth.admin),
                   422, "country")
    assert_problem(client.post("/api/centres", json={"slug": "ok", "name": "x", "ror": "x"}, headers=auth.admin),
                   422, "ror")
    assert_problem(client.patch("/api/centres/centre-a", json={"name": None}, headers=auth.admin), 422, "name")
    assert_problem(client.patch("/api/centres/centre-a", json={"slug": "other"}, headers=auth.admin), 422, "slug")
    assert_problem(client.get("/api/centres/none"), 404)
    assert_problem(client.patch("/api/centres/none", json={"name": "x"}, headers=auth.admin), 404)
    assert snapshot(database) == before


def test_nested_collections_get_hierarchical_set_specs(client, auth):
    for body in ({"slug": "biblioteca", "name": "Biblioteca"},
                 {"slug": "revistas", "name": "Revistas", "parent": "biblioteca", "centre": "centre-a"},
                 {"slug": "critica", "name": "Crítica Jurídica", "parent": "revistas"}):
        assert client.post("/api/collections", json=body, headers=auth.admin).status_code == 201
    collections = {c["slug"]: c for c in client.get("/api/collections").json()}
    assert collections["critica"]["set_spec"] == "collection:biblioteca:revistas:critica"
    assert collections["critica"]["parent"] == "revistas" and collections["revistas"]["centre"] == "centre-a"
    renamed = client.patch("/api/collections/critica", json={"name": "Crítica"}, headers=auth.admin).json()
    assert renamed["name"] == "Crítica" and renamed["path"] == "biblioteca:revistas:critica"


def test_collection_errors(client, auth, database):
    client.post("/api/collections", json={"slug": "a", "name": "A"}, headers=auth.admin)
    before = snapshot(database)
    assert_problem(client.post("/api/collections", json={"slug": "a", "name": "dup"}, headers=auth.admin), 409)
    assert_problem(client.post("/api/collections", json={"slug": "b", "name": "B", "parent": "zz"}, headers=auth.admin),
                   422, "parent")
    assert_problem(client.post("/api/collections", json={"slug": "b", "name": "B", "centre": "zz"}, headers=auth.admin),
                   422, "centre")
    assert_problem(client.patch("/api/collections/a", json={"parent": "x"}, headers=auth.admin), 422, "parent")
    assert_problem(client.get("/api/collections/zz"), 404)
    assert snapshot(database) == before
