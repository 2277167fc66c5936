"""Thumbnails of pictures: derived by extraction (Pillow, in the child process), stored through the
file store port (local directory and S3), shown in lists, guarded like the picture itself; bombs
and broken pictures are contained and recorded."""

from __future__ import annotations

import hashlib
import io
import os
import random
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import html
from PIL import Image

from file_support import assert_problem
from helpers import s3_settings
from repo.files.storage import blob_key, thumbnail_key

MiB = 1 << 20


def photograph(width: int = 1200, height: int = 900, orientation: int | None = None) -> bytes:
    """A JPEG of random noise (incompressible: over 1 MiB at this size), with an EXIF orientation."""
    noise = Image.frombytes("RGB", (width, height), random.Random(width).randbytes(width * height * 3))
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    noise.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def encoded(image: Image.Image, kind: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def thumbnail_of(client: TestClient, work: int, name: str, headers: dict[str, str] | None = None) -> Image.Image:
    response = client.get(f"/works/{work}/files/{name}/thumbnail", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["content-disposition"].startswith("inline") and ".thumbnail.webp" in response.headers["content-disposition"]
    picture = Image.open(io.BytesIO(response.content))
    assert picture.format == "WEBP"
    return picture


def put(client: TestClient, auth: Any, work: int, name: str, data: bytes) -> dict[str, Any]:
    response = client.put(f"/api/works/{work}/files/{name}", content=data, headers=auth.editor_a)
    assert response.status_code == 201, response.text
    # The upload's response waits for the extraction it woke (files.extract settles): no timing.
    record: dict[str, Any] = client.get(f"/api/works/{work}/files/{name}", headers=auth.editor_a).json()
    return record


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the database plays no part here
def test_pictures_get_a_small_webp_thumbnail(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work(status="published")
    big = photograph(1200, 900, orientation=6)  # taken sideways: shown turned a quarter
    assert len(big) > MiB
    record = put(client, auth, work, "foto.jpg", big)
    assert (record["text_state"], record["has_thumbnail"], record["text_error"]) == ("skipped", True, None), record
    assert record["links"]["thumbnail"] and not record["links"]["text"]  # a picture has no text
    small = thumbnail_of(client, work, "foto.jpg")
    assert small.size == (300, 400)  # 1200×900 turned by EXIF 6, fitted in 400 px
    size = len(client.get(f"/works/{work}/files/foto.jpg/thumbnail").content)
    assert size < len(big) // 20, size
    assert client.get(f"/works/{work}/files/foto.jpg").content == big  # the original is untouched

    gradient = Image.linear_gradient("L").resize((600, 200))
    alpha = Image.new("L", (600, 200), 0)
    alpha.paste(255, (0, 0, 300, 200))
    others = {
        # transparency kept (half of it is see-through)
        "logo.png": (encoded(Image.merge("RGBA", (gradient, gradient, gradient, alpha)), "PNG"), (400, 133)),
        # a palette GIF, its first frame
        "mapa.gif": (encoded(Image.new("P", (90, 60), 3), "GIF"), (90, 60)),  # never enlarged
        # a 16-bit greyscale scan
        "escaneo.tif": (encoded(Image.new("I;16", (800, 1000), 40000), "TIFF"), (320, 400)),
    }
    for name, (data, expected) in others.items():
        record = put(client, auth, work, name, data)
        assert (record["text_state"], record["has_thumbnail"]) == ("skipped", True), (name, record)
        assert thumbnail_of(client, work, name).size == expected, name
    logo = thumbnail_of(client, work, "logo.png")
    assert logo.mode == "RGBA" and logo.getpixel((390, 60))[3] == 0 and logo.getpixel((10, 60))[3] == 255
    assert thumbnail_of(client, work, "escaneo.tif").convert("L").getpixel((5, 5)) in range(150, 160)  # 40000/256

    # The TIFF (no browser shows one) is shown on its landing page by its derived picture; the list
    # shows the work's first picture by name through its thumbnail, never the 1 MiB original.
    page = html.fromstring(client.get(f"/works/{work}").content)
    assert f"/works/{work}/files/escaneo.tif/thumbnail" in " ".join(page.xpath("//img[@class='picture']/@src"))
    assert page.xpath("//img[@class='picture'][contains(@src, 'foto.jpg')]/@src")[0].endswith("/files/foto.jpg")
    home = html.fromstring(client.get("/").content)
    thumbs = home.xpath("//img[@class='list-thumb']/@src")
    assert any(src.endswith(f"/works/{work}/files/escaneo.tif/thumbnail") for src in thumbs), thumbs


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bombs_and_broken_pictures_are_contained_and_recorded(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work(status="published")
    bomb = encoded(Image.new("1", (20_000, 20_000)), "PNG")  # 400 megapixels in ~50 KB
    assert len(bomb) < 100_000
    truncated = encoded(Image.new("RGB", (500, 500), "red"), "PNG")[:300]
    zero_size = bytearray(encoded(Image.new("RGB", (10, 10)), "PNG"))
    zero_size[16:24] = b"\x00" * 8  # IHDR width and height 0 (the CRC no longer matches either)
    for name, data in {"bomba.png": bomb, "cortada.png": truncated, "vacia.png": bytes(zero_size)}.items():
        record = put(client, auth, work, name, data)
        assert (record["text_state"], record["has_thumbnail"]) == ("failed", False), (name, record)
        assert record["text_error"], record
        assert_problem(client.get(f"/works/{work}/files/{name}/thumbnail"), 404)
        assert client.get(f"/works/{work}/files/{name}").content == data  # the bytes still serve
    bomb_record = client.get(f"/api/works/{work}/files/bomba.png", headers=auth.editor_a).json()
    assert "decompression bomb" in bomb_record["text_error"], bomb_record
    # pages that list or show the work render without a thumbnail of them, and without an <img> of them
    landing = client.get(f"/works/{work}")
    assert landing.status_code == 200 and "bomba.png" in landing.text
    assert html.fromstring(landing.content).xpath("//img/@src") == []
    assert f"/works/{work}/files/bomba.png" not in client.get("/").text
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_thumbnail_reveals_no_more_than_its_picture(client: TestClient, auth: Any, make_work: Any) -> None:
    """Embargoed or restricted pictures: their thumbnail answers like the picture (403 to the
    public, 200 to the centre's editor) and no page links to it."""
    open_work = make_work(status="published")
    embargoed_file = make_work(status="published")
    restricted_work = make_work(status="published", access_right="restricted")
    big = photograph(1100, 1000)
    cases = [(open_work, "abierta.jpg", None), (embargoed_file, "embargada.jpg", "access_right=embargoed&embargo_end=2999-01-01"),
             (restricted_work, "restringida.jpg", None)]
    for work, name, query in cases:
        url = f"/api/works/{work}/files/{name}" + (f"?{query}" if query else "")
        assert client.put(url, content=big, headers=auth.editor_a).status_code == 201
        record = client.get(f"/api/works/{work}/files/{name}", headers=auth.editor_a).json()
        assert record["has_thumbnail"], record
    pages = [client.get(path).text for path in ("/", "/search", *(f"/works/{w}" for w, _, _ in cases))]
    for work, name, _ in cases[1:]:
        assert client.get(f"/works/{work}/files/{name}/thumbnail").status_code == 403
        assert client.get(f"/works/{work}/files/{name}").status_code == 403
        assert thumbnail_of(client, work, name, auth.editor_a).size == (400, 364)  # its editor sees it
        assert not any(f"/works/{work}/files/{name}" in page for page in pages), name
    assert any(f"/works/{open_work}/files/abierta.jpg/thumbnail" in page for page in pages)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_thumbnails_of_pictures_live_in_the_bucket(s3_server: Any, s3_bucket: str, settings: Any, tmp_path: Any) -> None:
    from repo.app import open_file_store
    from repo.files import extraction

    store = open_file_store(type(settings)(**{**settings.model_dump(), **s3_settings(s3_server, s3_bucket)}))
    data = photograph(1000, 500)
    sha = hashlib.sha256(data).hexdigest()
    source = tmp_path / "foto.jpg"
    source.write_bytes(data)
    store.put_file(source, blob_key(sha))
    outcome = extraction.extract(store, sha, "image/jpeg")
    assert (outcome.state, outcome.thumbnail, outcome.error) == ("skipped", True, None)
    keys = {o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_bucket).get("Contents", [])}
    assert keys == {f"repo/{blob_key(sha)}", f"repo/{thumbnail_key(sha)}"}
    stored = Image.open(io.BytesIO(b"".join(store.read(thumbnail_key(sha)))))
    assert (stored.format, stored.size) == ("WEBP", (400, 200))
    assert not any(name.startswith("thumb-") for name in os.listdir(store.scratch()))  # nothing left behind


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pictures_stored_before_1503_are_queued_for_their_thumbnail(app: Any, client: TestClient, auth: Any,
                                                                     make_work: Any, database: Any,
                                                                     database_url: str) -> None:
    """Migration 1503 sets pictures that extraction skipped back to pending; the worker's next
    cycle makes their thumbnails (the job paused and run by hand here: no timing)."""
    import sqlalchemy as sa
    from alembic import command

    from repo.db import alembic_config, upgrade
    from repo.files.models import File

    work = make_work(status="published")
    put(client, auth, work, "foto.jpg", photograph(800, 600))
    put(client, auth, work, "notas.txt", "texto".encode())
    app.state.worker.pause("files.extract")
    with database.session() as session:  # as a picture stood before this revision
        session.execute(sa.update(File).where(File.name == "foto.jpg").values(text_state="skipped", has_thumbnail=False))
    database.engine.dispose()
    command.downgrade(alembic_config(database_url), "1601")
    upgrade(database_url)
    with database.session() as session:
        states = dict(session.execute(sa.select(File.name, File.text_state)).all())
    assert states == {"foto.jpg": "pending", "notas.txt": "done"}
    pictures = "//img[@class='picture']/@src"
    assert html.fromstring(client.get(f"/works/{work}").content).xpath(pictures) == []  # not read yet: no <img>
    from repo.files.jobs import extract_next

    assert extract_next(app.state.worker.resources) == 1  # the job's own function, in this thread
    assert extract_next(app.state.worker.resources) == 0
    record = client.get(f"/api/works/{work}/files/foto.jpg", headers=auth.editor_a).json()
    assert (record["text_state"], record["has_thumbnail"]) == ("skipped", True)
    assert thumbnail_of(client, work, "foto.jpg").size == (400, 300)
    assert html.fromstring(client.get(f"/works/{work}").content).xpath(pictures) == [
        f"http://testserver/works/{work}/files/foto.jpg"]
