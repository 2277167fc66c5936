"""Start-up checks: a misconfiguration is one clear line at start, never a traceback at the first
request.

``repo serve`` and ``repo worker`` run :func:`check` before anything else: the settings parse, the
database answers and its schema is one this code knows (a schema *newer* than the code — an older
release started against an upgraded database — is refused; an older one asks for
``repo db upgrade``, except the embedded SQLite, which migrates itself), the file store's bucket
exists, and the search server answers (a search server that is down is a warning only: the
repository serves everything else, and searches answer 503 until it is back).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import ValidationError

from repo.config import Settings


class Misconfigured(Exception):
    """A fatal start-up problem, said in one line."""


@dataclass
class Report:
    warnings: list[str] = field(default_factory=list)


def load_settings() -> Settings:
    """The settings from the environment, or one line per fault and exit status 2."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            name = f"REPO_{where.upper()}" if where else "configuration"
            print(f"error: {name}: {str(error['msg']).removeprefix('Value error, ')}", file=sys.stderr)
        raise SystemExit(2) from None


def check_or_exit(settings: Settings, *, say: Callable[[str], None] | None = None) -> None:
    """:func:`check`, printing the fatal problem (exit status 2) or the warnings in one line each."""
    emit = say or (lambda line: print(line, file=sys.stderr))
    try:
        report = check(settings)
    except Misconfigured as exc:
        emit(f"error: {exc}")
        raise SystemExit(2) from None
    for warning in report.warnings:
        emit(f"warning: {warning}")


def check(settings: Settings) -> Report:
    report = Report()
    _database(settings)
    _file_store(settings)
    if warning := _search(settings):
        report.warnings.append(warning)
    return report


def safe_url(url: str) -> str:
    """A URL with its password hidden."""
    try:
        import sqlalchemy as sa

        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        parts = urlsplit(url)
        return parts._replace(netloc=parts.hostname or "").geturl() if parts.password else url


def _first_line(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    text = str(getattr(cause, "orig", None) or cause).strip().splitlines()
    return text[0][:300] if text else type(cause).__name__


def _database(settings: Settings) -> None:
    import sqlalchemy as sa
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from repo.db import alembic_config, create_engine

    url = settings.resolved_database_url
    try:
        sa.make_url(url)
    except Exception:
        raise Misconfigured(f"REPO_DATABASE_URL is not a database URL: {safe_url(url)!r}") from None
    if not settings.is_sqlite and not url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise Misconfigured(f"REPO_DATABASE_URL must be postgresql://… or sqlite://…, not {safe_url(url)!r}")
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 5}) if not settings.is_sqlite else create_engine(url)
    except Exception as exc:
        raise Misconfigured(f"REPO_DATABASE_URL {safe_url(url)!r}: {_first_line(exc)}") from None
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as exc:
        raise Misconfigured(f"database unreachable at {safe_url(url)}: {_first_line(exc)}") from None
    finally:
        engine.dispose()
    scripts = ScriptDirectory.from_config(alembic_config(url))
    head = scripts.get_current_head()
    if current is not None and current != head:
        try:
            scripts.get_revision(current)
        except Exception:
            raise Misconfigured(
                f"the database schema is at revision {current}, newer than this version of repo knows "
                f"(its newest is {head}): run the release that migrated it") from None
        if not settings.is_sqlite:
            raise Misconfigured(f"the database schema is at revision {current}, this version needs {head}: "
                                "run `repo db upgrade` first")
    elif current is None and not settings.is_sqlite:
        raise Misconfigured(f"the database at {safe_url(url)} has no schema yet: run `repo db upgrade` first")


def _file_store(settings: Settings) -> None:
    from repo.app import open_file_store

    if settings.s3_endpoint_url and urlsplit(settings.s3_endpoint_url).scheme not in ("http", "https"):
        raise Misconfigured(f"REPO_S3_ENDPOINT_URL must be http(s)://host:port, not {settings.s3_endpoint_url!r}")
    try:
        open_file_store(settings).check()
    except Exception as exc:
        where = f"bucket {settings.s3_bucket!r} at {settings.s3_endpoint_url or 'AWS'}" if settings.s3_bucket \
            else f"{settings.data_dir}"
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", "")) if hasattr(exc, "response") else ""
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise Misconfigured(f"file store: the {where} does not exist") from None
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise Misconfigured(f"file store: access to the {where} is denied (check REPO_S3_ACCESS_KEY_ID and "
                                "REPO_S3_SECRET_ACCESS_KEY)") from None
        raise Misconfigured(f"file store: the {where} is not usable: {_first_line(exc)}") from None


def _search(settings: Settings) -> str | None:
    if not settings.search_url:
        return None
    parts = urlsplit(settings.search_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Misconfigured(f"REPO_SEARCH_URL must be http(s)://host:port, not {settings.search_url!r}")
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[settings.search_url], timeout=5, max_retries=0)
    try:
        client.info()
    except Exception as exc:
        return (f"the search server at {safe_url(settings.search_url)} does not answer ({_first_line(exc)}): "
                "searches answer 503 and changes wait in the outbox until it is back")
    finally:
        client.close()
    return None
