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
}


@dataclass(frozen=True)
class FileView:
    name: str
    url: str
    media_type: str
    size: int
    access: str | None  # effective access right now
    embargo_end: date | None
    readable: bool  # the public may read the bytes now
    thumbnail: str | None = None  # first-page preview, when there is one and the file is readable

    @property
    def format(self) -> str:
        return FORMATS.get(self.media_type, self.media_type.split("/")[-1].upper()[:12])

    @property
    def is_pdf(self) -> bool:
        return self.media_type == "application/pdf"


@dataclass
class Record:
    work: Work
    metadata: Metadata
    url: str  # the landing page (absolute)
    files: list[FileView] = field(default_factory=list)
    access: str | None = None  # the work's effective access right now
    now: datetime | None = None

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
    def public_pdf(self) -> FileView | None:
        """The first PDF the public may read now (``citation_pdf_url``)."""
        return next((f for f in self.files if f.is_pdf and f.readable), None)


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
    )


def build(work: Work, files: list[File], base_url: str, now: datetime) -> Record:
    return Record(
        work=work,
        metadata=parse_metadata(work.doc),
        url=f"{base_url}/works/{work.id}",
        files=[file_view(work, f, base_url, now) for f in files],
        access=visibility.effective_access(work.access_right, work.embargo_end, now),
        now=now,
    )
