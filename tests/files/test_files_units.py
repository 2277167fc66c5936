"""Sniffing, storage and name rules on their own (no HTTP)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from file_samples import ACCEPTED, REFUSED

from repo.errors import PayloadTooLarge, Unprocessable
from repo.files.service import clean_name
from repo.files.sniff import HEAD_BYTES, expected_for_name, normalise_declared, sniff
from repo.files.local import LocalStore as Storage
from repo.files.storage import blob_key, hash_file


@pytest.mark.parametrize("kind", sorted(ACCEPTED))
def test_sniff_recognises_every_accepted_kind(kind: str) -> None:
    name, data, media_type = ACCEPTED[kind]
    assert sniff(data[:HEAD_BYTES], data[-1024:], len(data)).media_type == media_type
    assert expected_for_name(name) == media_type


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_sniff_and_names_refuse_impostors(case: str) -> None:
    name, data = REFUSED[case]
    verdict = sniff(data[:HEAD_BYTES], data[-1024:], len(data))
    assert verdict.media_type != expected_for_name(name), case
    if verdict.media_type is None:
        assert verdict.reason


def test_text_cut_inside_a_character_is_still_text() -> None:
    text = ("ação " * 20_000).encode()  # longer than the head; the head may end mid-character
    head = text[:HEAD_BYTES]
    assert head[-1:] != b" "
    assert sniff(head, text[-1024:], len(text)).media_type == "text/plain"
    # A whole file ending in half a character is not UTF-8 text.
    assert sniff(b"caf\xc3", b"", 4).media_type is None


def test_declared_types() -> None:
    assert normalise_declared("application/octet-stream") is None
    assert normalise_declared(None) is None
    assert normalise_declared("audio/x-wav; codecs=1") == "audio/wav"
    assert normalise_declared("Application/PDF") == "application/pdf"


@pytest.mark.parametrize("raw, clean", [
    ("Cafe\u0301.pdf", "Café.pdf"),  # NFD in, NFC out
    ("Informe final (2024).PDF", "Informe final (2024).PDF"),
    ("文献.txt", "文献.txt"),
])
def test_names_are_normalised(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


@pytest.mark.parametrize("raw", ["../a.txt", "a/b.txt", "a\x00.txt", "a\x1f.txt", "\u202etxt.exe", "", " a.txt",
                                 ".a.txt", "..", "x" * 252 + ".txt", "a.html", "a.svg", "a.xml", "a"])
def test_bad_names_are_refused(raw: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        clean_name(raw)
    assert caught.value.errors[0]["field"] == "name"


def test_name_of_exactly_255_bytes_is_accepted() -> None:
    name = "é" * 125 + "a.txt"  # 250 + 5 bytes
    assert len(name.encode()) == 255
    assert clean_name(name) == name


def test_writer_commits_atomically_and_cleans_up(tmp_path: Path) -> None:
    storage = Storage(tmp_path)
    data = b"0123456789" * 1000
    with storage.writer(limit=len(data)) as writer:
        writer.write(data[:5000])
        writer.write(data[5000:])
        blob = writer.finish()
        assert not storage.exists(blob_key(blob.sha256))  # nothing at the address before commit
        writer.commit()
    assert blob.sha256 == hashlib.sha256(data).hexdigest() and blob.md5 == hashlib.md5(data).hexdigest()
    assert storage.path(blob.sha256).read_bytes() == data
    assert hash_file(storage.path(blob.sha256)) == (blob.sha256, blob.md5, len(data))
    assert list(storage.tmp.iterdir()) == []


def test_writer_over_the_limit_or_abandoned_leaves_nothing(tmp_path: Path) -> None:
    storage = Storage(tmp_path)
    with pytest.raises(PayloadTooLarge), storage.writer(limit=10) as writer:
        writer.write(b"12345")
        writer.write(b"678901")
    with pytest.raises(RuntimeError), storage.writer(limit=10) as writer:
        writer.write(b"12345")
        raise RuntimeError("client went away")
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []
