"""Assertions shared by the files tests: problem responses, nothing stored, nothing changed."""

from __future__ import annotations

from typing import Any


def stored_files(settings: Any) -> list[str]:
    """Every file under the file store (blobs, thumbnails, temporaries), relative paths."""
    root = settings.data_dir / "files"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def snapshot(database: Any) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table (but the search outbox, which the indexer drains concurrently):
    equal before and after a refused request."""
    import sqlalchemy as sa

    from repo.models import Base

    with database.engine.connect() as connection:
        return {
            table.name: sorted(tuple(str(v) for v in row) for row in connection.execute(sa.select(table)))
            for table in Base.metadata.sorted_tables
            if table.name != "search_outbox"
        }


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body
