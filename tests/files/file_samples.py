"""Minimal real files of every accepted kind (their headers as the formats define them), and impostors."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from file_pdfs import text_pdf


def epub() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # OCF: "mimetype" first and stored, then the rest compressed.
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", "<container/>", compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "x")
    return buffer.getvalue()


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413
WAV = b"RIFF" + struct.pack("<I", 36 + 8) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8) + b"data" + struct.pack("<I", 8) + b"\x80" * 8
OGG_PAGE = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e"
WEBM = (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
        b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02" + b"\x00" * 64)
MKV = WEBM.replace(b"\x42\x82\x84webm", b"\x42\x82\x88matroska")

# name → (file name, bytes, media type the server must find)
ACCEPTED: dict[str, tuple[str, bytes, str]] = {
    "pdf": ("a.pdf", text_pdf(["Texto de prueba"]), "application/pdf"),
    "epub": ("a.epub", epub(), "application/epub+zip"),
    "text": ("a.txt", "Texto plano en español: ñandú, ação, Œuvre.\n".encode(), "text/plain"),
    "mp3": ("a.mp3", MP3_FRAME * 3, "audio/mpeg"),
    "mp3-id3": ("b.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10 + MP3_FRAME, "audio/mpeg"),
    "ogg": ("a.ogg", OGG_PAGE + b"\x01vorbis" + b"\x00" * 40, "audio/ogg"),
    "ogv": ("a.ogv", OGG_PAGE + b"\x80theora" + b"\x00" * 40, "video/ogg"),
    "flac": ("a.flac", b"fLaC\x00\x00\x00\x22" + b"\x00" * 34, "audio/flac"),
    "wav": ("a.wav", WAV, "audio/wav"),
    "m4a": ("a.m4a", b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 32, "audio/mp4"),
    "mp4": ("a.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 32, "video/mp4"),
    "webm": ("a.webm", WEBM, "video/webm"),
    "jpeg": ("a.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 32 + b"\xff\xd9", "image/jpeg"),
    "png": ("a.png", png(), "image/png"),
    "gif": ("a.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"),
    "webp": ("a.webp", b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00", "image/webp"),
    "tiff": ("a.tif", b"II*\x00\x08\x00\x00\x00" + b"\x00" * 16, "image/tiff"),
}

# name → (file name, bytes): refused whatever they are called
REFUSED: dict[str, tuple[str, bytes]] = {
    "html-as-pdf": ("paper.pdf", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"),
    "html-as-txt": ("notes.txt", b"<html><script>alert(document.cookie)</script></html>"),
    "svg-as-txt": ("figure.txt", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    "zip-as-epub": ("book.epub", plain_zip()),
    "matroska-as-webm": ("film.webm", MKV),
    "elf-as-txt": ("run.txt", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56),
    "latin1-as-txt": ("old.txt", "caf\xe9 cr\xe8me".encode("latin-1")),
    "png-as-jpg": ("photo.jpg", png()),
    "pdf-as-mp3": ("song.mp3", text_pdf(["not audio"])),
}


def epub_book(chapters: list[str], *, entity_path: str | None = None, bomb_bytes: int = 0) -> bytes:
    """An EPUB 3 with one XHTML document per chapter (in spine order). ``entity_path`` adds an
    external entity to the first chapter; ``bomb_bytes`` adds a chapter of that many zeros,
    deflated (a zip bomb)."""
    buffer = io.BytesIO()
    items = "".join(f'<item id="c{i}" href="text/c{i}.xhtml" media-type="application/xhtml+xml"/>'
                    for i in range(len(chapters) + (1 if bomb_bytes else 0)))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters) + (1 if bomb_bytes else 0)))
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", (
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>"), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("OEBPS/content.opf", (
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
            f"<manifest>{items}</manifest><spine>{spine}</spine></package>"), compress_type=zipfile.ZIP_DEFLATED)
        for i, text in enumerate(chapters):
            doctype = (f'<!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{entity_path}">]>'
                       if entity_path and i == 0 else "<!DOCTYPE html>")
            body = f"<p>{text}</p>" + ("<p>&xxe;</p>" if entity_path and i == 0 else "")
            archive.writestr(f"OEBPS/text/c{i}.xhtml", (
                f'<?xml version="1.0" encoding="utf-8"?>{doctype}<html xmlns="http://www.w3.org/1999/xhtml">'
                f"<head><title>c{i}</title><style>p {{ color: red }}</style></head><body>{body}"
                "<script>var hidden = 1;</script></body></html>"), compress_type=zipfile.ZIP_DEFLATED)
        if bomb_bytes:
            with archive.open(f"OEBPS/text/c{len(chapters)}.xhtml", "w") as member:
                block = b"\0" * (1 << 20)
                for _ in range(bomb_bytes >> 20):
                    member.write(block)
    return buffer.getvalue()
