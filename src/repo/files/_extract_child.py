"""The extraction child process: limits itself, then reads one PDF (pypdfium2), EPUB (lxml) or
picture (Pillow).

Run as ``python -I _extract_child.py KIND SOURCE THUMBNAIL MAX_CHARS MEMORY_BYTES CPU_SECONDS``
(KIND ``pdf``, ``epub`` or ``image``). It sets its own resource limits *before* importing any parser
(so the parent needs no ``preexec_fn``, which is unsafe in a threaded server), writes the text to
stdout (pages or chapters separated by form feeds, at most MAX_CHARS characters) and, for a PDF, the
first page rendered small to THUMBNAIL as a PNG; for a picture, no text and a thumbnail of at most
:data:`IMAGE_THUMBNAIL` pixels a side as a WebP. Exit status 0 on success; otherwise the reason is
the last line of stderr.
"""

from __future__ import annotations

import resource
import struct
import sys
import zlib

THUMBNAIL_WIDTH = 320
THUMBNAIL_MAX_HEIGHT = 640
#: A picture's thumbnail fits a square of this many pixels (lists show it at 56×72 CSS pixels, the
#: landing page's file list at 64: room for screens of three device pixels per CSS pixel and more).
IMAGE_THUMBNAIL = 400
#: Pictures of more pixels than this are refused before decoding (a decompression bomb: a small file
#: that claims a huge canvas). 100 megapixels covers the largest cameras' photographs and A3 scans at
#: 600 dpi; decoded as RGBA it stays well inside the memory limit.
IMAGE_MAX_PIXELS = 100_000_000
#: The formats Pillow may open here: those the upload accepts as pictures (never its other parsers).
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF")


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


MAX_MEMBER = 64 << 20  # an EPUB part larger than this once decompressed is a zip bomb


def pdf_text(source: str, thumbnail: str, max_chars: int) -> None:
    import pypdfium2 as pdfium

    out = sys.stdout
    pdf = pdfium.PdfDocument(source)
    try:
        written = 0
        for index in range(len(pdf)):
            if index and written >= max_chars:
                break
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


def image_thumbnail(source: str, thumbnail: str) -> None:
    """A small WebP of the picture: its first frame, turned as its EXIF orientation says, colours
    kept (transparency too), at most :data:`IMAGE_THUMBNAIL` pixels a side. JPEGs are decoded at a
    reduced scale (libjpeg's draft mode), so a 40-megapixel photograph costs a few megabytes."""
    import warnings

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = IMAGE_MAX_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)  # refuse past the limit, not warn
    with Image.open(source, formats=IMAGE_FORMATS) as picture:
        try:
            orientation = int(picture.getexif().get(0x0112, 1))
        except Exception:  # noqa: BLE001 — a damaged EXIF block leaves the picture as stored
            orientation = 1
        image: Image.Image = picture
        if image.mode == "P":  # palettes (GIF, PNG-8) resize badly: to colours first
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif image.mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
            image = image.convert("L" if image.mode == "1" else "RGB")
        image.thumbnail((IMAGE_THUMBNAIL, IMAGE_THUMBNAIL), Image.Resampling.LANCZOS)
        if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16-bit or float greyscale
            image = image.convert("I").point(lambda value: value / 256).convert("L")
        elif image.mode == "PA":
            image = image.convert("RGBA")
        elif image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGB")
        turn = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
                5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_90}.get(orientation)
        if turn is not None:
            image = image.transpose(turn)
        image.save(thumbnail, "WEBP", quality=80, method=4)


def epub_text(source: str, max_chars: int) -> None:
    """The spine's documents in reading order, as text. XML is parsed without DTDs, entities or
    network; every part is read with a cap, so a zip bomb fails instead of filling memory."""
    import posixpath
    import zipfile
    from urllib.parse import unquote

    from lxml import etree

    safe = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    # XHTML parts often use HTML entities (&nbsp;) without a DTD: recover, but never resolve.
    lenient = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                              recover=True)
    opf_ns = {"opf": "http://www.idpf.org/2007/opf"}
    out = sys.stdout
    with zipfile.ZipFile(source) as archive:

        def read(name: str) -> bytes:
            with archive.open(name) as member:
                data = member.read(MAX_MEMBER + 1)
            if len(data) > MAX_MEMBER:
                raise ValueError(f"{name} is larger than {MAX_MEMBER} bytes once decompressed")
            return data

        container = etree.fromstring(read("META-INF/container.xml"), safe)
        rootfile = container.find(".//{urn:oasis:names:tc:opendocument:xmlns:container}rootfile")
        if rootfile is None or not rootfile.get("full-path"):
            raise ValueError("META-INF/container.xml names no package document")
        package_path = rootfile.get("full-path")
        package = etree.fromstring(read(package_path), safe)
        manifest = {item.get("id"): item.get("href") for item in package.iterfind(".//opf:manifest/opf:item", opf_ns)}
        base = posixpath.dirname(package_path)
        written = 0
        for index, itemref in enumerate(package.iterfind(".//opf:spine/opf:itemref", opf_ns)):
            href = manifest.get(itemref.get("idref"))
            if not href or written >= max_chars:
                continue
            try:
                data = read(posixpath.normpath(posixpath.join(base, unquote(href))))
            except KeyError:
                continue  # a spine entry without its file: skip it, keep the rest
            try:
                document = etree.fromstring(data, lenient)
            except etree.XMLSyntaxError:
                continue  # not even recoverable XML: skip the part, keep the rest
            if document is None:
                continue
            body = next(document.iter("{http://www.w3.org/1999/xhtml}body", "body"), document)
            text = "\n".join(line for line in (" ".join(p.split()) for p in _texts(body)) if line)
            text = text[: max_chars - written]
            out.write(("\f" if written else "") + text)
            written += len(text)
    out.flush()


_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "br", "tr", "blockquote", "section", "pre"}
_SKIP = {"script", "style", "head"}


def _texts(root: object) -> list[str]:
    """Text of an XHTML tree, one string per block; entity references (never resolved), comments,
    scripts and styles contribute nothing."""
    parts = [""]

    def walk(node: object) -> None:
        tag = getattr(node, "tag", None)
        if isinstance(tag, str):
            name = tag.rpartition("}")[2]
            if name in _SKIP:
                return
            if name in _BLOCKS:
                parts.append("")
            parts[-1] += getattr(node, "text", None) or ""
            for child in node:  # type: ignore[attr-defined]
                walk(child)
                parts[-1] += getattr(child, "tail", None) or ""
            if name in _BLOCKS:
                parts.append("")

    walk(root)
    return parts


if __name__ == "__main__":
    kind_arg, source_arg, thumbnail_arg, chars_arg, memory_arg, cpu_arg = sys.argv[1:7]
    limit(int(memory_arg), int(cpu_arg))
    sys.stdout.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    try:
        if kind_arg == "epub":
            epub_text(source_arg, int(chars_arg))
        elif kind_arg == "image":
            image_thumbnail(source_arg, thumbnail_arg)
        else:
            pdf_text(source_arg, thumbnail_arg, int(chars_arg))
    except MemoryError:
        print("memory limit reached", file=sys.stderr)
        sys.exit(3)
    except Exception as exc:  # noqa: BLE001 — any failure is reported to the parent, never raised
        print(f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500], file=sys.stderr)
        sys.exit(2)
