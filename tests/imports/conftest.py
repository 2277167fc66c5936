"""Fixtures of the import and export tests: the CLI against the test's database, and a second,
empty repository on the same kind of database (where round trips import)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from helpers import fresh_database
from repo.cli import app as cli_app


@dataclass
class Cli:
    """``repo …`` against one repository (its database and data directory)."""

    database_url: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)  # more settings (REPO_…)

    def __call__(self, *args: str, code: int = 0) -> str:
        env = {"REPO_DATABASE_URL": self.database_url, "REPO_DATA_DIR": str(self.data_dir),
               "REPO_SECRET_KEY": "test-secret-key", "REPO_BASE_URL": "http://testserver",
               "REPO_OAI_REPOSITORY_IDENTIFIER": "repo.example.org", "COLUMNS": "200", **self.env}
        result = CliRunner().invoke(cli_app, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    def setup(self) -> None:
        """The centres and collections of the ``auth`` fixture (configuration, not works)."""
        self("centre", "add", "centre-a", "Centro A de Estudios", "--country", "AR")
        self("centre", "add", "centre-b", "Centro B de Pesquisas", "--country", "BR")
        self("collection", "add", "libros", "Libros", "--centre", "centre-a")
        self("collection", "add", "ensayos", "Ensayos", "--parent", "libros")


@pytest.fixture
def cli(settings) -> Cli:  # type: ignore[no-untyped-def]
    return Cli(settings.resolved_database_url, settings.data_dir)


@pytest.fixture
def empty_repo(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[Cli]:
    """A second repository, empty but for its centres and collections, on the same kind of database."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    for url in fresh_database(request, kind, tmp_path, "second"):
        repo = Cli(url, tmp_path / "second-data")
        repo.setup()
        yield repo


def without_ids_and_times(jsonl: str) -> list[dict[str, Any]]:
    """An export's records with what differs between repositories taken out (ids and times)."""
    records = [json.loads(line) for line in jsonl.splitlines() if line.strip()]
    for record in records:
        for key in ("id", "created", "updated", "published", "withdrawn"):
            record.pop(key, None)
    return records


@pytest.fixture
def normalise() -> Callable[[str], list[dict[str, Any]]]:
    return without_ids_and_times
