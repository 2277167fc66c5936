"""The extraction child process: limits itself, then reads one PDF with pypdfium2.

Run as ``python -I _extract_child.py SOURCE THUMBNAIL MAX_CHARS MEMORY_BYTES CPU_SECONDS``.
It sets its own resource limits *before* importing pdfium (so the parent needs no
``preexec_fn``, which is unsafe in a threaded server), writes the text to stdout (pages separated
by form feeds, at most MAX_CHARS characters) and the first page, rendered small, to THUMBNAIL as
a PNG. Exit status 0 on success; otherwise the reason is the last line of stderr.
"""

from __future__ import annotations

import resource
import struct
import sys
import zlib

THUMBNAIL_WIDTH = 320
THUMBNAIL_MAX_HEIGHT = 640


def limit(memory_bytes: int, cpu_seconds: int) -> None:
    # RLIMIT_DATA bounds the heap and private mappings (Linux ≥ 4.7) without counting the
    # address space PartitionAlloc merely reserves, which RLIMIT_AS would.
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))


def png(width: int, height: int, stride: int, pixels: bytes) -> bytes:
    """A greyscale PNG (8 bits per pixel) from rows of ``stride`` bytes."""
    rows = b"".join(b"\x00" + pixels[y * stride:y * stride + width] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def main(source: str, thumbnail: str, max_chars: int) -> None:
    import pypdfium2 as pdfium

    out = sys.stdout
    pdf = pdfium.PdfDocument(source)
    try:
        written = 0
        for index in range(len(pdf)):
            page = pdf[index]
            if index == 0:
                scale = min(THUMBNAIL_WIDTH / max(page.get_width(), 1), THUMBNAIL_MAX_HEIGHT / max(page.get_height(), 1))
                bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=False, draw_annots=False)
                with open(thumbnail, "wb") as handle:
                    handle.write(png(bitmap.width, bitmap.height, bitmap.stride, bytes(bitmap.buffer)))
                bitmap.close()
            if written < max_chars:
                textpage = page.get_textpage()
                text = textpage.get_text_range()[: max_chars - written]
                textpage.close()
                out.write(("\f" if index else "") + text)
                written += len(text)
            page.close()
    finally:
        pdf.close()
    out.flush()


if __name__ == "__main__":
    source_arg, thumbnail_arg, chars_arg, memory_arg, cpu_arg = sys.argv[1:6]
    limit(int(memory_arg), int(cpu_arg))
    sys.stdout.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    try:
        main(source_arg, thumbnail_arg, int(chars_arg))
    except MemoryError:
        print("memory limit reached", file=sys.stderr)
        sys.exit(3)
    except Exception as exc:  # noqa: BLE001 — any failure is reported to the parent, never raised
        print(f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500], file=sys.stderr)
        sys.exit(2)
