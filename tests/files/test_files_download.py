"""Downloads: Range (single, suffix, several, past the end), conditional requests, safe headers."""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from file_samples import ACCEPTED
from file_support import assert_problem

DATA = bytes(range(256)) * 40  # 10 240 bytes, every offset distinguishable by position
SIZE = len(DATA)


@pytest.fixture
def audio(client: TestClient, auth: Any, make_work: Any) -> str:
    """The public URL of an open MP3 of SIZE bytes on a published work."""
    work = make_work(status="published")
    data = b"\xff\xfb\x90\x64" + DATA[4:]
    response = client.put(f"/api/works/{work}/files/grabación.mp3", content=data, headers=auth.editor_a)
    assert response.status_code == 201, response.text
    return f"/works/{work}/files/{quote('grabación.mp3')}"


def body(client: TestClient, url: str) -> bytes:
    return client.get(url).content


def test_whole_file_headers(client: TestClient, audio: str) -> None:
    response = client.get(audio)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"] == "audio/mpeg"
    # RFC 6266: an ASCII fallback and the exact UTF-8 name.
    assert response.headers["content-disposition"] == (
        "inline; filename=\"grabaci_n.mp3\"; filename*=UTF-8''grabaci%C3%B3n.mp3")
    assert response.headers["cache-control"] == "public, no-cache"


def test_single_ranges(client: TestClient, audio: str) -> None:
    whole = body(client, audio)
    cases = {
        "bytes=0-0": (0, 1), "bytes=100-199": (100, 200), "bytes=10000-": (10000, SIZE),
        "bytes=-100": (SIZE - 100, SIZE), "bytes=-999999": (0, SIZE),  # suffix longer than the file
        "bytes=10200-999999": (10200, SIZE),  # last-pos past the end is clipped
        f"bytes={SIZE - 1}-{SIZE - 1}": (SIZE - 1, SIZE),
    }
    for header, (start, end) in cases.items():
        response = client.get(audio, headers={"Range": header})
        assert response.status_code == 206, header
        assert response.content == whole[start:end], header
        assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}", header
        assert response.headers["content-length"] == str(end - start)


def test_several_ranges_as_multipart_byteranges(client: TestClient, audio: str) -> None:
    whole = body(client, audio)
    response = client.get(audio, headers={"Range": "bytes=0-9, 500-509, -10"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert response.headers["content-length"] == str(len(response.content))
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + response.headers["content-type"].encode() + b"\r\n\r\n" + response.content)
    parts = list(message.iter_parts())
    assert [p["Content-Range"] for p in parts] == [f"bytes 0-9/{SIZE}", f"bytes 500-509/{SIZE}",
                                                   f"bytes {SIZE - 10}-{SIZE - 1}/{SIZE}"]
    assert [p.get_payload(decode=True) for p in parts] == [whole[0:10], whole[500:510], whole[-10:]]
    assert all(p["Content-Type"] == "audio/mpeg" for p in parts)
    # Overlapping and adjacent ranges are coalesced into one.
    merged = client.get(audio, headers={"Range": "bytes=0-99,50-149,150-199"})
    assert merged.status_code == 206 and merged.content == whole[:200]
    assert merged.headers["content-range"] == f"bytes 0-199/{SIZE}"


def test_unsatisfiable_and_invalid_ranges(client: TestClient, audio: str) -> None:
    for header in (f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"):
        response = client.get(audio, headers={"Range": header})
        assert_problem(response, 416)
        assert response.headers["content-range"] == f"bytes */{SIZE}"
    # One satisfiable range among unsatisfiable ones is served.
    response = client.get(audio, headers={"Range": f"bytes={SIZE + 5}-,0-3"})
    assert response.status_code == 206 and response.headers["content-range"] == f"bytes 0-3/{SIZE}"
    # Syntactically invalid ranges are ignored (RFC 9110 §14.2): the whole file, 200.
    for header in ("bytes=5-3", "bytes=abc", "items=0-5", "bytes=", "bytes=1-2,x", "bytes=" + ",".join(["0-1"] * 100)):
        response = client.get(audio, headers={"Range": header})
        assert response.status_code == 200, header
        assert len(response.content) == SIZE


def test_if_range_and_conditional_requests(client: TestClient, audio: str) -> None:
    etag = client.head(audio).headers["etag"]
    assert client.get(audio, headers={"Range": "bytes=0-1", "If-Range": etag}).status_code == 206
    assert client.get(audio, headers={"Range": "bytes=0-1", "If-Range": '"other"'}).status_code == 200
    not_modified = client.get(audio, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert client.get(audio, headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
    assert client.get(audio, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_head_sends_headers_only(client: TestClient, audio: str) -> None:
    response = client.head(audio)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(SIZE)
    ranged = client.head(audio, headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.headers["content-length"] == "10"


def test_text_is_an_attachment_with_charset_and_nothing_renders_as_markup(client: TestClient, auth: Any,
                                                                        make_work: Any) -> None:
    work = make_work(status="published")
    for kind in ("text", "epub", "png", "mp4"):
        name, data, media_type = ACCEPTED[kind]
        assert client.put(f"/api/works/{work}/files/{name}", content=data, headers=auth.editor_a).status_code == 201
        response = client.get(f"/works/{work}/files/{name}")
        assert response.headers["x-content-type-options"] == "nosniff"
        content_type = response.headers["content-type"]
        assert not any(t in content_type for t in ("html", "xml", "svg")), content_type
        disposition = response.headers["content-disposition"]
        if kind in ("text", "epub"):
            assert disposition.startswith("attachment;"), disposition
        if kind == "text":
            assert content_type == "text/plain; charset=utf-8"


def test_unknown_file_and_work(client: TestClient, audio: str) -> None:
    work = audio.split("/")[2]
    assert_problem(client.get(f"/works/{work}/files/nada.pdf"), 404)
    assert_problem(client.get("/works/987654/files/nada.pdf"), 404)
    assert_problem(client.get(f"/works/{work}/files/{quote('grabación.mp3')}/thumbnail"), 404)
    assert_problem(client.get(f"/works/{work}/files/{quote('grabación.mp3')}/text"), 404)


def test_extracted_text_and_thumbnail(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work(status="published")
    name, data, _ = ACCEPTED["pdf"]
    assert client.put(f"/api/works/{work}/files/{name}", content=data, headers=auth.editor_a).status_code == 201
    text = client.get(f"/works/{work}/files/{name}/text")
    assert text.status_code == 200 and text.text == "Texto de prueba"
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert client.get(f"/works/{work}/files/{name}/text", headers={"If-None-Match": text.headers["etag"]}).status_code == 304
    thumbnail = client.get(f"/works/{work}/files/{name}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert thumbnail.headers["content-type"] == "image/png"
    assert thumbnail.headers["x-content-type-options"] == "nosniff"
    record = client.get(f"/api/works/{work}/files/{name}").json()
    assert record["links"]["thumbnail"].endswith(f"/works/{work}/files/{name}/thumbnail")
    assert record["links"]["text"].endswith(f"/works/{work}/files/{name}/text")
