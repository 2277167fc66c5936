"""Hand-written PDFs for tests and the benchmark: well-formed ones and hostile ones.

Every PDF is built object by object with a correct cross-reference table (ISO 32000-1 §7.5),
so the well-formed ones open in any reader and the hostile ones are hostile on purpose only.
"""

from __future__ import annotations

# The well-formed writer lives in the package (the demo uses it); the hostile builders stay here.
from repo.files.pdf import assemble, text_pdf  # noqa: F401


def cyclic_prev_pdf() -> bytes:
    """Two cross-reference sections whose /Prev entries point at each other (a loop for naive readers),
    with a page tree that contains itself."""
    head = b"%PDF-1.7\n"
    body = bytearray(head)
    o1 = len(body); body += b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    # The page tree lists itself as its own kid: a cycle in the document structure too.
    o2 = len(body); body += b"2 0 obj\n<< /Type /Pages /Kids [2 0 R] /Count 1 >>\nendobj\n"
    xref_a = len(body)
    section_a = (b"xref\n0 3\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \n" % (o1, o2))
    xref_b = xref_a + len(section_a) + 80  # where the second section will start (padded below)
    trailer_a = b"trailer\n<< /Size 3 /Root 1 0 R /Prev %d >>\n" % xref_b
    body += section_a + trailer_a
    body += b" " * (xref_b - len(body))
    section_b = b"xref\n0 1\n0000000000 65535 f \n"
    body += section_b + b"trailer\n<< /Size 3 /Root 1 0 R /Prev %d >>\n" % xref_a
    body += b"startxref\n%d\n%%%%EOF\n" % xref_a
    return bytes(body)


def self_referencing_objstm_pdf() -> bytes:
    """An object stream whose /Extends is itself and whose xref stream claims objects live in it."""
    objstm_payload = b"1 0 3 40 "
    objstm_payload += b"<< /Type /Catalog /Pages 3 0 R >>".ljust(40) + b"<< /Type /ObjStm /N 2 /First 9 /Extends 4 0 R >>"
    objects = [
        b"<< /Type /Catalog /Pages 3 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 3 0 R >>",
        b"<< /Type /ObjStm /N 2 /First 9 /Extends 4 0 R /Length %d >>\nstream\n" % len(objstm_payload)
        + objstm_payload + b"\nendstream",
    ]
    return assemble(objects)


def xfa_xxe_pdf(secret_path: str) -> bytes:
    """A page plus an AcroForm whose XFA packet declares an external entity naming ``secret_path``."""
    xfa = (
        f'<?xml version="1.0"?>\n<!DOCTYPE xdp [ <!ENTITY xxe SYSTEM "file://{secret_path}"> ]>\n'
        '<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform><field name="f">'
        "<value><text>&xxe;</text></value></field></subform></template></xdp:xdp>"
    ).encode()
    stream = b"BT /F1 14 Tf 72 720 Td (A form) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R /NeedsRendering true >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Fields [] /XFA 7 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(xfa) + xfa + b"\nendstream",
    ]
    return assemble(objects)


def deep_nesting_pdf(depth: int = 200_000) -> bytes:
    """A content stream of ``depth`` nested arrays: recursion bombs for recursive-descent parsers."""
    stream = b"[" * depth + b"]" * depth
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return assemble(objects)
