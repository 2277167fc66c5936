"""``repo backup`` then ``repo restore`` into an empty installation: every work, file and OAI record
comes back the same, on SQLite and PostgreSQL, from a local store into S3."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from helpers import s3_settings, sample

sys.path.insert(0, str(Path(__file__).parents[1] / "files"))
from file_pdfs import text_pdf  # noqa: E402


def use(monkeypatch: pytest.MonkeyPatch, settings: Any, **extra: str) -> None:
    """Point the CLI at ``settings`` (and ``extra`` REPO_ variables)."""
    for name in [k for k in os.environ if k.startswith("REPO_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("REPO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("REPO_DATABASE_URL", settings.resolved_database_url)
    if settings.secret_key is not None:
        monkeypatch.setenv("REPO_SECRET_KEY", settings.secret_key.get_secret_value())
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def harvest(client: TestClient) -> list[bytes]:
    """Every page of a full ListRecords, responseDate removed."""
    pages, params = [], {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    while True:
        body = client.get("/oai", params=params).content
        pages.append(re.sub(rb"<responseDate>[^<]*</responseDate>", b"", body))
        token = re.search(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>", body)
        if token is None:
            return pages
        params = {"verb": "ListRecords", "resumptionToken": token.group(1).decode()}


def state(client: TestClient, auth: Any, database: Any) -> dict[str, Any]:
    """What must come back: every work as the API gives it to an admin, every file's bytes, the harvest."""
    with database.session() as session:
        ids = list(session.scalars(sa.text("SELECT id FROM works ORDER BY id")))
    works = {i: client.get(f"/api/works/{i}", headers=auth.admin).json() for i in ids}
    files = {}
    for i in ids:
        for f in client.get(f"/api/works/{i}/files", headers=auth.admin).json()["items"]:
            files[(i, f["name"])] = (f["sha256"], hashlib.sha256(
                client.get(f"/works/{i}/files/{f['name']}", headers=auth.admin).content).hexdigest(), f["text_state"])
    client.app.state.indexer.flush()  # type: ignore[attr-defined]
    found = client.get("/api/search", params={"q": "Capítulo"}).json()["hits"]
    return {"works": works, "files": files, "harvest": harvest(client), "search": sorted(h["id"] for h in found)}


def test_a_backup_restores_every_work_file_and_record(client: TestClient, auth: Any, database: Any, settings: Any,
                                                      app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      s3_server: Any, s3_bucket: str, database_url: str) -> None:
    ids = []
    for n in range(7):
        work = client.post("/api/works", json=sample(), headers=auth.editor_a).json()["id"]
        if n % 2 == 0:
            pdf = text_pdf([f"Capítulo {n}"])
            assert client.put(f"/api/works/{work}/files/cap{n}.pdf", content=pdf, headers=auth.editor_a).status_code == 201
        if n < 5:
            assert client.post(f"/api/works/{work}/publish", headers=auth.editor_a).status_code == 200
        if n == 4:
            client.post(f"/api/works/{work}/withdraw", json={"reason": "duplicate"}, headers=auth.editor_a)
        ids.append(work)
    before = state(client, auth, database)
    assert len(before["works"]) == 7 and len(before["files"]) == 4

    use(monkeypatch, settings)
    from repo.cli import app as cli

    runner = CliRunner()
    backup_dir = tmp_path / "backup"
    done = runner.invoke(cli, ["backup", str(backup_dir)], catch_exceptions=False)
    assert done.exit_code == 0 and "Backed up 7 works, 4 files" in done.output, done.output
    assert (backup_dir / "secret_key").stat().st_mode & 0o077 == 0
    assert runner.invoke(cli, ["backup", str(backup_dir)]).exit_code == 1  # never over a backup

    # An empty installation: a new database (migrated as `repo db upgrade` would) and an S3 bucket.
    if database_url.startswith("sqlite"):
        target_url = f"sqlite:///{tmp_path / 'restored' / 'repo.sqlite3'}"
    else:
        server, name = database_url.rsplit("/", 1)
        admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}_restored")
        admin.dispose()
        target_url = f"{server}/{name}_restored"
        from repo.db import upgrade

        upgrade(target_url)
    target = type(settings)(**{**settings.model_dump(), "data_dir": tmp_path / "restored", "database_url": target_url,
                               **s3_settings(s3_server, s3_bucket)})
    use(monkeypatch, target, **{f"REPO_{k.upper()}": v for k, v in s3_settings(s3_server, s3_bucket).items()})
    restored = runner.invoke(cli, ["restore", str(backup_dir)], catch_exceptions=False)
    assert restored.exit_code == 0 and "Restored 7 works and 4 files" in restored.output, restored.output
    assert runner.invoke(cli, ["files", "verify"], catch_exceptions=False).exit_code == 0
    again = runner.invoke(cli, ["restore", str(backup_dir)])
    assert again.exit_code == 1 and "already has works" in again.output  # never over data

    from repo.app import create_app
    from repo.db import Database

    with TestClient(create_app(target, app.state.clock)) as other:
        other_db = Database(target.resolved_database_url)
        try:
            after = state(other, auth, other_db)  # the same tokens: the token table came back too
        finally:
            other_db.dispose()
        assert after == before  # the search index too, rebuilt from SQL
        assert before["search"] == [ids[0], ids[2]]  # (the others with a PDF are withdrawn or a draft)
    if not database_url.startswith("sqlite"):
        admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}_restored WITH (FORCE)")
        admin.dispose()
