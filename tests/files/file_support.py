"""Assertions shared by the files tests: problem responses, nothing stored, nothing changed."""

from __future__ import annotations

from typing import Any


def stored_files(settings: Any) -> list[str]:
    """Every file under the file store (blobs, thumbnails, temporaries), relative paths."""
    root = settings.data_dir / "files"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def snapshot(database: Any) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table but the queues that background threads drain concurrently (see
    ``helpers.QUEUES``): equal before and after a refused request."""
    from helpers import snapshot as whole

    return whole(database)


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body
