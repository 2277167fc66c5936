"""Idempotency-Key on POST: retries return the first result; a reused key with another body is 422."""

from __future__ import annotations

import sqlalchemy as sa

from helpers import assert_problem, sample, snapshot
from repo.works.models import Work


def count_works(database) -> int:
    with database.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Work))


def test_retried_create_returns_the_first_result(client, auth, database):
    headers = {**auth.editor_a, "Idempotency-Key": "create-1"}
    first = client.post("/api/works", json=sample(), headers=headers)
    again = client.post("/api/works", json=sample(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"] and again.headers["idempotent-replayed"] == "true"
    assert count_works(database) == 1


def test_same_key_with_a_different_body_is_422_and_stores_nothing(client, auth, database):
    headers = {**auth.editor_a, "Idempotency-Key": "create-2"}
    client.post("/api/works", json=sample(), headers=headers)
    before = snapshot(database)
    assert_problem(client.post("/api/works", json=sample(metadata__publisher="Other"), headers=headers), 422,
                   "header.Idempotency-Key")
    assert snapshot(database) == before


def test_keys_are_scoped_to_the_token(client, auth, database):
    client.post("/api/works", json=sample(), headers={**auth.editor_a, "Idempotency-Key": "k"})
    client.post("/api/works", json=sample(), headers={**auth.admin, "Idempotency-Key": "k"})
    assert count_works(database) == 2


def test_a_failed_request_does_not_burn_the_key(client, auth, database):
    headers = {**auth.editor_a, "Idempotency-Key": "k2"}
    assert_problem(client.post("/api/works", json=sample(centre="nowhere"), headers=headers), 422)
    assert client.post("/api/works", json=sample(), headers=headers).status_code == 201


def test_publish_retry_is_replayed_not_a_conflict(client, auth):
    work = client.post("/api/works", json=sample(), headers=auth.editor_a).json()
    headers = {**auth.editor_a, "Idempotency-Key": "publish-1"}
    first = client.post(f"/api/works/{work['id']}/publish", headers=headers)
    again = client.post(f"/api/works/{work['id']}/publish", headers=headers)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()


def test_overlong_key_is_refused(client, auth):
    assert_problem(client.post("/api/works", json=sample(), headers={**auth.editor_a, "Idempotency-Key": "k" * 300}),
                   422, "header.Idempotency-Key")
