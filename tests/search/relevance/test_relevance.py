"""The relevance set: queries a reader types in Spanish, Portuguese, English and French against the
demo collection, each naming the works that must appear in the first 10 results.

Cases live in ``<lang>.json`` (``q``, ``expect``: main titles of demo works, ``why``: the form
it exercises — inflection, accents dropped, plural/singular, verb/noun, phrases, truncation, OR —
and optionally ``absent``: works that must not match at all). Every backend must pass every case:
the embedded index, osmem-server, and a real OpenSearch when ``REPO_TEST_OPENSEARCH_URL`` is set.
The demo is loaded once per backend (metadata only: its PDFs repeat the same words).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from repo import demo
from repo.app import create_app
from repo.clock import ManualClock
from repo.config import Settings
from repo.context import Context
from repo.deposit.auth import Principal
from repo.search.indexer import Indexer
from repo.works.models import Work

HERE = Path(__file__).parent
LANGUAGES = ("es", "pt", "en", "fr")
BACKENDS = ["embedded", "osmem"] + (["opensearch"] if os.environ.get("REPO_TEST_OPENSEARCH_URL") else [])
_counter = itertools.count()


def cases(lang: str) -> list[dict[str, Any]]:
    return json.loads((HERE / f"{lang}.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=BACKENDS)
def demo_search(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                sqlite_template: Path) -> Iterator[tuple[str, TestClient, dict[str, int]]]:
    """A client over the demo collection, indexed in one backend; and work ids by main title."""
    kind = request.param
    url = None if kind == "embedded" else (
        request.getfixturevalue("osmem_url") if kind == "osmem" else os.environ["REPO_TEST_OPENSEARCH_URL"])
    directory = tmp_path_factory.mktemp(f"relevance-{kind}")
    shutil.copy(sqlite_template, directory / "repo.sqlite3")
    settings = Settings(data_dir=directory / "data", database_url=f"sqlite:///{directory / 'repo.sqlite3'}",
                        secret_key="test-secret-key", base_url="http://testserver", search_url=url,
                        search_index=f"relevance-{os.getpid()}-{next(_counter)}")
    clock = ManualClock()
    app = create_app(settings, clock)
    with TestClient(app) as client:
        with app.state.db.session() as session:
            demo.load(Context(session, Principal(token_id=0, name="relevance", role="admin"), clock.now(), settings))
        Indexer(app.state.db, app.state.search, clock).drain()
        with app.state.db.session() as session:
            titles = {doc["titles"][0]["value"]: work_id
                      for work_id, doc in session.execute(sa.select(Work.id, Work.doc))}
        yield kind, client, titles
    if url:
        from opensearchpy import OpenSearch

        opensearch = OpenSearch(hosts=[url])
        opensearch.indices.delete(index=f"{settings.search_index}-*", ignore_unavailable=True)
        opensearch.close()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_relevance(demo_search: tuple[str, TestClient, dict[str, int]], lang: str) -> None:
    kind, client, titles = demo_search
    found = cases(lang)
    assert len(found) >= 15
    failures = []
    for case in found:
        response = client.get("/api/search", params={"q": case["q"], "size": 10})
        assert response.status_code == 200, (case, response.text)
        body = response.json()
        top = [hit["id"] for hit in body["hits"]]
        missing = [t for t in case["expect"] if titles[t] not in top]
        present = [t for t in case.get("absent", []) if body["total"] and titles[t] in top]
        if missing or present:
            failures.append(f"{kind}: {case['q']!r} ({case['why']}): missing {missing}, unexpected {present}; "
                            f"got {[h['title'] for h in body['hits']]}")
    assert not failures, "\n".join(failures)
