"""``repo serve`` and ``repo worker`` as processes: several workers' metrics summed, JSON logs,
and misconfiguration refused at start in one line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from helpers import s3_settings, wait_for

REPO_BIN = str(Path(sys.executable).with_name("repo"))


def env(**values: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REPO_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    return {**clean, **values}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_server_workers_share_one_metrics_view_and_log_json(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen([REPO_BIN, "serve", "--workers", "2", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=log, env=env(REPO_DATA_DIR=str(tmp_path / "data"), REPO_ACCESS_LOG="true"))
    base = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return httpx.get(f"{base}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(up, 60), Path(log.name).read_text()

        def entries() -> list[dict[str, Any]]:
            return [json.loads(line) for line in Path(log.name).read_text().splitlines() if line.startswith("{")]

        assert wait_for(lambda: sum("startup complete" in e["message"] for e in entries()) == 2, 60)
        sent = 0
        with ThreadPoolExecutor(8) as pool:  # concurrent connections: both workers take some
            while sent < 400 and len({e["pid"] for e in entries() if e.get("route") == "/oai"}) < 2:
                codes = pool.map(lambda _: httpx.get(f"{base}/oai", params={"verb": "Identify"}).status_code, range(16))
                assert set(codes) == {200}
                sent += 16
        text = httpx.get(f"{base}/metrics").text
        lines = entries()
    finally:
        server.terminate()
        server.wait(timeout=30)
    identify = [e for e in lines if e.get("logger") == "repo.access" and e.get("route") == "/oai"]
    assert len(identify) == sent and all(len(e["request_id"]) == 16 and e["status"] == 200 for e in identify)
    assert len({e["pid"] for e in identify}) == 2  # both workers served some
    count = next(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                 if line.startswith('repo_http_requests_total{') and 'route="/oai"' in line and 'status="200"' in line)
    assert count == sent  # whichever worker answered /metrics counts the other's requests too


def run(command: str, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REPO_BIN, command, *(["--once"] if command == "worker" else [])], env=env(**values),
                          capture_output=True, text=True, timeout=120)


def test_misconfiguration_is_one_line_at_start(tmp_path: Path, s3_server: Any, postgres_server: str) -> None:
    unreachable = run("serve", REPO_DATA_DIR=str(tmp_path), REPO_DATABASE_URL="postgresql://repo:hunter2@127.0.0.1:1/repo",
                      REPO_SECRET_KEY="k")
    assert unreachable.returncode == 2
    assert unreachable.stderr.strip().count("\n") == 0 and "Traceback" not in unreachable.stderr
    assert unreachable.stderr.startswith("error: database unreachable at postgresql://repo:***@127.0.0.1:1/repo")
    assert "hunter2" not in unreachable.stderr
    bucket = run("worker", REPO_DATA_DIR=str(tmp_path),
                 **{f"REPO_{k.upper()}": v for k, v in s3_settings(s3_server, "no-such-bucket").items()})
    assert bucket.returncode == 2 and "Traceback" not in bucket.stderr
    assert bucket.stderr.strip() == f"error: file store: the bucket 'no-such-bucket' at {s3_server.endpoint} does not exist"


@pytest.mark.parametrize("values, message", [
    ({"REPO_DATABASE_URL": "postgresql://repo@db/repo"}, "error: configuration: REPO_SECRET_KEY is required"),
    ({"REPO_WORKER": "sideways"}, "error: REPO_WORKER: Input should be 'inprocess' or 'external'"),
    ({"REPO_SEARCH_URL": "ftp://search"}, "error: REPO_SEARCH_URL must be http(s)://host:port"),
    ({"REPO_DATABASE_URL": "mysql://x@y/z", "REPO_SECRET_KEY": "k"},
     "error: REPO_DATABASE_URL must be postgresql://… or sqlite://…"),
])
def test_each_misconfiguration_names_its_setting(values: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from repo.operations import preflight

    for name in [k for k in os.environ if k.startswith("REPO_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("REPO_DATA_DIR", str(tmp_path))
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_:
        preflight.check_or_exit(preflight.load_settings())
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith(message)


def test_a_schema_newer_than_the_code_or_not_migrated_is_refused(tmp_path: Path, postgres_server: str) -> None:
    from repo.config import Settings
    from repo.db import upgrade
    from repo.operations import preflight

    sqlite = Settings(data_dir=tmp_path)
    upgrade(sqlite.resolved_database_url)
    assert preflight.check(sqlite).warnings == []
    engine = sa.create_engine(sqlite.resolved_database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")  # a later release ran
    engine.dispose()
    with pytest.raises(preflight.Misconfigured, match="revision 9999, newer than this version of repo knows"):
        preflight.check(sqlite)

    admin = sa.create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    name = f"empty_{os.getpid()}_{int(time.time())}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        fresh = Settings(data_dir=tmp_path, database_url=f"{postgres_server}/{name}", secret_key="k")
        with pytest.raises(preflight.Misconfigured, match="no schema yet: run `repo db upgrade` first"):
            preflight.check(fresh)
        upgrade(fresh.resolved_database_url)
        down = Settings(data_dir=tmp_path, database_url=f"{postgres_server}/{name}", secret_key="k",
                        search_url="http://127.0.0.1:9")
        warnings = preflight.check(down).warnings  # a search server down: a warning, not a refusal
        assert len(warnings) == 1 and warnings[0].startswith("the search server at http://127.0.0.1:9 does not answer")
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
