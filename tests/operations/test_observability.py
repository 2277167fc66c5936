"""Metrics, request ids and JSON logs, readiness, and 503 (not 500) when a dependency is down."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from helpers import sample


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition ``text``."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_count_requests_by_route_template_and_report_the_queues(client: TestClient, auth: Any,
                                                                         app: Any) -> None:
    before = client.get("/metrics").text
    seen = metric(before, "repo_http_requests_total", method="GET", route="/api/works/{work_id}", status="404") or 0
    for work_id in (9001, 9002, 9003):
        assert client.get(f"/api/works/{work_id}").status_code == 404
    client.get("/no/such/path")
    app.state.worker.pause("search.outbox")  # an outbox row stays pending
    assert client.post("/api/works", json=sample(), headers=auth.editor_a).status_code == 201
    text = client.get("/metrics").text
    assert metric(text, "repo_http_requests_total", method="GET", route="/api/works/{work_id}", status="404") == seen + 3
    assert metric(text, "repo_http_requests_total", method="GET", route="<unmatched>", status="404") >= 1
    client.get("/oai", params={"verb": "Identify"})  # a plain Starlette route, not a FastAPI one
    assert metric(client.get("/metrics").text, "repo_http_requests_total", method="GET", route="/oai", status="200")
    assert not re.search(r'route="/api/works/9001', text)  # ids never become labels
    assert metric(text, "repo_http_request_duration_seconds_count", method="GET", route="/api/works/{work_id}")
    assert metric(text, "repo_outbox_backlog") == 1
    assert metric(text, "repo_outbox_oldest_age_seconds") is not None
    assert metric(text, "repo_extraction_queue") == 0
    assert metric(text, "repo_job_runs_total", job="works.embargoes") >= 1  # its first cycle at start
    assert "# TYPE repo_harvest_runs_total counter" in text  # the harvester counts its runs here

    served = metric(text, "repo_oai_records_served_total", verb="ListIdentifiers") or 0
    listed = client.get("/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    assert listed.status_code == 200 and b"noRecordsMatch" in listed.content  # the new work is a draft
    work = client.post("/api/works", json=sample(), headers=auth.editor_a).json()["id"]
    assert client.post(f"/api/works/{work}/publish", headers=auth.editor_a).status_code == 200
    client.get("/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    client.get("/oai", params={"verb": "GetRecord", "metadataPrefix": "oai_dc",
                               "identifier": f"oai:repo.example.org:{work}"})
    text = client.get("/metrics").text
    assert metric(text, "repo_oai_records_served_total", verb="ListIdentifiers") == served + 1
    assert metric(text, "repo_oai_records_served_total", verb="GetRecord") >= 1


def test_every_response_has_a_request_id_and_the_access_log_carries_it(client: TestClient,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="repo.access"):
        given = client.get("/api/works", headers={"X-Request-ID": "harvest-42.a"})
        made = client.get("/api/works", headers={"X-Request-ID": "<script>"})  # not a token: replaced
    assert given.headers["x-request-id"] == "harvest-42.a"
    assert re.fullmatch(r"[0-9a-f]{16}", made.headers["x-request-id"])
    lines = [r for r in caplog.records if r.name == "repo.access"]
    assert [(r.route, r.status) for r in lines[-2:]] == [("/api/works", 200), ("/api/works", 200)]

    from repo.operations.logs import REQUEST_ID, JsonFormatter

    token = REQUEST_ID.set("harvest-42.a")
    try:
        formatted = json.loads(JsonFormatter().format(lines[-2]))
    finally:
        REQUEST_ID.reset(token)
    assert formatted["request_id"] == "harvest-42.a" and formatted["logger"] == "repo.access"
    assert formatted["route"] == "/api/works" and formatted["status"] == 200 and formatted["duration_ms"] >= 0
    assert formatted["level"] == "info" and formatted["time"].endswith("Z")


def test_json_logs_keep_exceptions_on_one_line() -> None:
    from repo.operations.logs import JsonFormatter

    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = logging.LogRecord("repo", logging.ERROR, __file__, 1, "failed: %s", ("x",), exc_info=True)
        import sys

        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed: x" and "ValueError: boom" in entry["exception"]


@pytest.fixture
def search_down(settings: Any) -> Any:
    """Settings whose search server does not exist (nothing listens on port 9)."""
    return settings.model_copy(update={"search_url": "http://127.0.0.1:9"})


def test_a_search_server_down_makes_search_503_and_not_ready(search_down: Any, clock: Any) -> None:
    from repo.app import create_app

    with TestClient(create_app(search_down, clock)) as client:
        assert client.get("/api/works").status_code == 200  # the rest serves on
        response = client.get("/api/search", params={"q": "cooperativas"})
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert response.headers["content-type"].startswith("application/problem+json")
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.headers["retry-after"]
        checks = ready.json()["checks"]
        assert checks["database"]["ok"] and checks["storage"]["ok"] and not checks["search"]["ok"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_database_gone_is_503_with_retry_after(client: TestClient, database_url: str) -> None:
    assert client.get("/api/works").status_code == 200
    server, name = database_url.rsplit("/", 1)
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # every connection dies, and reconnecting fails
        connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()
    response = client.get("/api/works")
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert "database" in response.json()["detail"]
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 503
    oai = client.get("/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})  # ahead of routing
    assert oai.status_code == 503 and oai.headers["retry-after"] == "5", oai.text
    assert client.get("/health").status_code == 200  # alive: restarting the process would not help
    assert client.get("/ready").json()["checks"]["database"]["ok"] is False
