"""What the files API accepts and returns."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from repo.works.vocabularies import AccessRight


class FileAccessIn(BaseModel):
    """A file's own access right (``null`` to follow its work again)."""

    model_config = ConfigDict(extra="forbid")

    access_right: AccessRight | None = None
    embargo_end: date | None = None

    @model_validator(mode="after")
    def _embargo(self) -> FileAccessIn:
        if self.access_right == AccessRight.embargoed and self.embargo_end is None:
            raise ValueError("embargo_end is required when access_right is 'embargoed'")
        if self.access_right != AccessRight.embargoed and self.embargo_end is not None:
            raise ValueError("embargo_end is only allowed when access_right is 'embargoed'")
        return self


class FileLinks(BaseModel):
    """Where to fetch the file; content links appear only when the asker may read the content."""

    self: str
    download: str | None = None
    thumbnail: str | None = None
    text: str | None = None


class FileOut(BaseModel):
    name: str
    media_type: str
    size: int
    sha256: str | None = Field(None, description="Shown only to those who may read the bytes")
    md5: str | None = Field(None, description="Shown only to those who may read the bytes")
    access_right: AccessRight | None = None
    embargo_end: date | None = None
    effective_access: str | None = None
    open: bool
    text_state: str
    text_error: str | None = None
    has_thumbnail: bool
    created: datetime
    updated: datetime
    links: FileLinks


class FileList(BaseModel):
    items: list[FileOut]
