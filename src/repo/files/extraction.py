"""Full-text extraction and thumbnails, contained in a child process with time and memory limits.

State per file (``File.text_state``): ``pending`` (accepted, not yet extracted), ``done``,
``failed`` (``text_error`` says why: time limit, memory limit, unreadable PDF…) or ``skipped``
(a kind with no text to extract). A failure is recorded on the file and never undoes or blocks
the deposit; ``repo files extract`` retries pending and failed files.

PDF text and the first-page thumbnail come from pypdfium2 (PDFium: the engine of Chrome's
viewer — fast, tolerant of damaged files, and it ignores XFA, so an XFA packet's external entities
are never resolved). EPUB text is the spine's XHTML read by lxml without DTDs, entities or network,
each part capped (zip bombs fail). Plain text is decoded in process (bounded, cheap). When a file's text is
stored, an outbox row (reason ``file_text``) makes search reindex its work.

Pictures (JPEG, PNG, GIF, WebP, TIFF) have no text (``skipped``) but get a thumbnail — a WebP of at
most 400 pixels a side, made by Pillow in the same child process under the same limits, so lists
never ship a multi-megabyte photograph as a thumbnail and no request decodes an image. A picture
Pillow cannot read, or one of more pixels than the child allows (a decompression bomb), is
``failed`` with the reason; its bytes still serve.

Extraction is the worker job ``files.extract`` (:mod:`repo.files.jobs`): each run claims
(:func:`claim`) one pending file — a short claim, renewed while the extraction runs, so a worker
killed mid-extraction leaves the file to another as soon as its claim expires — and processes it.
``repo files extract`` retries failures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from repo.db import Database
from repo.files.models import File
from repo.files.sniff import EPUB, GIF, JPEG, PDF, PNG, TEXT, TIFF, WEBP
from repo.files.storage import FileStore, blob_key, thumbnail_key
from repo.search import outbox

PENDING, DONE, FAILED, SKIPPED = "pending", "done", "failed", "skipped"
#: How long a worker's claim on a file lasts unless renewed (:func:`renew_claim`).
CLAIM_SECONDS = 30.0
CHILD = Path(__file__).with_name("_extract_child.py")
#: Pictures the child makes a thumbnail of (Pillow).
PICTURES = (JPEG, PNG, GIF, WEBP, TIFF)


@dataclass(frozen=True)
class Limits:
    """What one extraction may use: wall-clock and CPU seconds, heap bytes, characters kept."""

    seconds: float = 120.0
    memory_bytes: int = 1 << 30
    max_chars: int = 10_000_000


@dataclass(frozen=True)
class Outcome:
    state: str
    text: str | None = None
    thumbnail: bool = False
    error: str | None = None


def extract(storage: FileStore, sha256: str, media_type: str, limits: Limits = Limits()) -> Outcome:
    """Extract the text (and, for PDFs and pictures, a thumbnail stored beside the blob) of one stored blob."""
    if media_type not in (TEXT, PDF, EPUB, *PICTURES):
        return Outcome(SKIPPED)
    try:
        if media_type == TEXT:
            data = bytearray()
            chunks = storage.read(blob_key(sha256), 0, limits.max_chars * 4)
            for chunk in chunks:
                data += chunk
            return Outcome(DONE, text=data.decode("utf-8", errors="replace")[: limits.max_chars])
        with storage.local_copy(blob_key(sha256)) as source:  # the child reads a local file
            kind = "image" if media_type in PICTURES else "pdf" if media_type == PDF else "epub"
            return _extract_in_child(kind, storage, source, sha256, limits)
    except FileNotFoundError:
        return Outcome(FAILED, error="the stored file is missing")


def _extract_in_child(kind: str, storage: FileStore, source: Path, sha256: str, limits: Limits) -> Outcome:
    fd, name = tempfile.mkstemp(dir=storage.scratch(), prefix="thumb-", suffix=".png")
    os.close(fd)
    thumbnail = Path(name)
    # Run by path in isolated mode: the child imports nothing but the standard library and pdfium.
    command = [sys.executable, "-I", str(CHILD), kind, str(source), str(thumbnail),
               str(limits.max_chars), str(limits.memory_bytes), str(max(1, int(limits.seconds)))]
    try:
        try:
            done = subprocess.run(command, capture_output=True, timeout=limits.seconds, check=False,
                                  stdin=subprocess.DEVNULL, env=_child_env())
        except subprocess.TimeoutExpired:
            return Outcome(FAILED, error=f"time limit: extraction took longer than {limits.seconds:g} s")
        if done.returncode != 0:
            return Outcome(FAILED, error=_reason(done.returncode, done.stderr))
        has_thumbnail = thumbnail.stat().st_size > 0
        if has_thumbnail:
            storage.put_file(thumbnail, thumbnail_key(sha256))
        if kind == "image":  # a picture has no text
            return Outcome(SKIPPED, thumbnail=has_thumbnail)
        return Outcome(DONE, text=done.stdout.decode("utf-8", errors="replace"), thumbnail=has_thumbnail)
    finally:
        thumbnail.unlink(missing_ok=True)


def _child_env() -> dict[str, str]:
    # Nothing of the server's environment (secrets, database URL) reaches the parser.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}


def _reason(returncode: int, stderr: bytes) -> str:
    if returncode == -signal.SIGXCPU or returncode == -signal.SIGKILL:
        return "time limit: CPU time exhausted"
    if returncode == 3:
        return "memory limit reached"
    lines = stderr.decode("utf-8", errors="replace").strip().splitlines()
    message = lines[-1] if lines else f"exit status {returncode}"
    out_of_memory = ("MemoryError", "Cannot allocate memory", "failed to map segment", "std::bad_alloc")
    if any(sign in message for sign in out_of_memory) or returncode == -signal.SIGSEGV:
        return f"memory limit reached or crashed ({message[:200]})"
    return f"unreadable: {message[:300]}"


def process(
    database: Database,
    storage: FileStore,
    file_ids: Iterable[int],
    now: Callable[[], datetime],
    limits: Limits = Limits(),
) -> dict[int, Outcome]:
    """Extract each file and store the outcome, one short transaction per file.

    The child process runs outside any transaction. A result is only stored when the row still
    holds the bytes that were extracted (it may have been replaced or deleted meanwhile).
    """
    outcomes: dict[int, Outcome] = {}
    for file_id in file_ids:
        with database.session() as session:
            row = session.get(File, file_id)
            if row is None:
                continue
            sha256, media_type = row.sha256, row.media_type
        outcome = extract(storage, sha256, media_type, limits)
        with database.session() as session:
            row = session.get(File, file_id)
            if row is None or row.sha256 != sha256:
                continue
            row.text_state, row.text, row.text_error = outcome.state, outcome.text, outcome.error
            row.has_thumbnail = outcome.thumbnail
            row.text_claimed_until = None
            row.updated_at = now()
            if outcome.state == DONE:
                outbox.enqueue(session, row.work_id, "file_text", now())
        outcomes[file_id] = outcome
    return outcomes


def claim(database: Database, now: datetime, seconds: float = CLAIM_SECONDS) -> int | None:
    """Claim the oldest pending file nobody is extracting (until ``now + seconds``); its id.

    One UPDATE … RETURNING: atomic on SQLite (one writer) and, with ``SKIP LOCKED``, on PostgreSQL,
    so two workers never take the same file, while a claim left by a killed worker expires.
    """
    with database.session() as session:
        pick = (sa.select(File.id)
                .where(File.text_state == PENDING,
                       sa.or_(File.text_claimed_until.is_(None), File.text_claimed_until < now))
                .order_by(File.id).limit(1))
        if session.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        return session.scalar(
            sa.update(File).where(File.id == pick.scalar_subquery())
            .values(text_claimed_until=now + timedelta(seconds=seconds)).returning(File.id)
            .execution_options(synchronize_session=False)
        )


def renew_claim(database: Database, file_id: int, until: datetime) -> None:
    """Keep the claim on a file that is still being extracted."""
    with database.session() as session:
        session.execute(sa.update(File).where(File.id == file_id, File.text_state == PENDING)
                        .values(text_claimed_until=until).execution_options(synchronize_session=False))


def queue_length(database: Database) -> int:
    """Files waiting for extraction (metrics)."""
    with database.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).where(File.text_state == PENDING)) or 0)


def retry_ids(database: Database) -> list[int]:
    """Files whose extraction is pending or failed (``repo files extract``)."""
    with database.session() as session:
        return list(session.scalars(
            sa.select(File.id).where(File.text_state.in_([PENDING, FAILED])).order_by(File.id)
        ))
