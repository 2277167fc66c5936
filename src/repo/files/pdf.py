"""A minimal PDF writer: pages of plain text in Helvetica (the demo's files, the tests' samples).

Every PDF is built object by object with a correct cross-reference table (ISO 32000-1 §7.5), so
it opens in any reader and its text extracts like a real document's. Text is WinAnsi (cp1252),
which covers Spanish, Portuguese and French; anything else becomes ``?``.
"""

from __future__ import annotations

import textwrap

LINES_PER_PAGE = 46
COLUMNS = 84


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def assemble(objects: list[bytes], *, root: int = 1, trailer_extra: bytes = b"", xref_override: bytes | None = None) -> bytes:
    """A PDF from numbered object bodies (object i+1 is ``objects[i]``), xref and trailer."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    if xref_override is not None:
        out += xref_override
    else:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        for offset in offsets:
            out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, root, trailer_extra, xref_at)
    return bytes(out)


def text_pdf(pages: list[str]) -> bytes:
    """A PDF with one page per string; a page's lines are its ``\\n``-separated lines."""
    count = len(pages)
    # 1 catalog, 2 pages, 3 font, then (page, content) pairs.
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, text in enumerate(pages):
        shown = b" T* ".join(b"(" + _escape(line).encode("cp1252", errors="replace") + b") Tj"
                             for line in text.split("\n"))
        stream = b"BT /F1 12 Tf 15 TL 72 720 Td " + shown + b" ET"
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return assemble(objects)


def document(title: str, byline: str, paragraphs: list[str]) -> bytes:
    """A small article: the title and byline, then the paragraphs wrapped and paged."""
    lines = [*textwrap.wrap(title, COLUMNS), byline, ""]
    for paragraph in paragraphs:
        lines += [*textwrap.wrap(paragraph, COLUMNS), ""]
    pages = ["\n".join(lines[i:i + LINES_PER_PAGE]) for i in range(0, len(lines), LINES_PER_PAGE)]
    return text_pdf(pages)
