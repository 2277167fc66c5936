"""The composition root: lifespan, health, the body limit, the after-commit hook."""

from __future__ import annotations

from fastapi.testclient import TestClient

from helpers import sample


def test_health_is_liveness_and_ready_checks_what_requests_need(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and set(body["checks"]) == {"database", "search", "storage"}
    assert all(check["ok"] for check in body["checks"].values())


def test_on_commit_callbacks_run_after_a_successful_write_only(client, app, auth):
    calls: list[str] = []
    app.state.on_commit.append(lambda: calls.append("commit"))
    client.post("/api/works", json=sample(centre="nowhere"), headers=auth.editor_a)  # rolled back
    assert calls == []
    client.post("/api/works", json=sample(), headers=auth.editor_a)
    assert calls == ["commit"]


def test_embedded_profile_migrates_itself(tmp_path):
    from repo.app import create_app
    from repo.config import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        assert client.get("/api/works").json()["items"] == []
    assert (tmp_path / "repo.sqlite3").exists() and (tmp_path / "secret_key").exists()
