"""``/api/harvest/sources`` (administrators), the read-only rule for harvested works, and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ingest_support import Harvester
from helpers import assert_problem, snapshot
from oai_source import dc_item
from typer.testing import CliRunner

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def source(oai_source):  # type: ignore[no-untyped-def]
    return oai_source([dc_item(n, START + timedelta(minutes=n)) for n in range(1, 4)])


def test_admins_add_sources_that_answer_oai_pmh_and_see_their_runs(client, auth, database, settings, source) -> None:
    api = "/api/harvest/sources"
    body = {"url": source.url, "centre": "centre-a", "every": "24h"}
    assert_problem(client.post(api, json=body, headers=auth.editor_a), 403)
    assert_problem(client.get(api), 401)
    before = snapshot(database)
    assert_problem(client.post(api, json={**body, "url": source.url.replace("/oai", "/nothing-here")},
                               headers=auth.admin), 422, "url")
    assert_problem(client.post(api, json={**body, "url": "http://127.0.0.1:9/oai"}, headers=auth.admin), 422, "url")
    assert_problem(client.post(api, json={**body, "prefix": "marcxml"}, headers=auth.admin), 422, "prefix")
    assert_problem(client.post(api, json={**body, "every": "often"}, headers=auth.admin), 422, "every")
    assert_problem(client.post(api, json={**body, "centre": "nope"}, headers=auth.admin), 422, "centre")
    assert snapshot(database) == before  # refused requests change nothing
    created = client.post(api, json=body, headers=auth.admin)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["repository_name"] == "Fault source" and out["granularity"] == "YYYY-MM-DDThh:mm:ssZ"
    assert out["every_seconds"] == 86400 and out["last_run"] is None
    assert_problem(client.post(api, json=body, headers=auth.admin), 409)

    from repo.ingest import service

    run_id = service.run_source(database, settings, __import__("repo.clock", fromlist=["Clock"]).Clock(), out["id"])
    detail = client.get(f"{api}/{out['id']}", headers=auth.admin).json()
    assert detail["last_run"]["id"] == run_id and detail["runs"][0]["created"] == 3
    assert detail["records"] == {"works": 3, "deleted": 0, "duplicates": 0}
    assert detail["runs"][0]["duration_seconds"] >= 0 and detail["runs"][0]["status"] == "succeeded"

    # a harvested work carries its source and is read-only for everyone through the API
    work = client.get("/api/works?status=published").json()["items"][0]
    assert work["source"]["base_url"] == source.url and work["source"]["read_only"] is True
    assert work["source"]["identifier"].startswith("oai:source.example.org:")
    assert work["source"]["metadata_prefix"] == "oai_dc" and work["source"]["datestamp"]
    for call in (lambda: client.patch(f"/api/works/{work['id']}", json={"metadata": {"notes": "x"}}, headers=auth.admin),
                 lambda: client.post(f"/api/works/{work['id']}/withdraw", json={"reason": "x"}, headers=auth.admin)):
        problem = assert_problem(call(), 409)
        assert "harvested from" in problem["detail"] and "read-only" in problem["detail"]

    paused = client.patch(f"{api}/{out['id']}", json={"status": "paused"}, headers=auth.admin)
    assert paused.json()["status"] == "paused"
    assert_problem(client.post(f"{api}/{out['id']}/runs", headers=auth.admin), 409)
    client.patch(f"{api}/{out['id']}", json={"status": "active"}, headers=auth.admin)
    assert client.post(f"{api}/{out['id']}/runs", headers=auth.admin).status_code == 202
    assert client.delete(f"{api}/{out['id']}", headers=auth.admin).status_code == 204
    assert_problem(client.get(f"{api}/{out['id']}", headers=auth.admin), 404)
    edited = client.patch(f"/api/works/{work['id']}", json={"metadata": {"notes": "x"}}, headers=auth.admin)
    assert edited.status_code == 200, edited.text  # the source is gone: the work is ours now
    assert edited.json()["source"]["read_only"] is False


def test_the_cli_adds_runs_and_shows_a_source(harvester: Harvester, source, monkeypatch) -> None:
    from repo.cli import app

    for key, value in {"REPO_DATABASE_URL": harvester.settings.resolved_database_url,
                       "REPO_SECRET_KEY": "test-secret-key", "REPO_DATA_DIR": str(harvester.settings.data_dir),
                       "REPO_HARVEST_SCHEDULER_SECONDS": "0", "REPO_HARVEST_BACKOFF_SECONDS": "0.05"}.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    added = runner.invoke(app, ["harvest", "add", source.url, "--centre", "member", "--every", "6h"])
    assert added.exit_code == 0, added.output
    ran = runner.invoke(app, ["harvest", "run", "1"])
    assert ran.exit_code == 0 and "succeeded" in ran.output and "created 3" in ran.output, ran.output
    shown = runner.invoke(app, ["harvest", "show", "1", "--json"])
    assert '"created": 3' in shown.output and '"every_seconds": 21600' in shown.output
    listed = runner.invoke(app, ["harvest", "list"])
    assert source.url[:20] in listed.output
    refused = runner.invoke(app, ["harvest", "add", "http://127.0.0.1:9/oai", "--centre", "member"])
    assert refused.exit_code == 1 and "does not answer OAI-PMH" in refused.output
