"""A work as the reading room shows it: metadata parsed once, files with their access now.

Built from SQL rows only (never from the search index). File access is decided by
:mod:`repo.works.visibility` only (``file_access``, ``file_is_open``, ``effective_access``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from repo.files.models import File
from repo.works import visibility
from repo.works.models import Work
from repo.works.schemas import Metadata, Person, Title

# Media types → the short format name shown on badges.
FORMATS: dict[str, str] = {
    "application/pdf": "PDF",
    "application/epub+zip": "EPUB",
    "text/plain": "TXT",
    "text/html": "HTML",
    "text/csv": "CSV",
    "application/zip": "ZIP",
    "application/msword": "DOC",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.oasis.opendocument.text": "ODT",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/tiff": "TIFF",
    "audio/mpeg": "MP3",
    "audio/ogg": "OGG",
    "audio/wav": "WAV",
    "video/mp4": "MP4",
    "video/webm": "WebM",
    "video/ogg": "OGV",
    "audio/flac": "FLAC",
    "audio/mp4": "M4A",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "text/vtt": "WebVTT",
}
#: Images every browser shows in an ``<img>`` (TIFF is listed and downloaded, not shown).
SHOWN_IMAGES = ("image/jpeg", "image/png", "image/gif", "image/webp")
#: A picture small enough to stand for the work itself (OpenGraph, JSON-LD); larger ones are
#: represented by their derived thumbnail (a WebP of at most 400 pixels a side, made by extraction).
THUMBNAIL_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class FileView:
    name: str
    url: str
    media_type: str
    size: int
    access: str | None  # effective access right now
    embargo_end: date | None
    readable: bool  # the public may read the bytes now
    thumbnail: str | None = None  # a PDF's first page or a picture, small; when there is one and the file is readable
    unread: bool = False  # a picture extraction has not read (yet, or ever: broken, a decompression bomb)

    @property
    def format(self) -> str:
        return FORMATS.get(self.media_type, self.media_type.split("/")[-1].upper()[:12])

    @property
    def is_pdf(self) -> bool:
        return self.media_type == "application/pdf"

    @property
    def kind(self) -> str:
        """How the page presents it: ``pdf``, ``audio``, ``video``, ``image`` (shown), ``captions`` or ``other``."""
        if self.is_pdf:
            return "pdf"
        if self.media_type.startswith(("audio/", "video/")):
            return self.media_type.split("/")[0]
        if self.media_type in SHOWN_IMAGES and not self.unread:  # never an <img> of a bomb
            return "image"
        return "captions" if self.media_type == "text/vtt" else "other"

    @property
    def caption_lang(self) -> str | None:
        """The language of a captions file named ``<name>.<lang>.vtt`` (ISO 639-1 or -3), if it says."""
        stem = self.name.rsplit(".", 1)[0]
        code = stem.rsplit(".", 1)[-1].lower() if "." in stem else ""
        return code if code.isalpha() and len(code) in (2, 3) else None


@dataclass
class Record:
    work: Work
    metadata: Metadata
    url: str  # the landing page (absolute)
    files: list[FileView] = field(default_factory=list)
    access: str | None = None  # the work's effective access right now
    now: datetime | None = None
    validator: tuple[Any, ...] = ()  # what the landing page shows of the data (its entity tag)
    last_modified: datetime | None = None  # the latest change of any of it (midnight: the day changes it)

    @property
    def id(self) -> int:
        return self.work.id

    @property
    def title(self) -> str:
        main = self.metadata.main_title
        return main.value if main else f"#{self.work.id}"

    @property
    def year(self) -> int | None:
        return self.metadata.publication_year

    @property
    def authors(self) -> list[Person]:
        return list(self.metadata.creators)

    def contributors_with(self, role: str) -> list[Person]:
        return [p for p in self.metadata.contributors if p.role == role]

    def title_for(self, lang3: str) -> Title | None:
        """The title in the reader's language when the metadata has one, else the main title."""
        return next((t for t in self.metadata.titles if t.lang == lang3), self.metadata.main_title)

    def abstracts_for(self, lang3: str) -> list[Any]:
        """Abstracts, the reader's language first."""
        return sorted(self.metadata.abstracts, key=lambda a: a.lang != lang3)

    @property
    def cite_as(self) -> str:
        """The persistent identifier to cite: the DOI, else the handle, else the landing page."""
        if self.metadata.doi:
            return f"https://doi.org/{self.metadata.doi}"
        if self.metadata.handle:
            return f"https://hdl.handle.net/{self.metadata.handle}"
        return self.url

    @property
    def main_file(self) -> FileView | None:
        """The file that stands for the work (``files`` lists it first): the one its editor named
        main, else the first PDF the public may read now, else its first recording, video or image
        (never the captions), else the first PDF, else the first file."""
        named = self.work.main_file  # the editor's choice (migration 1001)
        choices = [
            lambda f: f.name == named,
            lambda f: f.is_pdf and f.readable,
            lambda f: f.kind in ("audio", "video", "image"),
            lambda f: f.is_pdf,
            lambda f: f.kind != "captions",
        ]
        for chosen in choices:
            found = next((f for f in self.files if chosen(f)), None)
            if found is not None:
                return found
        return self.files[0] if self.files else None

    @property
    def public_pdf(self) -> FileView | None:
        """The full text for ``citation_pdf_url``: the main file the editor named, only while it is
        a PDF the public may read now; without a choice, the main file when it is a PDF the public may
        read now, else the first PDF the public may read now."""
        if self.work.main_file is not None:
            named = next((f for f in self.files if f.name == self.work.main_file), None)
            return named if named is not None and named.is_pdf and named.readable else None
        main = self.main_file
        if main is not None and main.is_pdf and main.readable:
            return main
        return next((f for f in self.files if f.is_pdf and f.readable), None)

    @property
    def picture(self) -> str | None:
        """An image that shows the work (OpenGraph, JSON-LD): its first open picture that extraction
        has read (it has a thumbnail) — itself when small, else its thumbnail —, else a preview (a
        PDF's first page)."""
        image = next((f for f in self.files if f.readable and f.kind == "image" and f.thumbnail), None)
        if image is not None:
            return image.url if image.size <= THUMBNAIL_MAX_BYTES else image.thumbnail
        return next((f.thumbnail for f in self.files if f.thumbnail), None)

    @property
    def captions(self) -> list[FileView]:
        """WebVTT files the public may read now: the captions of the work's videos."""
        return [f for f in self.files if f.kind == "captions" and f.readable]


def parse_metadata(doc: dict[str, Any]) -> Metadata:
    """The stored document as the model; a document that no longer validates keeps what parses."""
    try:
        return Metadata.model_validate(doc)
    except ValidationError:
        titles = [Title.model_construct(value=str(t.get("value", "")), lang=t.get("lang"), type="main")
                  for t in doc.get("titles", [])[:1] if isinstance(t, dict)]
        return Metadata.model_construct(titles=titles)


def file_view(work: Work, file: File, base_url: str, now: datetime) -> FileView:
    access, embargo_end = visibility.file_access(work, file)
    readable = visibility.file_is_open(work, file, now)
    url = f"{base_url}/works/{work.id}/files/{quote(file.name, safe='')}"
    return FileView(
        name=file.name,
        url=url,
        media_type=file.media_type,
        size=file.size,
        access=visibility.effective_access(access, embargo_end, now),
        embargo_end=embargo_end if access == "embargoed" else None,
        readable=readable,
        thumbnail=f"{url}/thumbnail" if readable and file.has_thumbnail else None,
        # Shown in an <img> only once extraction has read it (made its thumbnail): what the page
        # shows then depends on has_thumbnail alone, which the page's validator already holds.
        unread=file.media_type in SHOWN_IMAGES and not file.has_thumbnail,
    )


def build(work: Work, files: list[File], base_url: str, now: datetime) -> Record:
    record = Record(
        work=work,
        metadata=parse_metadata(work.doc),
        url=f"{base_url}/works/{work.id}",
        files=[file_view(work, f, base_url, now) for f in files],
        access=visibility.effective_access(work.access_right, work.embargo_end, now),
        now=now,
        validator=validator(work, files, now),
        last_modified=max([work.updated_at, work.datestamp or work.updated_at, work.centre.updated_at,
                           *(c.updated_at for c in work.collections), *(f.updated_at for f in files),
                           now.replace(hour=0, minute=0, second=0, microsecond=0)]),
    )
    main = record.main_file
    if main is not None:  # the main file leads the list; the others keep their order (by name)
        record.files = [main, *(f for f in record.files if f is not main)]
    return record


def validator(work: Work, files: list[File], now: datetime) -> tuple[Any, ...]:
    """What a landing page shows of the data, for its entity tag: the work's version and times,
    its centre and collections (names), its files and their access, and the day (access and the
    ABNT citation's access date change with it)."""
    return (work.id, work.version, work.status, work.updated_at, work.datestamp, work.centre.updated_at,
            tuple((c.slug, c.updated_at) for c in work.collections), now.date(),
            tuple((f.name, f.sha256, f.has_thumbnail, f.access_right, f.embargo_end) for f in files))
