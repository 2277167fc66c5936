"""Helpers of the search tests (fixtures are in conftest.py)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from repo.db import Database


def flush(client: TestClient) -> None:
    """Wait for the indexer: drain the outbox now, in this thread."""
    report = client.app.state.indexer.flush()  # type: ignore[attr-defined]
    assert not report.errors, report.errors



def attach_text(database: Database, client: TestClient, work_id: int, text: str, access: str | None = None) -> None:
    """A file whose text extraction finished, and the outbox row the extractor writes with it."""
    from repo.files.models import File
    from repo.search import outbox

    now = client.app.state.clock.now()  # type: ignore[attr-defined]
    with database.session() as session:
        count = session.query(File).filter(File.work_id == work_id).count()
        session.add(File(work_id=work_id, name=f"file-{count}.pdf", media_type="application/pdf", size=len(text),
                         sha256="0" * 64, md5="0" * 32, access_right=access, text_state="done", text=text,
                         created_at=now, updated_at=now))
        outbox.enqueue(session, work_id, "file_text", now)


def search(client: TestClient, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    response = client.get("/api/search", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def ids(result: dict[str, Any]) -> set[int]:
    return {hit["id"] for hit in result["hits"]}


def RECORD_TITLE(title: str, centre: str = "centre-a") -> dict[str, Any]:  # noqa: N802
    """A minimal draft record with ``title``."""
    return {"centre": centre, "type": "report", "access_right": "open",
            "metadata": {"titles": [{"value": title, "lang": "spa"}], "languages": ["spa"]}}
