"""Shared fixtures: real SQLite and real PostgreSQL, the app, tokens for every role.

``database_url`` is parametrised over both databases, so every test that uses it (directly or
through ``settings``/``client``) runs on each. PostgreSQL tests skip with the reason printed when
no PostgreSQL binaries are found, and fail instead when ``REPO_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from repo.app import create_app
from repo.clock import ManualClock
from repo.config import Settings
from repo.db import Database, upgrade

sys.path.insert(0, str(Path(__file__).parent))
from helpers import fresh_database  # noqa: E402
from pg import Cluster, find_bindir  # noqa: E402

_buckets = itertools.count()


def _required(variable: str) -> bool:
    return os.environ.get(variable, "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL (without database) of a PostgreSQL cluster started for this test session."""
    bindir = find_bindir()
    if bindir is None:
        if _required("REPO_REQUIRE_POSTGRES"):
            pytest.fail("REPO_REQUIRE_POSTGRES=1 but no PostgreSQL binaries (initdb, pg_ctl) were found")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: install Debian's 'postgresql'")
    cluster = Cluster(bindir)
    try:
        url = cluster.start()
    except RuntimeError as exc:
        if _required("REPO_REQUIRE_POSTGRES"):
            pytest.fail(str(exc))
        pytest.skip(f"could not start PostgreSQL: {exc}")
    engine = sa.create_engine(f"{url}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE repo_template")
    engine.dispose()
    upgrade(f"{url}/repo_template")
    yield url
    cluster.stop()


@dataclass(frozen=True)
class S3Server:
    """An S3-protocol endpoint and its credentials."""

    endpoint: str
    access_key_id: str
    secret_access_key: str

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server in a thread of this session, or a real S3/MinIO at ``REPO_TEST_S3_URL``
    (credentials from ``REPO_TEST_S3_ACCESS_KEY_ID`` and ``REPO_TEST_S3_SECRET_ACCESS_KEY``)."""
    if url := os.environ.get("REPO_TEST_S3_URL"):
        yield S3Server(url, os.environ.get("REPO_TEST_S3_ACCESS_KEY_ID", "minioadmin"),
                       os.environ.get("REPO_TEST_S3_SECRET_ACCESS_KEY", "minioadmin"))
        return
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        if _required("REPO_REQUIRE_S3"):
            pytest.fail(f"REPO_REQUIRE_S3=1 but moto[server] is not importable: {exc}")
        pytest.skip(f"moto[server] not installed ({exc}): pip install 'moto[server]'")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield S3Server(f"http://{host}:{port}", "testing", "testing")
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> Iterator[str]:
    """A fresh, empty bucket for one test (removed afterwards)."""
    name = f"repo-test-{os.getpid()}-{next(_buckets)}"
    client = s3_server.client()
    client.create_bucket(Bucket=name)
    yield name
    for page in client.get_paginator("list_object_versions").paginate(Bucket=name):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            client.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
    for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    client.delete_bucket(Bucket=name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "repo.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each supported database."""
    yield from fresh_database(request, request.param, tmp_path, "test")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        base_url="http://testserver",
        oai_repository_identifier="repo.example.org",
    )


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when a test moves it (starts at the real now)."""
    return ManualClock()


@pytest.fixture
def app(settings: Settings, clock: ManualClock):  # type: ignore[no-untyped-def]
    return create_app(settings, clock)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    """Direct access to the test's database (arranging data, checking nothing changed)."""
    db = Database(settings.resolved_database_url)
    yield db
    db.dispose()


@dataclass
class Auth:
    """Authorization headers for each role, over two member centres ``centre-a`` and ``centre-b``."""

    admin: dict[str, str]
    editor_a: dict[str, str]
    editor_b: dict[str, str]
    anonymous: dict[str, str]


@pytest.fixture
def auth(client: TestClient, database: Database, clock: ManualClock) -> Auth:
    from repo.centres.models import MemberCentre
    from repo.deposit.auth import TokenRole, create_token

    with database.session() as session:
        for slug, name, country in (("centre-a", "Centro A de Estudios", "AR"),
                                    ("centre-b", "Centro B de Pesquisas", "BR")):
            session.add(MemberCentre(slug=slug, name=name, country=country, created_at=clock.now(),
                                     updated_at=clock.now()))
        session.flush()
        admin, _ = create_token(session, name="admin", role=TokenRole.admin, centre_slugs=[], now=clock.now())
        editor_a, _ = create_token(session, name="editor-a", role=TokenRole.editor, centre_slugs=["centre-a"],
                                   now=clock.now())
        editor_b, _ = create_token(session, name="editor-b", role=TokenRole.editor, centre_slugs=["centre-b"],
                                   now=clock.now())
    bearer = lambda raw: {"Authorization": f"Bearer {raw}"}  # noqa: E731
    return Auth(admin=bearer(admin), editor_a=bearer(editor_a), editor_b=bearer(editor_b), anonymous={})
