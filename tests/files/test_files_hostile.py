"""Hostile uploads: each is refused or contained, nothing partial is stored, the server stays healthy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from file_pdfs import cyclic_prev_pdf, deep_nesting_pdf, self_referencing_objstm_pdf, text_pdf, xfa_xxe_pdf
from file_samples import REFUSED
from file_support import assert_problem, snapshot, stored_files

from repo.config import Settings
from repo.db import Database

LIMIT = 64 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with a small upload limit (set before the app is built)."""
    settings.upload_max_bytes = LIMIT
    return settings


def healthy(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


@pytest.fixture
def unchanged(client: TestClient, auth: Any, make_work: Any, database: Database, settings: Settings) -> Iterator[int]:
    """A draft; after the test, no row changed and no byte was left in the store (not even a temporary)."""
    work: int = make_work()
    before = snapshot(database)
    yield work
    assert snapshot(database) == before
    assert stored_files(settings) == []
    healthy(client)


def test_impostors_are_refused(client: TestClient, auth: Any, unchanged: int) -> None:
    for case, (name, data) in REFUSED.items():
        for send in ("put", "post"):
            if send == "put":
                response = client.put(f"/api/works/{unchanged}/files/{name}", content=data, headers=auth.editor_a)
            else:
                response = client.post(f"/api/works/{unchanged}/files", files={"file": (name, data, "application/pdf")},
                                       headers=auth.editor_a)
            assert response.status_code in (415, 422), (case, send, response.text)
            assert_problem(response, response.status_code)
            healthy(client)


def test_declared_type_contradicting_the_bytes_is_refused(client: TestClient, auth: Any, unchanged: int) -> None:
    pdf = text_pdf(["x"])
    response = client.put(f"/api/works/{unchanged}/files/a.pdf", content=pdf,
                          headers={**auth.editor_a, "Content-Type": "image/png"})
    assert_problem(response, 415, "header.content-type")
    response = client.post(f"/api/works/{unchanged}/files", files={"file": ("a.pdf", pdf, "text/html")},
                           headers=auth.editor_a)
    assert_problem(response, 415, "file.content-type")


def test_zero_byte_and_truncated_pdf_are_refused(client: TestClient, auth: Any, unchanged: int) -> None:
    assert_problem(client.put(f"/api/works/{unchanged}/files/empty.pdf", content=b"", headers=auth.editor_a), 422, "body")
    assert_problem(client.put(f"/api/works/{unchanged}/files/empty.txt", content=b"", headers=auth.editor_a), 422, "body")
    truncated = text_pdf(["Un libro entero"] * 20)[:700]
    body = assert_problem(client.put(f"/api/works/{unchanged}/files/cut.pdf", content=truncated, headers=auth.editor_a), 422)
    assert "truncated" in body["detail"]


@pytest.mark.parametrize("name", [
    "..%2F..%2Fetc%2Fpasswd.txt",   # path traversal, percent-encoded so the client does not resolve it
    "..%2Fa.txt",
    "a%00.txt",                     # NUL
    "a%09.txt",                     # tab (a control character)
    "%E2%80%AEtxt.exe",             # right-to-left override disguising an extension
    ".htaccess.txt",
    "a%5C..%5Cb.txt",               # backslashes
    "%C3%A9" * 300 + ".txt",        # 300 characters of two bytes each: 604 bytes > 255
    "programa.exe",
    "sin-extension",
])
def test_hostile_names_are_refused(name: str, client: TestClient, auth: Any, unchanged: int) -> None:
    response = client.put(f"/api/works/{unchanged}/files/{name}", content=b"plain text", headers=auth.editor_a)
    assert_problem(response, 422, "name")


@pytest.mark.parametrize("filename", ["../../etc/passwd.txt", "a\x00b.txt", "é" * 300 + ".txt", ""])
def test_hostile_multipart_filenames_are_refused(filename: str, client: TestClient, auth: Any, unchanged: int) -> None:
    boundary = "b0und4ry"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: text/plain\r\n\r\nplain text\r\n--{boundary}--\r\n").encode()
    response = client.post(f"/api/works/{unchanged}/files", content=body,
                           headers={**auth.editor_a, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 422, response.text
    assert_problem(response, 422)


def test_a_windows_path_in_a_multipart_filename_keeps_only_its_last_part(client: TestClient, auth: Any,
                                                                         make_work: Any) -> None:
    # python-multipart drops everything up to the last backslash (old browsers sent full paths).
    response = client.post(f"/api/works/{make_work()}/files", headers=auth.editor_a,
                           files={"file": ("C:\\Users\\x\\..\\y.txt", b"text", "text/plain")})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "y.txt"


def test_body_over_the_limit_is_refused_while_streaming(client: TestClient, auth: Any, unchanged: int) -> None:
    # Declared too large: refused before a byte is read.
    big = b"a" * (LIMIT + 1)
    assert_problem(client.put(f"/api/works/{unchanged}/files/big.txt", content=big, headers=auth.editor_a), 413)

    # Not declared (chunked): refused when the running total passes the limit.
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"a" * 4096

    assert_problem(client.put(f"/api/works/{unchanged}/files/big.txt", content=chunks(), headers=auth.editor_a), 413)
    # Multipart: the file part is limited the same way.
    assert_problem(client.post(f"/api/works/{unchanged}/files", files={"file": ("big.txt", big, "text/plain")},
                               headers=auth.editor_a), 413)


def test_body_at_the_limit_is_accepted(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work()
    ok = client.put(f"/api/works/{work}/files/fits.txt", content=b"a" * LIMIT, headers=auth.editor_a)
    assert ok.status_code == 201, ok.text
    assert ok.json()["size"] == LIMIT


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-MARKER-7f3a")
    return path


def test_hostile_pdfs_are_contained(client: TestClient, auth: Any, make_work: Any, secret: Path) -> None:
    """Parser loops, recursion bombs and XFA external entities: accepted as PDFs (their bytes are
    PDFs), extracted in the child process, and the outcome is a recorded state, never a hang."""
    work = make_work()
    cases = {
        "cyclic-prev.pdf": cyclic_prev_pdf(),
        "objstm-loop.pdf": self_referencing_objstm_pdf(),
        "deep-nesting.pdf": deep_nesting_pdf(30_000),  # fits the 64 KiB limit of this module
        "xfa-xxe.pdf": xfa_xxe_pdf(str(secret)),
    }
    for name, data in cases.items():
        response = client.put(f"/api/works/{work}/files/{name}", content=data, headers=auth.editor_a)
        assert response.status_code == 201, (name, response.text)
        record = client.get(f"/api/works/{work}/files/{name}", headers=auth.editor_a).json()
        assert record["text_state"] in ("done", "failed"), record
        if record["text_state"] == "failed":
            assert record["text_error"], record
        healthy(client)
    xfa = client.get(f"/works/{work}/files/xfa-xxe.pdf/text", headers=auth.editor_a)
    assert xfa.status_code == 200 and "A form" in xfa.text
    assert "TOP-SECRET" not in xfa.text  # the external entity was never resolved
    states = {f["name"]: f["text_state"] for f in client.get(f"/api/works/{work}/files", headers=auth.editor_a).json()["items"]}
    assert states["cyclic-prev.pdf"] == "failed" and states["objstm-loop.pdf"] == "failed"
    # A failed extraction does not block the deposit: the work still publishes, its files serve.
    assert client.post(f"/api/works/{work}/publish", headers=auth.editor_a).status_code == 200
    assert client.get(f"/works/{work}/files/cyclic-prev.pdf").content == cases["cyclic-prev.pdf"]
    assert_problem(client.get(f"/works/{work}/files/cyclic-prev.pdf/text"), 404)
