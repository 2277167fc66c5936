"""The media type of a file, from its bytes (never from the client), against an allowlist.

An explicit signature table rather than ``puremagic``/``filetype``: the allowlist is small, and
each entry needs more than a magic prefix to be trustworthy — EPUB is a ZIP whose *first* entry
is an uncompressed ``mimetype`` holding ``application/epub+zip``; ISO-BMFF (mp4/m4a) is told
apart by its ``ftyp`` brand, WebM from Matroska by the EBML DocType, Ogg video from Ogg audio by
the codec header, and "plain text" must be UTF-8 without markup a browser would sniff as HTML.
Generic magic libraries answer "zip", "matroska" or nothing for these, and neither refuses HTML.
Measured on the test samples (tests/files/file_samples.py; filetype 1.2.0, puremagic 1.30): filetype
finds no plain text and calls Ogg video audio; puremagic calls m4a video, Ogg "application/ogg",
a plain ZIP a .docx, and raises on UTF-8 text; this table gets all 17 kinds and 9 impostors right.

The caller passes the first :data:`HEAD_BYTES` and the last :data:`TAIL_BYTES` of the file
(captured while streaming), so sniffing costs nothing extra on a 1 GiB upload.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

HEAD_BYTES = 64 * 1024
TAIL_BYTES = 1024

PDF = "application/pdf"
EPUB = "application/epub+zip"
TEXT = "text/plain"
VTT = "text/vtt"  # WebVTT captions and subtitles of audio and video (UTF-8 text that starts "WEBVTT")
MP3, OGG_AUDIO, FLAC, WAV, M4A = "audio/mpeg", "audio/ogg", "audio/flac", "audio/wav", "audio/mp4"
MP4, WEBM, OGG_VIDEO = "video/mp4", "video/webm", "video/ogg"
JPEG, PNG, GIF, WEBP, TIFF = "image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff"

ALLOWED: frozenset[str] = frozenset({
    PDF, EPUB, TEXT, VTT, MP3, OGG_AUDIO, FLAC, WAV, M4A, MP4, WEBM, OGG_VIDEO, JPEG, PNG, GIF, WEBP, TIFF,
})

# Name extension → the media type its bytes must have.
EXTENSIONS: dict[str, str] = {
    "pdf": PDF, "epub": EPUB,
    "txt": TEXT, "text": TEXT, "md": TEXT, "csv": TEXT, "tsv": TEXT, "vtt": VTT,
    "mp3": MP3, "ogg": OGG_AUDIO, "oga": OGG_AUDIO, "opus": OGG_AUDIO, "flac": FLAC, "wav": WAV,
    "m4a": M4A, "m4b": M4A,
    "mp4": MP4, "m4v": MP4, "webm": WEBM, "ogv": OGG_VIDEO,
    "jpg": JPEG, "jpeg": JPEG, "png": PNG, "gif": GIF, "webp": WEBP, "tif": TIFF, "tiff": TIFF,
}

# Declared Content-Types that name an allowed type under another spelling.
ALIASES: dict[str, str] = {
    "application/x-pdf": PDF, "audio/mp3": MP3, "audio/x-mp3": MP3, "audio/mpeg3": MP3,
    "audio/x-flac": FLAC, "audio/x-wav": WAV, "audio/wave": WAV, "audio/vnd.wave": WAV,
    "audio/x-m4a": M4A, "audio/m4a": M4A, "video/x-m4v": MP4, "application/ogg": OGG_AUDIO,
    "audio/vorbis": OGG_AUDIO, "audio/opus": OGG_AUDIO, "image/jpg": JPEG, "image/pjpeg": JPEG,
    "image/x-png": PNG, "text/markdown": TEXT, "text/csv": TEXT, "text/tab-separated-values": TEXT,
}
# Declared types that say nothing (clients send them for any file).
UNINFORMATIVE = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})

_MP4_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_MP4_VIDEO_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
    b"M4VH", b"M4VP", b"dash", b"MSNV", b"f4v ", b"mmp4", b"NDAS",
}
# Markup a browser would render if it ever ignored nosniff (WHATWG MIME Sniffing §7.1): refused at
# the start of a "text" file, and the most dangerous tags refused anywhere in its head.
_MARKUP = re.compile(rb"<(?:!doctype\s+html|\?xml|(?:html|script|svg|iframe|body|head)(?=[\s/>]))", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


@dataclass(frozen=True)
class Verdict:
    """``media_type`` when the bytes are an allowed kind; otherwise ``reason`` says why not."""

    media_type: str | None
    reason: str = ""
    damaged: bool = False  # an allowed kind, but broken (refused as 422, not 415)


def sniff(head: bytes, tail: bytes = b"", size: int | None = None) -> Verdict:
    """Identify ``head`` (the file's first bytes) as one allowed media type, or say why not."""
    if not head:
        return Verdict(None, "the file is empty")
    for probe in (_pdf, _zip, _riff, _ogg, _flac, _mp3, _bmff, _ebml, _image):
        verdict = probe(head, tail)
        if verdict is not None:
            return verdict
    return _text(head, complete=size is not None and size <= len(head))


def expected_for_name(name: str) -> str | None:
    """The media type a file name's extension promises, or None for an extension not allowed."""
    _, dot, extension = name.rpartition(".")
    return EXTENSIONS.get(extension.lower()) if dot else None


def normalise_declared(content_type: str | None) -> str | None:
    """A declared Content-Type as an allowed media type; None when it says nothing."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    if essence in UNINFORMATIVE:
        return None
    return ALIASES.get(essence, essence)


def _pdf(head: bytes, tail: bytes) -> Verdict | None:
    if not head.startswith(b"%PDF-"):
        return None
    # A PDF ends with %%EOF (ISO 32000-1 §7.5.5; readers accept it within the last 1 KiB). Without
    # it the upload was cut short: refuse it now rather than store a file no reader opens.
    if tail and b"%%EOF" not in tail:
        return Verdict(None, "the PDF is truncated (no %%EOF marker at its end)", damaged=True)
    return Verdict(PDF)


def _zip(head: bytes, _tail: bytes) -> Verdict | None:
    if not head.startswith(b"PK\x03\x04"):
        return None
    # EPUB OCF §4.3: the first entry is "mimetype", stored uncompressed, holding the media type.
    if head[30:38] == b"mimetype" and head[38:58] == b"application/epub+zip":
        return Verdict(EPUB)
    return Verdict(None, "a ZIP archive that is not an EPUB")


def _riff(head: bytes, _tail: bytes) -> Verdict | None:
    if not head.startswith(b"RIFF") or len(head) < 12:
        return None
    kind = head[8:12]
    if kind == b"WAVE":
        return Verdict(WAV)
    if kind == b"WEBP":
        return Verdict(WEBP)
    return Verdict(None, f"a RIFF container of a kind not accepted ({kind!r})")


def _ogg(head: bytes, _tail: bytes) -> Verdict | None:
    if not head.startswith(b"OggS"):
        return None
    # The first page carries the first codec's identification header.
    if b"\x80theora" in head[:512] or b"\x01video" in head[:512]:
        return Verdict(OGG_VIDEO)
    return Verdict(OGG_AUDIO)


def _flac(head: bytes, _tail: bytes) -> Verdict | None:
    return Verdict(FLAC) if head.startswith(b"fLaC") else None


def _mp3(head: bytes, _tail: bytes) -> Verdict | None:
    if head.startswith(b"ID3") and len(head) >= 10:
        # ID3v2 size: four 7-bit bytes (syncsafe); the audio follows the tag.
        size = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | head[9] & 0x7F)
        after = head[size:size + 4]
        if after.startswith(b"fLaC"):
            return Verdict(FLAC)
        if not after or _mpeg_frame(after):
            return Verdict(MP3)
        return Verdict(None, "an ID3 tag followed by something that is not MPEG audio")
    return Verdict(MP3) if _mpeg_frame(head) else None


def _mpeg_frame(b: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a valid version, layer I–III, a valid bitrate."""
    if len(b) < 4 or b[0] != 0xFF or b[1] & 0xE0 != 0xE0:
        return False
    version, layer = (b[1] >> 3) & 3, (b[1] >> 1) & 3
    bitrate, rate = b[2] >> 4, (b[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate != 0xF and rate != 3


def _bmff(head: bytes, _tail: bytes) -> Verdict | None:
    if head[4:8] != b"ftyp" or len(head) < 16:
        return None
    box = int.from_bytes(head[0:4], "big")
    brands = {head[8:12]} | {head[i:i + 4] for i in range(16, min(box, len(head), 256), 4)}
    if head[8:12] in _MP4_AUDIO_BRANDS:
        return Verdict(M4A)
    if brands & _MP4_VIDEO_BRANDS and head[8:12] not in {b"qt  ", b"heic", b"mif1", b"avif", b"crx "}:
        return Verdict(MP4)
    return Verdict(None, f"an ISO media file of a kind not accepted (brand {head[8:12]!r})")


def _ebml(head: bytes, _tail: bytes) -> Verdict | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    # The DocType element (ID 0x4282) follows within the EBML header: "webm" or "matroska".
    at = head.find(b"\x42\x82", 4, 64)
    if at > 0 and head[at + 3:at + 7] == b"webm":
        return Verdict(WEBM)
    return Verdict(None, "a Matroska file that is not WebM")


def _image(head: bytes, _tail: bytes) -> Verdict | None:
    if head.startswith(b"\xff\xd8\xff"):
        return Verdict(JPEG)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Verdict(PNG)
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Verdict(GIF)
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return Verdict(TIFF)
    return None


def _text(head: bytes, *, complete: bool) -> Verdict:
    """UTF-8 text without control characters or markup; anything else is an unknown binary."""
    if b"\x00" in head:
        return Verdict(None, "binary content of a kind not accepted")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # Not final unless this is the whole file: the head may end inside a multi-byte character.
        text = decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return Verdict(None, "neither an accepted binary format nor UTF-8 text")
    if _CONTROL.search(text):
        return Verdict(None, "text with control characters (not plain text)")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<") or _MARKUP.search(head):
        return Verdict(None, "markup (HTML, SVG or XML) is not accepted")
    # WebVTT §4.1: the file starts with "WEBVTT" (after an optional BOM), then a space, tab or line end.
    if text.removeprefix("\ufeff").startswith("WEBVTT") and text.removeprefix("\ufeff")[6:7] in ("", " ", "\t", "\r", "\n"):
        return Verdict(VTT)
    return Verdict(TEXT)
