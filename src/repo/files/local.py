"""The local file store (the default): ``<data_dir>/files/<key>``, e.g. ``files/sha256/ab/cd/<sha256>``.

A blob is written to a temporary file in the same file system (``files/tmp``) while it is
hashed, then renamed into place atomically and the directory synced: a reader never sees a
partial blob, and a crash leaves at most a temporary file that ``repo files gc`` sweeps.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from repo.files.storage import CHUNK, BlobWriter, blob_key, thumbnail_key


class LocalStore:
    """The file store under one data directory."""

    name = "local"

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "files"
        self.tmp = self.root / "tmp"

    # Paths of this adapter (tests, and the local-only operations below).

    def file(self, key: str) -> Path:
        return self.root / key

    def path(self, sha256: str) -> Path:
        return self.file(blob_key(sha256))

    def thumbnail_path(self, sha256: str) -> Path:
        return self.file(thumbnail_key(sha256))

    # The port.

    def writer(self, limit: int) -> LocalWriter:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return LocalWriter(self, limit)

    def exists(self, key: str) -> bool:
        return self.file(key).is_file()

    def size(self, key: str) -> int | None:
        try:
            return self.file(key).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, key: str, start: int = 0, end: int | None = None) -> Generator[bytes, None, None]:
        with self.file(key).open("rb") as handle:
            handle.seek(start)
            left = None if end is None else end - start
            while left is None or left > 0:
                chunk = handle.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return  # the end of the file (as an object store ends a range past the end)
                if left is not None:
                    left -= len(chunk)
                yield chunk

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.file(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path  # already local: no copy

    def put_file(self, path: Path, key: str) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="put-")
        with os.fdopen(fd, "wb") as target, path.open("rb") as source:
            shutil.copyfileobj(source, target, CHUNK)
            target.flush()
            os.fsync(target.fileno())
        self.place(Path(name), self.file(key))

    def delete(self, key: str) -> None:
        self.file(key).unlink(missing_ok=True)

    def listing(self, prefix: str) -> Iterator[tuple[str, float]]:
        base = self.file(prefix)
        if base.is_dir():
            for path in sorted(p for p in base.rglob("*") if p.is_file()):
                yield str(path.relative_to(self.root)), path.stat().st_mtime

    def sweep_uploads(self, older_than: float) -> int:
        removed = 0
        if self.tmp.is_dir():
            for path in self.tmp.iterdir():
                if path.stat().st_mtime <= older_than:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def scratch(self) -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise PermissionError(f"the file store {self.root} is not writable")

    def place(self, source: Path, target: Path) -> None:
        """Atomically move ``source`` (in this file system) to ``target``, durable on return."""
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        _fsync_dir(target.parent)


class LocalWriter(BlobWriter):
    """Writes the upload to a temporary file in ``files/tmp``; ``commit`` renames it into place."""

    def __init__(self, store: LocalStore, limit: int) -> None:
        super().__init__(limit)
        self.store = store
        fd, name = tempfile.mkstemp(dir=store.tmp, prefix="upload-")
        self.temp = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "wb")

    def _store(self, data: bytes) -> None:
        self.file.write(data)

    def _finish(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    def _commit(self, sha256: str) -> None:
        self.store.place(self.temp, self.store.path(sha256))

    def _abort(self) -> None:
        if not self.file.closed:
            self.file.close()
        self.temp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
