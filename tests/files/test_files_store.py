"""The file store port on both adapters — the local directory and S3-compatible object storage
(moto's S3 server, or a real S3/MinIO at ``REPO_TEST_S3_URL``) — and the application on S3."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from file_pdfs import text_pdf
from helpers import s3_settings
from repo.errors import PayloadTooLarge
from repo.files.storage import FileStore, blob_key, thumbnail_key

MiB = 1 << 20


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileStore]:
    from repo.app import open_file_store
    from repo.config import Settings

    extra: dict[str, Any] = {}
    if request.param == "s3":
        extra = s3_settings(request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket"))
    yield open_file_store(Settings(data_dir=tmp_path, **extra))


def everything(store: FileStore) -> list[str]:
    return [key for prefix in ("sha256/", "thumbnails/", "tmp/") for key, _ in store.listing(prefix)]


def pending_uploads(store: Any) -> list[Any]:
    if store.name != "s3":
        return []
    return store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])


@pytest.mark.parametrize("size", [5000, 20 * MiB + 123])
def test_a_committed_upload_is_stored_at_its_sha256(store: Any, size: int) -> None:
    data = os.urandom(size)
    with store.writer(limit=size) as writer:
        for start in range(0, size, MiB):
            writer.write(data[start:start + MiB])
        blob = writer.finish()
        key = blob_key(blob.sha256)
        assert not store.exists(key)  # nothing at the address before commit
        writer.commit()
    assert (blob.sha256, blob.md5, blob.size) == (hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), size)
    if store.name == "s3" and size > MiB:
        assert len(writer.parts) == 3  # streamed as a multipart upload (8 MiB parts)
    assert store.size(key) == size and store.exists(key)
    assert b"".join(store.read(key)) == data
    assert b"".join(store.read(key, 10, 110)) == data[10:110]  # a ranged read
    assert b"".join(store.read(key, size - 7, size)) == data[-7:]
    assert [k for k, _ in store.listing("sha256/")] == [key]
    assert everything(store) == [key] and pending_uploads(store) == []  # no temporary left
    with store.local_copy(key) as path:
        assert path.read_bytes() == data


def test_a_refused_or_abandoned_upload_leaves_nothing(store: Any) -> None:
    with pytest.raises(PayloadTooLarge), store.writer(limit=9 * MiB) as writer:
        writer.write(os.urandom(8 * MiB))  # a multipart upload has begun on S3
        writer.write(os.urandom(2 * MiB))
    with pytest.raises(RuntimeError), store.writer(limit=20 * MiB) as writer:
        writer.write(os.urandom(9 * MiB))
        writer.finish()  # completed at its temporary key on S3
        raise RuntimeError("the name was refused")
    assert everything(store) == [] and pending_uploads(store) == []


def test_an_upload_interrupted_by_a_crash_is_swept(store: Any) -> None:
    writer = store.writer(limit=20 * MiB)
    writer.write(os.urandom(9 * MiB))  # then the process dies: no commit, no abort
    assert everything(store) or pending_uploads(store)
    assert store.sweep_uploads(time.time() - 3600) == 0  # younger than the grace period
    assert store.sweep_uploads(time.time() + 1) >= 1
    assert everything(store) == [] and pending_uploads(store) == []


def test_put_delete_and_missing_keys(store: Any, tmp_path: Path) -> None:
    png = tmp_path / "t.png"
    png.write_bytes(b"\x89PNG fake")
    key = thumbnail_key("ab" * 32)
    store.put_file(png, key)
    assert png.exists() and b"".join(store.read(key)) == b"\x89PNG fake"
    store.delete(key)
    assert store.size(key) is None and not store.exists(key)
    with pytest.raises(FileNotFoundError):
        b"".join(store.read(key))
    with pytest.raises(FileNotFoundError), store.local_copy(key):
        pass
    store.check()


def test_a_bucket_that_does_not_exist_fails_the_check(s3_server: Any, tmp_path: Path) -> None:
    from repo.app import open_file_store
    from repo.config import Settings

    store = open_file_store(Settings(data_dir=tmp_path, **s3_settings(s3_server, "no-such-bucket")))
    with pytest.raises(Exception, match="404|Not ?Found|NoSuchBucket"):
        store.check()


# -- the application on object storage ------------------------------------------------------------


@pytest.fixture
def settings(settings: Any, s3_server: Any, s3_bucket: str) -> Any:
    return type(settings)(**{**settings.model_dump(), **s3_settings(s3_server, s3_bucket)})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the database does not matter here
def test_files_live_in_the_bucket_end_to_end(client: Any, auth: Any, make_work: Any, settings: Any,
                                             s3_server: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    work = make_work(status="published")
    pdf = text_pdf(["Capítulo uno", "Capítulo dos"])
    response = client.put(f"/api/works/{work}/files/libro.pdf", content=pdf, headers=auth.editor_a)
    assert response.status_code == 201, response.text
    record = client.get(f"/api/works/{work}/files/libro.pdf", headers=auth.editor_a).json()
    assert (record["text_state"], record["has_thumbnail"]) == ("done", True)  # extracted from the bucket
    sha = hashlib.sha256(pdf).hexdigest()
    objects = {o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_bucket).get("Contents", [])}
    assert objects == {f"repo/{blob_key(sha)}", f"repo/{thumbnail_key(sha)}"}
    assert not (settings.data_dir / "files" / "sha256").exists()  # nothing on the local disk
    assert client.get(f"/works/{work}/files/libro.pdf").content == pdf
    ranged = client.get(f"/works/{work}/files/libro.pdf", headers={"Range": "bytes=5-14,-4"})
    assert ranged.status_code == 206 and pdf[5:15] in ranged.content and pdf[-4:] in ranged.content
    thumb = client.get(f"/works/{work}/files/libro.pdf/thumbnail")
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
    big = ("línea de texto\n" * 700_000).encode()  # ~11 MiB, a multipart form streamed to S3
    form = client.post(f"/api/works/{work}/files", files={"file": ("notas.txt", big, "text/plain")},
                       headers=auth.editor_a)
    assert form.status_code == 201, form.text
    assert client.get(f"/works/{work}/files/notas.txt").content == big

    for key, value in {"REPO_DATA_DIR": str(settings.data_dir), "REPO_DATABASE_URL": settings.database_url,
                       **{f"REPO_{k.upper()}": v for k, v in s3_settings(s3_server, s3_bucket).items()}}.items():
        monkeypatch.setenv(key, value)
    from repo.cli import app as cli

    runner = CliRunner()
    clean = runner.invoke(cli, ["files", "verify"], catch_exceptions=False)
    assert clean.exit_code == 0 and "2 stored file(s) checked: 0 mismatched, 0 missing" in clean.output, clean.output
    s3 = s3_server.client()
    s3.put_object(Bucket=s3_bucket, Key=f"repo/{blob_key(sha)}", Body=pdf[:-1] + b"X")  # bit rot
    s3.delete_object(Bucket=s3_bucket, Key=f"repo/{blob_key(hashlib.sha256(big).hexdigest())}")
    broken = runner.invoke(cli, ["files", "verify"], catch_exceptions=False)
    assert broken.exit_code == 1 and "1 mismatched, 1 missing" in broken.output, broken.output
    assert f"mismatch {sha}" in broken.output

    assert client.delete(f"/api/works/{work}/files/libro.pdf", headers=auth.editor_a).status_code == 204
    gc = runner.invoke(cli, ["files", "gc", "--grace-hours", "0"], catch_exceptions=False)
    assert "Removed 2" in gc.output, gc.output  # the PDF and its thumbnail
    assert s3.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0
