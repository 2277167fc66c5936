"""What a reader may see, defined once.

* A work's *record* is public when it is published (a withdrawn work is a public tombstone,
  never its metadata).
* A work's *files and full text* are public when its effective access right is open at this
  moment: ``open``, or ``embargoed`` with an embargo end on or before today.

Each rule exists as a SQL condition (reading room, API, OAI-PMH, sitemaps, downloads) and as a
Python predicate on loaded rows; the search backends build their filter from the same fields
(``public`` and ``open_from`` in the search document).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from repo.deposit.auth import Principal
from repo.works.models import Work
from repo.works.vocabularies import AccessRight, Status

if TYPE_CHECKING:
    from repo.files.models import File


def embargo_lifts_at(embargo_end: date) -> datetime:
    """The instant an embargo ends: the start (UTC) of its end date."""
    return datetime.combine(embargo_end, time(0), tzinfo=UTC)


ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)


def opens_at(access_right: str | None, embargo_end: date | None) -> datetime | None:
    """The instant content under this access right opens to anyone (``None``: never)."""
    if access_right == AccessRight.open:
        return ALWAYS
    if access_right == AccessRight.embargoed and embargo_end is not None:
        return embargo_lifts_at(embargo_end)
    return None


def is_open(access_right: str | None, embargo_end: date | None, now: datetime) -> bool:
    """Whether content under this access right is open to anyone at ``now``."""
    start = opens_at(access_right, embargo_end)
    return start is not None and start <= now


def effective_access(access_right: str | None, embargo_end: date | None, now: datetime) -> str | None:
    """The access right as disseminated now: an ended embargo reads as open."""
    if access_right == AccessRight.embargoed and is_open(access_right, embargo_end, now):
        return AccessRight.open
    return access_right


def is_public_record(status: str | None) -> bool:
    """Whether a work with this status shows its record to anonymous readers (twin of :func:`public_record`)."""
    return status == Status.published


def public_record() -> ColumnElement[bool]:
    """SQL: works whose metadata anonymous readers may see."""
    return Work.status == Status.published


def public_or_tombstone() -> ColumnElement[bool]:
    """SQL: works that exist publicly (published or withdrawn): OAI-PMH, sitemaps."""
    # Two plain parameters, not an "expanding" list: the statement needs no rewriting at each
    # execution (a tenth of an OAI GetRecord's time).
    return Work.status.in_([sa.literal(Status.published.value), sa.literal(Status.withdrawn.value)])


def content_open(now: datetime | ColumnElement[date]) -> ColumnElement[bool]:
    """SQL twin of :func:`is_open` for the work's own access right (at ``now``, or on a day given
    as a SQL expression, e.g. a bound parameter of a query built once)."""
    today = now.date() if isinstance(now, datetime) else now
    return sa.or_(
        Work.access_right == AccessRight.open,
        sa.and_(Work.access_right == AccessRight.embargoed, Work.embargo_end <= today),
    )


def readable_by(principal: Principal) -> ColumnElement[bool]:
    """SQL: works this principal may read through the API."""
    if principal.is_admin:
        return sa.true()
    if principal.centre_ids:
        return sa.or_(public_record(), Work.centre_id.in_(principal.centre_ids))
    return public_record()


def can_read(principal: Principal, work: Work) -> bool:
    return principal.is_admin or work.status == Status.published or work.centre_id in principal.centre_ids


class HasAccess(Protocol):
    """Anything carrying an access right (rows, or the lightweight views of OAI-PMH)."""

    access_right: str | None
    embargo_end: date | None


def file_access(work: HasAccess, file: HasAccess) -> tuple[str | None, date | None]:
    """A file's own access right and embargo end when it has one, else its work's."""
    if file.access_right is not None:
        return file.access_right, file.embargo_end
    return work.access_right, work.embargo_end


def file_is_open(work: Work, file: File, now: datetime) -> bool:
    """Whether anyone may read this file's bytes, thumbnail and text at ``now`` (record public too)."""
    return work.status == Status.published and is_open(*file_access(work, file), now)


def can_read_file(principal: Principal, work: Work, file: File, now: datetime) -> bool:
    """Editors of the work's centre and admins always; everyone else while the file is open."""
    return principal.can_edit_centre(work.centre_id) or file_is_open(work, file, now)
