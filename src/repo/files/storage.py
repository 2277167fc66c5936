"""Content-addressed storage: ``<data_dir>/files/sha256/ab/cd/<sha256>``.

A blob is written to a temporary file in the same file system while its sha256 and md5 are
computed, then renamed into place atomically: a reader never sees a partial blob, and every
failure (size limit, refused type, client gone, crash) leaves at most a temporary file that
:class:`BlobWriter` deletes, or — after a crash — that ``repo files gc`` sweeps.

Blobs are shared by every file row with the same sha256; deleting a row never deletes bytes in
the request (a concurrent upload of the same bytes may be about to reference them).
``repo files gc`` removes blobs that no row references, after a grace period.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from repo.errors import PayloadTooLarge
from repo.files.sniff import HEAD_BYTES, TAIL_BYTES

# md5 is the slowest step (~0.6 GB/s against ~1.4 GB/s for sha256 with SHA-NI): it runs beside
# the sha256 and the disk write, on its own thread (hashlib releases the GIL on large buffers).
_MD5_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="repo-md5")
_PARALLEL_FROM = 256 * 1024


@dataclass(frozen=True)
class Blob:
    """A fully received upload: its digests, size, and the bytes sniffing needs."""

    sha256: str
    md5: str
    size: int
    head: bytes
    tail: bytes


class Storage:
    """The file store under one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "files"
        self.tmp = self.root / "tmp"

    def path(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def thumbnail_path(self, sha256: str) -> Path:
        return self.root / "thumbnails" / sha256[:2] / f"{sha256}.png"

    def writer(self, limit: int) -> BlobWriter:
        """A writer for one upload of at most ``limit`` bytes (use as a context manager)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        return BlobWriter(self, limit)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def blobs(self) -> Iterator[tuple[str, Path]]:
        """Every stored blob as ``(sha256 from its name, path)``."""
        base = self.root / "sha256"
        if base.is_dir():
            for path in sorted(base.glob("??/??/*")):
                yield path.name, path

    def place(self, source: Path, target: Path) -> None:
        """Atomically move ``source`` (in this file system) to ``target``, durable on return."""
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        _fsync_dir(target.parent)


class BlobWriter:
    """Receives an upload's bytes: hashes and writes them to a temporary file, never past ``limit``.

    ``commit()`` moves the bytes into the store; leaving the ``with`` block without committing
    (any exception, including :class:`PayloadTooLarge`) deletes the temporary file.
    """

    def __init__(self, storage: Storage, limit: int) -> None:
        self.storage, self.limit = storage, limit
        fd, name = tempfile.mkstemp(dir=storage.tmp, prefix="upload-")
        self.temp = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "wb")
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
        self.file.write(data)
        if md5 is not None:
            md5.result()
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        self.tail = (self.tail + data[-TAIL_BYTES:])[-TAIL_BYTES:]

    def finish(self) -> Blob:
        """All bytes received: flush them to disk and return what was received."""
        if self.blob is None:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            self.blob = Blob(self.sha256.hexdigest(), self.md5.hexdigest(), self.size, bytes(self.head), self.tail)
        return self.blob

    def commit(self) -> Path:
        """Move the finished bytes to their content address (replacing an identical blob)."""
        blob = self.finish()
        target = self.storage.path(blob.sha256)
        self.storage.place(self.temp, target)
        self.done = True
        return target

    def abort(self) -> None:
        """Forget the upload: close and delete the temporary file."""
        self.done = True
        if not self.file.closed:
            self.file.close()
        self.temp.unlink(missing_ok=True)


def hash_file(path: Path, chunk: int = 1 << 20) -> tuple[str, str, int]:
    """``(sha256, md5, size)`` of a stored file, read in chunks (constant memory)."""
    sha256, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    with path.open("rb") as handle:
        while data := handle.read(chunk):
            sha256.update(data)
            md5.update(data)
            size += len(data)
    return sha256.hexdigest(), md5.hexdigest(), size


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
