"""Fixtures of the files tests: works in each state, uploads, and a small upload limit."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

RECORD: dict[str, Any] = {
    "type": "book",
    "centre": "centre-a",
    "access_right": "open",
    "metadata": {
        "titles": [{"value": "Pensamiento crítico latinoamericano", "lang": "spa"}],
        "creators": [{"family": "Fals Borda", "given": "Orlando"}],
        "languages": ["spa"],
        "publication_date": "2019",
    },
}

MakeWork = Callable[..., int]


@pytest.fixture
def make_work(client: TestClient, auth: Any) -> MakeWork:
    """Create a work of centre-a as its editor: ``make_work(status="published", access_right=..., embargo_end=...)``."""

    def make(status: str = "draft", access_right: str = "open", embargo_end: date | None = None,
             centre: str = "centre-a") -> int:
        record = copy.deepcopy(RECORD)
        record["centre"] = centre
        record["access_right"] = access_right
        if embargo_end is not None:
            record["embargo_end"] = embargo_end.isoformat()
        response = client.post("/api/works", json=record, headers=auth.admin)
        assert response.status_code == 201, response.text
        work_id: int = response.json()["id"]
        if status in ("published", "withdrawn"):
            assert client.post(f"/api/works/{work_id}/publish", headers=auth.admin).status_code == 200
        if status == "withdrawn":
            response = client.post(f"/api/works/{work_id}/withdraw", json={"reason": "Duplicate record."},
                                   headers=auth.admin)
            assert response.status_code == 200, response.text
        return work_id

    return make

