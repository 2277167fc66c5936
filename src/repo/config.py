"""Settings, read once from the environment (prefix ``REPO_``).

The defaults serve the embedded profile: everything lives under ``./var`` (SQLite database,
embedded search index, stored files, the generated secret key), so nothing needs installing.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPO_", env_file=None, extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the embedded database, index and files live.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir.")
    search_url: str | None = Field(None, description="OpenSearch URL; default the embedded index.")
    search_index: str = Field("repo-works", description="OpenSearch alias that holds the works.")
    base_url: str = Field("http://127.0.0.1:8000", description="Public base URL, no trailing slash.")
    listen_url: str | None = Field(None, description="Set by `repo serve`: the address it listens on, the base "
                                                     "URL when REPO_BASE_URL is not set.")
    repository_name: str = "CLACSO Open Repository"
    admin_email: str = "admin@example.org"
    oai_repository_identifier: str = Field(
        "repo.example.org", pattern=r"^[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+$"
    )
    oai_page_size: int = Field(100, ge=1, le=10_000)
    oai_token_ttl_seconds: int = Field(24 * 3600, ge=60)
    oai_read_ahead: bool = Field(True, description="Make a harvest's next list page while it reads this one.")
    secret_key: SecretStr | None = Field(None, description="Signs tokens and cursors.")
    upload_max_bytes: int = Field(1 << 30, ge=1, description="Largest file upload.")
    json_max_bytes: int = Field(2 << 20, ge=1024, description="Largest JSON request body.")
    log_level: str = "info"
    # Harvesting (repo.ingest): how a run behaves towards a source, and its budget.
    harvest_overlap_seconds: int = Field(3600, ge=0, description="An incremental run's from = last start minus this.")
    harvest_window_days: int = Field(365, ge=1, description="A full run asks for its range this many days at a time.")
    harvest_max_seconds: int = Field(6 * 3600, ge=1, description="Time budget of one run (it resumes later).")
    harvest_max_records: int = Field(5_000_000, ge=1, description="Records one run may read.")
    harvest_max_bytes: int = Field(8 << 30, ge=1, description="Bytes one run may download.")
    harvest_max_response_bytes: int = Field(64 << 20, ge=1024, description="Largest OAI-PMH response read.")
    harvest_max_record_bytes: int = Field(1 << 20, ge=1024, description="Largest record accepted.")
    harvest_timeout_seconds: float = Field(60, gt=0, description="HTTP connect and read timeout.")
    harvest_retries: int = Field(5, ge=0, description="Retries of a request (503, 5xx, transport errors).")
    harvest_backoff_seconds: float = Field(2.0, gt=0, description="First back-off after a transport error.")
    harvest_max_retry_after_seconds: int = Field(900, ge=1, description="Longest Retry-After honoured.")
    harvest_parallel_from_records: int = Field(2000, ge=0, description="`repo harvest run` maps and validates in a second process while it writes once the records a run has read and those the source announces make this many (0: always).")
    harvest_scheduler_seconds: float = Field(60, ge=0, description="How often the worker runs due harvests (0: never).")
    log_format: Literal["json", "text"] = Field("json", description="Log lines as JSON objects or as text.")
    access_log: bool = Field(False, description="One log line per request (repo.access); the proxy usually has one.")
    s3_bucket: str | None = Field(None, description="S3 bucket of the file store; default: files under data_dir.")
    s3_prefix: str = Field("", description="Key prefix of the objects in the bucket.")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO…); default AWS.")
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    worker: Literal["inprocess", "external"] = Field(
        "inprocess", description="inprocess: `repo serve` runs the background jobs; external: `repo worker` does.")
    worker_lease_seconds: float = Field(30.0, ge=1, description="A killed worker's job lease is free after this.")
    worker_poll_seconds: float = Field(2.0, gt=0, description="How often `repo worker` looks for work on commit.")
    import_poll_seconds: float = Field(30, ge=0, description="How often the worker looks for queued or interrupted imports (0: never).")
    import_batch: int = Field(500, ge=1, le=10_000, description="Rows an import applies per transaction (its resume point).")
    export_parallel_from: int = Field(20_000, ge=0, description="`repo export` runs `--jobs` processes from this many works (fewer: one process; 0: always).")
    import_parallel_from_bytes: int = Field(4 << 20, ge=0, description="`repo import` validates in a second process while it writes when what is left of the file is at least this big (0: always).")

    @model_validator(mode="after")
    def _normalise(self) -> "Settings":
        if "base_url" not in self.model_fields_set and self.listen_url:
            self.base_url = self.listen_url  # links follow the address the server was started on
        self.base_url = self.base_url.rstrip("/")
        if self.secret_key is None and not self.is_sqlite:
            raise ValueError("REPO_SECRET_KEY is required when the database is not the embedded SQLite")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'repo.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @cached_property
    def secret(self) -> str:
        """The signing key: configured, or generated once and kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
