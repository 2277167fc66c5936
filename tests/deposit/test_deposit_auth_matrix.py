"""Auth matrix: for each endpoint, anonymous / editor of another centre / editor of the centre / admin."""

from __future__ import annotations

import pytest

from helpers import assert_problem, sample

ROLES = ("anonymous", "editor_b", "editor_a", "admin")


@pytest.fixture
def works(client, auth):
    """A draft and a published work of centre-a."""
    draft = client.post("/api/works", json=sample(), headers=auth.editor_a).json()
    published = client.post("/api/works", json=sample(), headers=auth.editor_a).json()
    client.post(f"/api/works/{published['id']}/publish", headers=auth.editor_a)
    return {"draft": draft["id"], "published": published["id"]}


# (method, path template, body, expected status per role in ROLES order)
MATRIX = [
    ("POST", "/api/works", sample(), (401, 403, 201, 201)),
    ("GET", "/api/works/{draft}", None, (404, 404, 200, 200)),
    ("GET", "/api/works/{published}", None, (200, 200, 200, 200)),
    ("PUT", "/api/works/{draft}", sample(), (401, 404, 200, 200)),
    ("PUT", "/api/works/{published}", sample(), (401, 403, 200, 200)),
    ("PATCH", "/api/works/{draft}", {"metadata": {"publisher": "X"}}, (401, 404, 200, 200)),
    ("POST", "/api/works/{draft}/publish", None, (401, 404, 200, 409)),
    ("POST", "/api/works/{published}/withdraw", {"reason": "duplicate"}, (401, 403, 200, 409)),
    ("GET", "/api/works/{draft}/revisions", None, (404, 404, 200, 200)),
    ("GET", "/api/works/{published}/revisions", None, (401, 403, 200, 200)),
    ("DELETE", "/api/works/{draft}", None, (401, 404, 204, 404)),
    ("GET", "/api/centres", None, (200, 200, 200, 200)),
    ("POST", "/api/centres", {"slug": "centre-c", "name": "C"}, (401, 403, 403, 201)),
    ("PATCH", "/api/centres/centre-a", {"name": "A2"}, (401, 403, 403, 200)),
    ("GET", "/api/collections", None, (200, 200, 200, 200)),
    ("POST", "/api/collections", {"slug": "col", "name": "Col"}, (401, 403, 403, 201)),
]


@pytest.mark.parametrize("method,path,body,expected", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_auth_matrix(client, auth, works, method, path, body, expected):
    """Roles are tried from least to most privileged, so state changes by one role (publish,
    delete) are what the next role meets — which the expected codes encode."""
    for role, status in zip(ROLES, expected):
        response = client.request(method, path.format(**works), json=body, headers=getattr(auth, role))
        if status >= 400:
            assert_problem(response, status)
        else:
            assert response.status_code == status, (role, response.text)


def test_editor_cannot_move_a_work_to_a_foreign_centre(client, auth, works):
    assert_problem(client.put(f"/api/works/{works['draft']}", json=sample(centre="centre-b"),
                              headers=auth.editor_a), 403)


def test_invalid_revoked_and_malformed_tokens_are_401(client, auth, database, clock):
    from repo.deposit.auth import revoke_token
    from repo.deposit.models import ApiToken

    assert_problem(client.get("/api/works", headers={"Authorization": "Bearer nope"}), 401)
    assert_problem(client.get("/api/works", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
    assert_problem(client.get("/api/works", headers={"Authorization": "Bearer"}), 401)
    with database.session() as session:
        token = session.query(ApiToken).filter_by(name="editor-a").one()
        revoke_token(session, token.id, clock.now())
    response = client.post("/api/works", json=sample(), headers=auth.editor_a)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
