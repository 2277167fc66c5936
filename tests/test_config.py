"""Settings: the embedded default needs nothing; PostgreSQL needs a secret key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from repo.config import Settings


def test_embedded_default_generates_and_keeps_a_secret(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.is_sqlite and settings.resolved_database_url.endswith("repo.sqlite3")
    secret = settings.secret
    assert len(secret) > 40 and (tmp_path / "secret_key").read_text().strip() == secret
    assert Settings(data_dir=tmp_path).secret == secret  # kept across restarts
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_postgresql_requires_a_secret_key(tmp_path):
    with pytest.raises(ValidationError, match="REPO_SECRET_KEY"):
        Settings(data_dir=tmp_path, database_url="postgresql://u@h/db")
    assert Settings(data_dir=tmp_path, database_url="postgresql://u@h/db", secret_key="s").secret == "s"


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("REPO_BASE_URL", "https://repo.clacso.org/")
    monkeypatch.setenv("REPO_OAI_PAGE_SIZE", "250")
    monkeypatch.setenv("REPO_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.base_url == "https://repo.clacso.org" and settings.oai_page_size == 250


def test_bad_repository_identifier_is_refused(tmp_path):
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, oai_repository_identifier="1bad")
