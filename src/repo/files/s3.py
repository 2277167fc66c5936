"""The S3-compatible file store (AWS S3, MinIO, Ceph RGW, Garage …), through boto3.

Objects are ``<prefix><key>`` in one bucket, with the keys of every store (``sha256/ab/cd/<sha256>``).
Both ways are streamed: an upload goes to S3 while it arrives — kept in memory up to one part
(:data:`PART_SIZE`), then as a multipart upload to a temporary key ``tmp/<uuid>`` — and is copied
to its content address on the server side once its sha256 is known and every check has passed
(small uploads are one PUT at commit). Reads are ranged GETs, chunked. An upload interrupted by a
crash leaves an incomplete multipart upload or a ``tmp/`` object that ``repo files gc`` removes.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from repo.files.storage import CHUNK, BlobWriter, blob_key

#: Size of each part of a multipart upload (S3's minimum is 5 MiB, but for the last part).
PART_SIZE = 8 << 20


class S3Store:
    """The file store in ``bucket`` under ``prefix``."""

    name = "s3"

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, access_key_id: str | None = None,
                 secret_access_key: str | None = None, scratch_dir: Path | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
            config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 4, "mode": "standard"},
                          s3={"addressing_style": "path"}),
        )
        self._scratch = scratch_dir

    def key(self, key: str) -> str:
        return self.prefix + key

    def writer(self, limit: int) -> S3Writer:
        return S3Writer(self, limit)

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self.key(key))["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def read(self, key: str, start: int = 0, end: int | None = None) -> Generator[bytes, None, None]:
        from botocore.exceptions import ClientError

        if end is not None and end <= start:
            return
        ranged = {"Range": f"bytes={start}-{'' if end is None else end - 1}"} if start or end is not None else {}
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(key), **ranged)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from None
            raise
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        with tempfile.NamedTemporaryFile(dir=self.scratch(), prefix="s3-copy-") as handle:
            for chunk in self.read(key):
                handle.write(chunk)
            handle.flush()
            yield Path(handle.name)

    def put_file(self, path: Path, key: str) -> None:
        self.client.upload_file(str(path), self.bucket, self.key(key))  # multipart when large

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(key))

    def listing(self, prefix: str) -> Iterator[tuple[str, float]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.key(prefix))
        for page in pages:
            for item in page.get("Contents", ()):
                yield item["Key"][len(self.prefix):], item["LastModified"].timestamp()

    def sweep_uploads(self, older_than: float) -> int:
        removed = 0
        for key, modified in list(self.listing("tmp/")):
            if modified <= older_than:
                self.delete(key)
                removed += 1
        pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket,
                                                                             Prefix=self.key("tmp/"))
        for page in pages:
            for upload in page.get("Uploads", ()):
                if _started(upload["Key"], upload["Initiated"]) <= older_than:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                       UploadId=upload["UploadId"])
                    removed += 1
        return removed

    def scratch(self) -> Path:
        directory = self._scratch or Path(tempfile.gettempdir())
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


def _started(key: str, initiated: datetime) -> float:
    """When an upload began: the time its writer put in its key (``tmp/20261127T181454-…``), which
    every S3 implementation keeps (some report a made-up ``Initiated``), else ``initiated``."""
    try:
        return datetime.strptime(key.rsplit("/", 1)[-1][:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return initiated.timestamp()


class S3Writer(BlobWriter):
    """Streams an upload to S3: one PUT at commit when small, else a multipart upload to a
    temporary key copied to the content address at commit."""

    def __init__(self, store: S3Store, limit: int) -> None:
        super().__init__(limit)
        self.store = store
        self.temp = store.key(f"tmp/{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex}")
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.completed = False

    def _store(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= PART_SIZE:
            self._part(bytes(self.buffer[:PART_SIZE]))
            del self.buffer[:PART_SIZE]

    def _part(self, data: bytes) -> None:
        client, bucket = self.store.client, self.store.bucket
        if self.upload_id is None:
            self.upload_id = client.create_multipart_upload(Bucket=bucket, Key=self.temp)["UploadId"]
        number = len(self.parts) + 1
        etag = client.upload_part(Bucket=bucket, Key=self.temp, UploadId=self.upload_id, PartNumber=number,
                                  Body=data)["ETag"]
        self.parts.append({"ETag": etag, "PartNumber": number})

    def _finish(self) -> None:
        if self.upload_id is None:
            return  # small: it stays in memory until commit
        if self.buffer:
            self._part(bytes(self.buffer))
            self.buffer.clear()
        self.store.client.complete_multipart_upload(Bucket=self.store.bucket, Key=self.temp, UploadId=self.upload_id,
                                                    MultipartUpload={"Parts": self.parts})
        self.completed = True

    def _commit(self, sha256: str) -> None:
        client, bucket, key = self.store.client, self.store.bucket, blob_key(sha256)
        if self.upload_id is None:
            if not self.store.exists(key):
                client.put_object(Bucket=bucket, Key=self.store.key(key), Body=bytes(self.buffer))
            self.buffer.clear()
            return
        if not self.store.exists(key):
            client.copy({"Bucket": bucket, "Key": self.temp}, bucket, self.store.key(key))  # server-side
        client.delete_object(Bucket=bucket, Key=self.temp)

    def _abort(self) -> None:
        self.buffer.clear()
        client, bucket = self.store.client, self.store.bucket
        if self.completed:
            client.delete_object(Bucket=bucket, Key=self.temp)
        elif self.upload_id is not None:
            client.abort_multipart_upload(Bucket=bucket, Key=self.temp, UploadId=self.upload_id)
