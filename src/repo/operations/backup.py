"""``repo backup DIR`` and ``repo restore DIR``: a consistent copy of an installation, and back.

A backup directory holds:

* the database — SQLite through its online backup API (``repo.sqlite3``, consistent while the
  server writes), PostgreSQL through ``pg_dump --format=custom`` (``database.pgdump``, one
  snapshot transaction);
* the file store's bytes — every blob and thumbnail the snapshot references, under ``files/`` with
  the store's keys, each re-hashed on the way (a damaged blob fails the backup rather than being
  copied), read from whichever store is configured (local or S3);
* ``secret_key`` (mode 0600): resumption tokens and cursors signed before the backup verify after
  a restore only with it;
* ``manifest.json``: when, which schema revision, which database, every file with its sha256,
  md5 and size — what ``repo restore`` checks before it writes anything.

The database is copied first: blobs are content-addressed and never change, so copying those the
snapshot references afterwards gives a consistent whole (``repo files gc`` never deletes a blob
younger than its grace period, and never one a row references). The search index is not copied:
``repo restore`` rebuilds it from SQL.

``repo restore DIR`` writes into an *empty* installation (no works; a schema made by ``repo db
upgrade`` is fine) of the same database kind, puts the files into the configured store (so a
backup of a local store restores into S3 and back), installs the secret when the installation
keeps it in its data directory, and rebuilds the search index.
"""

from __future__ import annotations

import glob
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from repo.config import Settings
from repo.db import create_engine
from repo.files.storage import FileStore, blob_key, hash_file, thumbnail_key

FORMAT = 1


class BackupError(Exception):
    """Backup or restore refused, said in one line."""


@dataclass
class Summary:
    works: int
    files: int
    thumbnails: int
    bytes: int
    revision: str | None


def postgres_tool(name: str) -> str:
    """``pg_dump``/``pg_restore``: on the PATH, else the newest of Debian's installed versions."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise BackupError(f"{name} not found: install PostgreSQL's client programs (Debian: postgresql-client)")
    return candidates[-1]


def _libpq(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def backup(settings: Settings, store: FileStore, target: Path,
           progress: Callable[[str], None] = lambda _: None) -> Summary:
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new directory")
    url = settings.resolved_database_url
    engine = create_engine(url)
    try:
        revision = _revision(engine)
    finally:
        engine.dispose()
    progress("database")
    if settings.is_sqlite:
        source = sqlite3.connect(url.split("///", 1)[1])
        copy = sqlite3.connect(target / "repo.sqlite3")
        try:
            source.backup(copy)  # online: consistent while others write
        finally:
            copy.close()
            source.close()
        snapshot_url = f"sqlite:///{target / 'repo.sqlite3'}"
    else:
        subprocess.run([postgres_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                        "--file", str(target / "database.pgdump"), _libpq(url)], check=True, capture_output=True)
        snapshot_url = url
    files, works = _referenced(snapshot_url, settings.is_sqlite)
    entries: list[dict[str, Any]] = []
    total = 0
    for sha256, md5, size, has_thumbnail in files:
        progress(f"file {sha256}")
        path = target / "files" / blob_key(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            for chunk in store.read(blob_key(sha256)):
                out.write(chunk)
        if hash_file(path) != (sha256, md5, size):
            raise BackupError(f"stored file {sha256} does not match its hashes: run `repo files verify`")
        entries.append({"sha256": sha256, "md5": md5, "size": size})
        total += size
        if has_thumbnail:
            thumb = target / "files" / thumbnail_key(sha256)
            thumb.parent.mkdir(parents=True, exist_ok=True)
            try:
                thumb.write_bytes(b"".join(store.read(thumbnail_key(sha256))))
            except FileNotFoundError:
                thumb.unlink(missing_ok=True)  # extraction makes it again
    secret = target / "secret_key"
    secret.write_text(settings.secret)
    secret.chmod(0o600)
    thumbnails = sum(1 for f in files if f[3])
    manifest = {"format": FORMAT, "created": datetime.now(UTC).isoformat(), "revision": revision,
                "database": "sqlite" if settings.is_sqlite else "postgresql", "works": works,
                "files": entries, "thumbnails": thumbnails}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return Summary(works, len(entries), thumbnails, total, revision)


def _referenced(url: str, sqlite_: bool) -> tuple[list[tuple[str, str, int, bool]], int]:
    """The files the snapshot references: ``(sha256, md5, size, has a thumbnail)``, and its work count.

    On PostgreSQL the rows are read after ``pg_dump``'s snapshot, so they may include files committed
    since: their bytes are copied too, which is harmless (a restore stores every blob of the backup).
    """
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT sha256, min(md5), min(size), max(CASE WHEN has_thumbnail THEN 1 ELSE 0 END) "
                "FROM files GROUP BY sha256 ORDER BY sha256")).all()
            works = int(connection.execute(sa.text("SELECT count(*) FROM works")).scalar() or 0)
    finally:
        engine.dispose()
    return [(sha, md5, int(size), bool(thumb)) for sha, md5, size, thumb in rows], works


def restore(settings: Settings, store: FileStore, source: Path,
            progress: Callable[[str], None] = lambda _: None) -> tuple[Summary, list[str]]:
    """Restore ``source`` into this (empty) installation; the summary and warnings to show."""
    manifest_path = source / "manifest.json"
    if not manifest_path.is_file():
        raise BackupError(f"{source} is not a backup (no manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} was written by another version of repo (format {manifest.get('format')})")
    kind = "sqlite" if settings.is_sqlite else "postgresql"
    if manifest["database"] != kind:
        raise BackupError(f"the backup holds a {manifest['database']} database; this installation uses {kind}")
    for entry in manifest["files"]:  # everything is checked before anything is written
        path = source / "files" / blob_key(entry["sha256"])
        if not path.is_file() or path.stat().st_size != entry["size"]:
            raise BackupError(f"the backup lacks file {entry['sha256']} or it is truncated")
    url = settings.resolved_database_url
    _require_empty(url, settings.is_sqlite)
    warnings: list[str] = []
    progress("database")
    if settings.is_sqlite:
        target = Path(url.split("///", 1)[1])
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        copy = sqlite3.connect(source / "repo.sqlite3")
        into = sqlite3.connect(target)
        try:
            copy.backup(into)
        finally:
            into.close()
            copy.close()
    else:
        done = subprocess.run([postgres_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                               "--single-transaction", "--dbname", _libpq(url), str(source / "database.pgdump")],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip().splitlines()[-1] if done.stderr else done.returncode}")
    total = 0
    for entry in manifest["files"]:
        progress(f"file {entry['sha256']}")
        path = source / "files" / blob_key(entry["sha256"])
        if hash_file(path) != (entry["sha256"], entry["md5"], entry["size"]):
            raise BackupError(f"file {entry['sha256']} of the backup is damaged")
        store.put_file(path, blob_key(entry["sha256"]))
        total += entry["size"]
        thumb = source / "files" / thumbnail_key(entry["sha256"])
        if thumb.is_file():
            store.put_file(thumb, thumbnail_key(entry["sha256"]))
    secret = (source / "secret_key").read_text().strip()
    if settings.secret_key is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path = settings.data_dir / "secret_key"
        path.write_text(secret)
        path.chmod(0o600)
    elif settings.secret_key.get_secret_value() != secret:
        warnings.append("REPO_SECRET_KEY differs from the backup's secret_key: resumption tokens and cursors "
                        "issued before the backup will not verify (set REPO_SECRET_KEY to it to keep them)")
    return Summary(manifest["works"], len(manifest["files"]), manifest["thumbnails"], total, manifest["revision"]), warnings


def _require_empty(url: str, sqlite_: bool) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if sa.inspect(connection).has_table("works"):
                if connection.execute(sa.text("SELECT count(*) FROM works")).scalar():
                    raise BackupError("this installation already has works: restore into an empty one")
    except sa.exc.OperationalError as exc:
        raise BackupError(f"the database is unreachable: {str(exc.orig).splitlines()[0]}") from None
    finally:
        engine.dispose()
