"""The file store port: where the bytes of files live, by content address.

A blob's key is its sha256 (``sha256/ab/cd/<sha256>``), a thumbnail's ``thumbnails/ab/<sha256>.png``:
the same keys in every adapter. Two adapters implement :class:`FileStore` — the local
content-addressed directory (:mod:`repo.files.local`, the default) and S3-compatible object
storage (:mod:`repo.files.s3`, ``REPO_S3_BUCKET``); the composition root
(:func:`repo.app.open_file_store`) chooses one, and services only see this port.

An upload goes through a :class:`BlobWriter`: it hashes (sha256 and md5) and stores the bytes as
they arrive, never past its limit, and keeps them out of the content address until ``commit()``
— after every check has passed. Leaving its ``with`` block without committing (a refused type,
the size limit, a client gone) forgets the bytes; what a crash leaves behind is swept by
``repo files gc`` (:meth:`FileStore.sweep_uploads`).

Blobs are shared by every file row with the same sha256; deleting a row never deletes bytes in
the request (a concurrent upload of the same bytes may be about to reference them).
``repo files gc`` removes blobs that no row references, after a grace period.
"""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from repo.errors import PayloadTooLarge
from repo.files.sniff import HEAD_BYTES, TAIL_BYTES

log = logging.getLogger("repo.files")

#: Bytes per chunk when reading a stored blob.
CHUNK = 256 * 1024
# md5 is the slowest step (~0.6 GB/s against ~1.4 GB/s for sha256 with SHA-NI): it runs beside
# the sha256 and the write, on its own thread (hashlib releases the GIL on large buffers).
_MD5_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="repo-md5")
_PARALLEL_FROM = 256 * 1024


def blob_key(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def thumbnail_key(sha256: str) -> str:
    """One thumbnail per blob; the key keeps its first ``.png`` whatever :func:`thumbnail_type` says."""
    return f"thumbnails/{sha256[:2]}/{sha256}.png"


def thumbnail_type(media_type: str) -> str:
    """The media type of the thumbnail derived from a blob of ``media_type``: a PDF's first page is
    a greyscale PNG; a picture's thumbnail is a WebP (its colours at a tenth of a PNG's size)."""
    return "image/webp" if media_type.startswith("image/") else "image/png"


@dataclass(frozen=True)
class Blob:
    """A fully received upload: its digests, size, and the bytes sniffing needs."""

    sha256: str
    md5: str
    size: int
    head: bytes
    tail: bytes


class BlobWriter(ABC):
    """Receives an upload's bytes: hashes them and hands them to the adapter, never past ``limit``.

    ``finish()`` once every byte has arrived; ``commit()`` moves the bytes to their content
    address; leaving the ``with`` block without committing (any exception, including
    :class:`PayloadTooLarge`) forgets them.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sha256, self.md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.head = bytearray()
        self.tail = b""
        self.blob: Blob | None = None
        self.done = False

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.done:
            self.abort()

    def write(self, data: bytes) -> None:
        """Append ``data``; :class:`PayloadTooLarge` (and nothing kept) past the limit."""
        if self.size + len(data) > self.limit:
            self.abort()
            raise PayloadTooLarge(f"The file exceeds the upload limit of {self.limit} bytes.")
        self.size += len(data)
        md5 = _MD5_POOL.submit(self.md5.update, data) if len(data) >= _PARALLEL_FROM else None
        if md5 is None:
            self.md5.update(data)
        self.sha256.update(data)
        self._store(data)
        if md5 is not None:
            md5.result()
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        self.tail = (self.tail + data[-TAIL_BYTES:])[-TAIL_BYTES:]

    def finish(self) -> Blob:
        """All bytes received: make them durable (not yet at their address); what was received."""
        if self.blob is None:
            self._finish()
            self.blob = Blob(self.sha256.hexdigest(), self.md5.hexdigest(), self.size, bytes(self.head), self.tail)
        return self.blob

    def commit(self) -> None:
        """Move the finished bytes to their content address (an identical blob may be there)."""
        blob = self.finish()
        self._commit(blob.sha256)
        self.done = True

    def abort(self) -> None:
        """Forget the upload."""
        if not self.done:
            self.done = True
            try:
                self._abort()
            except Exception as exc:  # the store is away: `repo files gc` sweeps what is left
                log.warning("forgetting an upload failed: %s", exc)

    @abstractmethod
    def _store(self, data: bytes) -> None: ...

    @abstractmethod
    def _finish(self) -> None: ...

    @abstractmethod
    def _commit(self, sha256: str) -> None: ...

    @abstractmethod
    def _abort(self) -> None: ...


class FileStore(Protocol):
    """Where stored bytes live. Keys are relative (``blob_key``, ``thumbnail_key``)."""

    #: ``local`` or ``s3`` (messages, ``/ready``).
    name: str

    def writer(self, limit: int) -> BlobWriter:
        """A writer for one upload of at most ``limit`` bytes (use as a context manager)."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int | None:
        """The stored size, None when nothing is stored at ``key``."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> Generator[bytes, None, None]:
        """The bytes ``[start, end)`` (to the end when None) in chunks of about :data:`CHUNK`;
        :class:`FileNotFoundError` when nothing is stored at ``key``."""
        ...

    def local_copy(self, key: str) -> AbstractContextManager[Path]:
        """A local file holding the bytes at ``key`` while the block runs (a child process reads it)."""
        ...

    def put_file(self, path: Path, key: str) -> None:
        """Store a copy of the local file ``path`` at ``key`` (atomically: readers see all or nothing)."""
        ...

    def delete(self, key: str) -> None: ...

    def listing(self, prefix: str) -> Iterable[tuple[str, float]]:
        """``(key, modification time)`` of everything stored under ``prefix`` (``sha256/``, ``thumbnails/``)."""
        ...

    def sweep_uploads(self, older_than: float) -> int:
        """Delete what uploads interrupted before ``older_than`` (a POSIX time) left behind; how many."""
        ...

    def scratch(self) -> Path:
        """A local directory for temporary files (extraction output)."""
        ...

    def check(self) -> None:
        """Raise when the store is unreachable or misconfigured (``/ready``, start-up checks)."""
        ...


def hash_chunks(chunks: Iterable[bytes]) -> tuple[str, str, int]:
    """``(sha256, md5, size)`` of a stream of bytes (constant memory)."""
    sha256, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    for data in chunks:
        sha256.update(data)
        md5.update(data)
        size += len(data)
    return sha256.hexdigest(), md5.hexdigest(), size


def hash_file(path: Path, chunk: int = 1 << 20) -> tuple[str, str, int]:
    """``(sha256, md5, size)`` of a local file, read in chunks."""
    with path.open("rb") as handle:
        return hash_chunks(iter(lambda: handle.read(chunk), b""))
