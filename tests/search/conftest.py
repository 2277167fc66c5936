"""Search fixtures: every test here runs on each backend — embedded, OpenSearch via osmem-server,
and a real OpenSearch when ``REPO_TEST_OPENSEARCH_URL`` is set.

osmem-server missing: the OpenSearch variants skip with the reason printed, or fail when
``REPO_REQUIRE_OPENSEARCH=1`` (CI). Each test gets its own alias, so tests never share an index.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repo.config import Settings
from repo.db import Database

from search_support import attach_text

_counter = itertools.count()
BACKENDS = ["embedded", "osmem"] + (["opensearch"] if os.environ.get("REPO_TEST_OPENSEARCH_URL") else [])


def _required() -> bool:
    return os.environ.get("REPO_REQUIRE_OPENSEARCH", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def osmem_url() -> Iterator[str]:
    """URL of an osmem-server (in-memory OpenSearch-compatible) started for this session."""
    try:
        from osmem_server import OsmemServer
    except ImportError as exc:
        if _required():
            pytest.fail(f"REPO_REQUIRE_OPENSEARCH=1 but osmem-server is not importable: {exc}")
        pytest.skip(f"osmem-server not installed ({exc}): pip install osmem-server")
    try:
        server = OsmemServer.start(japanese=False)
    except Exception as exc:  # a missing platform binary, a port problem
        if _required():
            pytest.fail(f"could not start osmem-server: {exc}")
        pytest.skip(f"could not start osmem-server: {exc}")
    yield server.url
    server.close()


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def search_url(backend_kind: str, request: pytest.FixtureRequest) -> str | None:
    if backend_kind == "embedded":
        return None
    if backend_kind == "osmem":
        return str(request.getfixturevalue("osmem_url"))
    return os.environ["REPO_TEST_OPENSEARCH_URL"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path, search_url: str | None) -> Iterator[Settings]:
    """The root ``settings`` plus this test's search backend and its own index alias."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        base_url="http://testserver",
        oai_repository_identifier="repo.example.org",
        search_url=search_url,
        search_index=f"test-works-{os.getpid()}-{next(_counter)}",
    )
    yield settings
    if search_url:  # a real OpenSearch keeps indices: remove this test's
        from opensearchpy import OpenSearch

        client = OpenSearch(hosts=[search_url])
        client.indices.delete(index=f"{settings.search_index}-*", ignore_unavailable=True)
        client.close()


@pytest.fixture
def backend(settings: Settings) -> Iterator[Any]:
    """A backend of its own on the test's index (for operations outside the app)."""
    from repo.search.backend import open_backend

    b = open_backend(settings)
    b.ensure()
    yield b
    b.close()


RECORD: dict[str, Any] = {
    "type": "journal_article",
    "centre": "centre-a",
    "collections": [],
    "access_right": "open",
    "metadata": {
        "titles": [{"value": "Untitled", "lang": "spa"}],
        "creators": [{"family": "Anon", "given": "A."}],
        "languages": ["spa"],
        "publication_date": "2020",
    },
}

Make = Callable[..., int]


@pytest.fixture
def make(client: TestClient, auth: Any, database: Database) -> Make:
    """Deposit a work through the API (its editor's token), then publish/withdraw it; returns its id.

    ``text=`` attaches a file whose text was extracted (a File row, as the extractor leaves it,
    with its outbox row), ``file_access=`` gives that file its own access right.
    """

    def _make(title: str, *, lang: str = "spa", status: str = "published", centre: str = "centre-a",
              type: str = "journal_article", year: int = 2020, access: str = "open", embargo_end: date | None = None,
              abstract: str | None = None, creators: list[dict[str, str]] | None = None,
              subjects: list[str] | None = None, countries: list[str] | None = None,
              collections: list[str] | None = None, text: str | None = None, file_access: str | None = None,
              alt_titles: list[tuple[str, str]] | None = None) -> int:
        import copy

        record = copy.deepcopy(RECORD)
        record.update(centre=centre, type=type, access_right=access, collections=collections or [])
        if embargo_end is not None:
            record["embargo_end"] = embargo_end.isoformat()
        m = record["metadata"]
        m["titles"] = [{"value": title, "lang": lang}] + [
            {"value": v, "lang": l, "type": "translated"} for v, l in alt_titles or []]
        m["languages"] = [lang]
        m["publication_date"] = str(year)
        if abstract:
            m["abstracts"] = [{"value": abstract, "lang": lang}]
        if creators:
            m["creators"] = creators
        if subjects:
            m["subjects"] = [{"value": s, "lang": lang} for s in subjects]
        if countries:
            m["countries"] = countries
        headers = auth.editor_a if centre == "centre-a" else auth.editor_b
        response = client.post("/api/works", json=record, headers=headers)
        assert response.status_code == 201, response.text
        work_id = int(response.json()["id"])
        if text is not None:
            attach_text(database, client, work_id, text, file_access)
        if status in ("published", "withdrawn"):
            response = client.post(f"/api/works/{work_id}/publish", headers=headers)
            assert response.status_code == 200, response.text
        if status == "withdrawn":
            response = client.post(f"/api/works/{work_id}/withdraw", json={"reason": "duplicate"}, headers=headers)
            assert response.status_code == 200, response.text
        return work_id

    return _make


