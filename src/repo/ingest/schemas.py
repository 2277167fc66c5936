"""API payloads of harvest sources and runs (``/api/harvest/sources``, administrators only)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import AfterValidator, BaseModel, Field
from typing_extensions import Annotated

from repo.works.schemas import Model, Slug

_SET_SPEC = re.compile(r"([A-Za-z0-9\-_.!~*'()])+(:[A-Za-z0-9\-_.!~*'()]+)*")
_PREFIX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
_EVERY = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _base_url(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"https?://[^\s?#]+", value) or len(value) > 2000:
        raise ValueError("must be an http(s) base URL without query or fragment, e.g. https://repo.example.org/oai")
    return value


def _set_spec(value: str) -> str:
    if not _SET_SPEC.fullmatch(value) or len(value) > 500:
        raise ValueError("not a setSpec (OAI-PMH §2.6: colon-separated, URL-safe characters)")
    return value


def _prefix(value: str) -> str:
    if not _PREFIX.fullmatch(value) or len(value) > 64:
        raise ValueError("not a metadataPrefix")
    return value


def every_seconds(value: str | int | None) -> int | None:
    """``24h``, ``30m``, ``7d``, ``90s`` (or a number of seconds) as seconds; ``None`` stays None."""
    if value is None or isinstance(value, int):
        if isinstance(value, int) and value < 60:
            raise ValueError("at least a minute")
        return value
    match = _EVERY.fullmatch(value.strip().lower())
    if not match:
        raise ValueError("an interval like 24h, 30m, 7d")
    seconds = int(match[1]) * _UNITS[match[2]]
    if not 60 <= seconds <= 366 * 86400:
        raise ValueError("between a minute and a year")
    return seconds


BaseURL = Annotated[str, AfterValidator(_base_url)]
SetSpec = Annotated[str, AfterValidator(_set_spec)]
Prefix = Annotated[str, AfterValidator(_prefix)]


class SourceIn(Model):
    url: BaseURL = Field(description="The source's OAI-PMH base URL")
    centre: Slug = Field(description="Member centre whose works the harvested records become")
    set: SetSpec | None = Field(None, description="Harvest only this set")
    prefix: Prefix = Field("oai_dc", description="Metadata prefix to harvest (oai_dc, oai_openaire)")
    collection: Slug | None = Field(None, description="Collection the harvested works are filed in")
    every: str | int | None = Field(None, description="Harvest on schedule: 24h, 6h, 7d… (none: only when asked)")


class SourceUpdate(Model):
    status: Literal["active", "paused"] | None = None
    every: str | int | None = None


class RunOut(BaseModel):
    id: int
    full: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    attempts: int
    range_from: datetime | None
    range_until: datetime | None
    window_from: datetime | None
    window_until: datetime | None
    resumable_from_token: bool
    pages: int
    bytes: int
    window_restarts: int
    seen: int
    created: int
    updated: int
    unchanged: int
    withdrawn: int
    linked: int
    skipped: int
    failed: int
    missing: int
    last_error: str | None


class ProblemOut(BaseModel):
    run_id: int | None
    identifier: str | None
    kind: str
    reason: str
    work_id: int | None
    at: datetime


class SourceOut(BaseModel):
    id: int
    url: str
    set: str | None
    prefix: str
    metadata_namespace: str
    centre: str
    collection: str | None
    every_seconds: int | None
    status: str
    repository_name: str
    granularity: str
    deleted_record: str
    earliest_datestamp: datetime | None
    harvested_through: datetime | None
    next_due_at: datetime | None
    last_error: str | None
    records: dict[str, int] = Field(description="Records of this source by state: works, deleted, duplicates")
    last_run: RunOut | None
    created: datetime
    updated: datetime


class SourceDetail(SourceOut):
    runs: list[RunOut]
    problems: list[ProblemOut]
