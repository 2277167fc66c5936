"""API payloads of imports (``/api/imports``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ImportProblemOut(BaseModel):
    id: int = Field(description="The line's number in the report (page on with ?after=)")
    row: int | None = Field(description="Where the record is: the spreadsheet row (CSV, the header is row 1), "
                                        "the line (JSON Lines), the entry's first line (BibTeX), the record (RIS)")
    external_id: str | None
    kind: str = Field(description="failed, duplicate (linked to an existing work, not created), skipped")
    field: str | None = Field(description="The field at fault: a CSV column, or the deposit record's path")
    message: str
    work_id: int | None


class ImportOut(BaseModel):
    id: int
    status: str = Field(description="queued, running, succeeded or failed (the file could not be read)")
    format: str
    filename: str
    size: int
    sha256: str
    encoding: str | None
    note: str | None
    centre: str
    collection: str | None
    publish: bool
    dry_run: bool
    created: datetime
    started: datetime | None
    finished: datetime | None
    rows: int = Field(description="Rows read and applied so far")
    bytes_read: int = Field(description="How far into the file (bytes; for a progress bar: size is the total)")
    seen: int
    created_works: int
    updated: int
    unchanged: int
    linked: int
    skipped: int
    failed: int
    error: str | None
    problems_total: int
    problems: list[ImportProblemOut] = Field(description="The report's first lines (all of them: /report)")
    links: dict[str, str]
