"""Races: real HTTP clients in threads, released together by a barrier, against the app served by
uvicorn, for every write endpoint, on SQLite and PostgreSQL.

Each race checks that no request failed with a 5xx, that exactly one request won where only one
can (the others answer 412 for a stale If-Match, 409 or 404 for a state the winner changed, or
replay the winner's response for one Idempotency-Key), and what the database holds afterwards.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from helpers import live_server, sample
from repo.db import Database
from repo.files.models import File
from repo.files.service import collect_garbage
from repo.files.local import LocalStore
from repo.works.models import Revision, Work

N = 8  # clients per race


@dataclass
class Server:
    url: str
    admin: dict[str, str]
    editor: dict[str, str]
    database: Database
    settings: Any

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self.client() as http:
            return http.request(method, path, **kwargs)

    def draft(self, **overrides: Any) -> tuple[int, str]:
        created = self.call("POST", "/api/works", json=sample(**overrides), headers=self.admin)
        assert created.status_code == 201, created.text
        return created.json()["id"], created.headers["etag"]


@pytest.fixture
def server(app: Any, database: Database, clock: Any, settings: Any) -> Iterator[Server]:
    from repo.centres.models import MemberCentre
    from repo.deposit.auth import TokenRole, create_token

    with database.session() as session:
        session.add(MemberCentre(slug="centre-a", name="Centro A", created_at=clock.now(), updated_at=clock.now()))
        session.flush()
        admin, _ = create_token(session, name="admin", role=TokenRole.admin, centre_slugs=[], now=clock.now())
        editor, _ = create_token(session, name="editor", role=TokenRole.editor, centre_slugs=["centre-a"],
                                 now=clock.now())
    with live_server(app) as url:
        yield Server(url, {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {editor}"},
                     database, settings)


def race(server: Server, send: Callable[[httpx.Client, int], httpx.Response], n: int = N) -> list[httpx.Response]:
    """``n`` clients, each on its own open connection, send at the same moment; their responses."""
    barrier = threading.Barrier(n)
    responses: list[httpx.Response | None] = [None] * n
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with server.client() as http:
                http.get("/health")  # the connection is open before the start
                barrier.wait(timeout=30)
                responses[i] = send(http, i)
        except BaseException as exc:  # noqa: BLE001 — reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    done = [r for r in responses if r is not None]
    assert len(done) == n
    errors = [(r.status_code, r.text[:300]) for r in done if r.status_code >= 500]
    assert not errors, errors
    return done


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def revisions(server: Server, work_id: int) -> list[int]:
    with server.database.session() as session:
        return list(session.scalars(sa.select(Revision.version).where(Revision.work_id == work_id)
                                    .order_by(Revision.version)))


def test_edits_with_one_if_match_have_one_winner(server: Server) -> None:
    work, etag = server.draft()
    patched = race(server, lambda http, i: http.patch(
        f"/api/works/{work}", json={"metadata": {"notes": f"edit {i}"}}, headers={**server.editor, "If-Match": etag}))
    assert statuses(patched) == {200: 1, 412: N - 1}
    _, etag = server.call("GET", f"/api/works/{work}", headers=server.admin).json()["version"], \
        server.call("GET", f"/api/works/{work}", headers=server.admin).headers["etag"]
    replaced = race(server, lambda http, i: http.put(
        f"/api/works/{work}", json=sample(metadata__notes=f"put {i}"), headers={**server.admin, "If-Match": etag}))
    assert statuses(replaced) == {200: 1, 412: N - 1}
    assert revisions(server, work) == [1, 2, 3]
    unguarded = race(server, lambda http, i: http.patch(
        f"/api/works/{work}", json={"metadata": {"notes": f"last {i}"}}, headers=server.editor))
    assert statuses(unguarded) == {200: N}  # without If-Match each applies in turn, none lost
    assert revisions(server, work) == list(range(1, 4 + N))


def test_lifecycle_changes_have_one_winner(server: Server) -> None:
    work, _ = server.draft()
    published = race(server, lambda http, i: http.post(f"/api/works/{work}/publish", headers=server.editor))
    assert statuses(published) == {200: 1, 409: N - 1}
    withdrawn = race(server, lambda http, i: http.post(
        f"/api/works/{work}/withdraw", json={"reason": f"duplicate {i}"}, headers=server.editor))
    assert statuses(withdrawn) == {200: 1, 409: N - 1}
    draft, _ = server.draft()
    deleted = race(server, lambda http, i: http.delete(f"/api/works/{draft}", headers=server.editor))
    assert statuses(deleted) == {204: 1, 404: N - 1}
    assert revisions(server, work) == [1, 2, 3]


@pytest.mark.parametrize("path", ["/api/works", "/api/works/{draft}/publish"])
def test_one_idempotency_key_makes_one_change(server: Server, path: str) -> None:
    draft, _ = server.draft()
    with server.database.session() as session:
        works_before = session.scalar(sa.select(sa.func.count()).select_from(Work))
    url = path.format(draft=draft)
    body = sample() if path == "/api/works" else None
    responses = race(server, lambda http, i: http.post(
        url, json=body, headers={**server.editor, "Idempotency-Key": "one-key"}))
    counts = statuses(responses)
    winner = 201 if path == "/api/works" else 200
    assert set(counts) <= {winner, 409} and counts[winner] >= 1, counts
    replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    assert len(replayed) == counts[winner] - 1, [(r.status_code, r.headers.get('idempotent-replayed'), r.text[:80]) for r in responses]
    assert all(r.headers.get("retry-after") for r in responses if r.status_code == 409)
    assert len({r.json()["id"] for r in responses if r.status_code == winner}) == 1
    with server.database.session() as session:
        works_after = session.scalar(sa.select(sa.func.count()).select_from(Work))
    assert works_after == works_before + (1 if path == "/api/works" else 0)
    assert revisions(server, draft)[-1] == (2 if "publish" in path else 1)


def _blobs(server: Server) -> set[str]:
    return {key.rsplit("/", 1)[-1] for key, _ in LocalStore(server.settings.data_dir).listing("sha256/")}


def _referenced(server: Server) -> set[str]:
    with server.database.session() as session:
        return set(session.scalars(sa.select(File.sha256)))


def test_uploads_race_without_500_or_stray_bytes(server: Server) -> None:
    work, etag = server.draft()
    guarded = race(server, lambda http, i: http.put(
        f"/api/works/{work}/files/guarded-{i}.txt", content=f"guarded {i}\n".encode(),
        headers={**server.editor, "If-Match": etag, "Content-Type": "text/plain"}))
    assert statuses(guarded) == {201: 1, 412: N - 1}
    assert _blobs(server) == _referenced(server)  # the losers' bytes were never placed

    many = race(server, lambda http, i: http.put(
        f"/api/works/{work}/files/many-{i}.txt", content=f"file {i}\n".encode(),
        headers={**server.editor, "Content-Type": "text/plain"}))
    assert statuses(many) == {201: N}
    forms = race(server, lambda http, i: http.post(
        f"/api/works/{work}/files", files={"file": (f"form-{i}.txt", f"form {i}\n".encode(), "text/plain")},
        headers=server.editor))
    assert statuses(forms) == {201: N}
    same = race(server, lambda http, i: http.put(
        f"/api/works/{work}/files/same.txt", content=f"version {i}\n".encode(),
        headers={**server.editor, "Content-Type": "text/plain"}))
    assert sorted(statuses(same).elements()) == [200] * (N - 1) + [201]  # one creates, the others replace
    with server.database.session() as session:
        names = set(session.scalars(sa.select(File.name).where(File.work_id == work)))
    assert len(names) == 1 + 2 * N + 1
    assert revisions(server, work) == list(range(1, 2 + 1 + 2 * N + N))

    # The replaced versions' bytes are unreferenced now: gc removes exactly those.
    stray = _blobs(server) - _referenced(server)
    assert len(stray) == N - 1
    storage = LocalStore(server.settings.data_dir)
    with server.database.session() as session:
        removed = collect_garbage(session, storage, server.settings and _now(), timedelta(0))
    assert {key.rsplit("/", 1)[-1] for key in removed if key.startswith("sha256/")} == stray
    assert _blobs(server) == _referenced(server)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC) + timedelta(seconds=1)


def test_file_changes_have_one_winner(server: Server) -> None:
    work, _ = server.draft()
    assert server.call("PUT", f"/api/works/{work}/files/a.txt", content=b"a\n",
                       headers={**server.editor, "Content-Type": "text/plain"}).status_code == 201
    etag = server.call("GET", f"/api/works/{work}", headers=server.admin).headers["etag"]
    access = race(server, lambda http, i: http.patch(
        f"/api/works/{work}/files/a.txt", json={"access_right": "restricted"},
        headers={**server.editor, "If-Match": etag}))
    assert statuses(access) == {200: 1, 412: N - 1}
    deleted = race(server, lambda http, i: http.delete(f"/api/works/{work}/files/a.txt", headers=server.editor))
    assert statuses(deleted) == {204: 1, 404: N - 1}
    assert revisions(server, work) == [1, 2, 3, 4]


def test_centres_and_collections_with_one_slug_have_one_winner(server: Server) -> None:
    centres = race(server, lambda http, i: http.post(
        "/api/centres", json={"slug": "nuevo", "name": f"Centro {i}"}, headers=server.admin))
    assert statuses(centres) == {201: 1, 409: N - 1}
    collections = race(server, lambda http, i: http.post(
        "/api/collections", json={"slug": "serie", "name": f"Serie {i}"}, headers=server.admin))
    assert statuses(collections) == {201: 1, 409: N - 1}
    renamed = race(server, lambda http, i: http.patch(
        "/api/centres/nuevo", json={"name": f"Centro renombrado {i}"}, headers=server.admin))
    assert statuses(renamed) == {200: N}
