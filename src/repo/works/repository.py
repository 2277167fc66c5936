"""Queries on works, shared by the services (one place for each lookup)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo.centres.models import Collection, MemberCentre
from repo.db import lock_for_write
from repo.works.models import Revision, Work, work_collections


MAX_ID = 2**63 - 1


def get(session: Session, work_id: int, *, for_update: bool = False) -> Work | None:
    """The work ``work_id``; ``for_update``: the unit of work becomes a writer and reads the
    work's latest committed state under its lock (see :mod:`repo.db`)."""
    if not 0 < work_id <= MAX_ID:  # beyond any stored id (and beyond what the drivers accept)
        return None
    query = sa.select(Work).where(Work.id == work_id)
    if for_update:
        lock_for_write(session)
        query = query.with_for_update(of=Work).execution_options(populate_existing=True)
    return session.scalar(query)


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")  # repo.works.schemas.Slug


def centre_by_slug(session: Session, slug: str) -> MemberCentre | None:
    if not _SLUG.match(slug):
        return None  # no stored slug looks like that (and PostgreSQL refuses a NUL in a query)
    return session.scalar(sa.select(MemberCentre).where(MemberCentre.slug == slug))


def collection_by_slug(session: Session, slug: str) -> Collection | None:
    if not _SLUG.match(slug):
        return None
    return session.scalar(sa.select(Collection).where(Collection.slug == slug))


def in_collection_tree(path: str) -> sa.ColumnElement[bool]:
    """Works in the collection at ``path`` or any of its descendants."""
    subtree = sa.select(Collection.id).where(
        sa.or_(Collection.path == path, Collection.path.startswith(path + ":", autoescape=True))
    )
    members = sa.select(work_collections.c.work_id).where(work_collections.c.collection_id.in_(subtree))
    return Work.id.in_(members)


def page(
    session: Session,
    condition: sa.ColumnElement[bool],
    *,
    after: tuple[datetime, int] | None,
    size: int,
) -> Sequence[Work]:
    """Keyset page ordered by ``(updated_at, id)``."""
    query = sa.select(Work).where(condition)
    if after is not None:
        query = query.where(sa.tuple_(Work.updated_at, Work.id) > sa.tuple_(*after))
    return session.scalars(query.order_by(Work.updated_at, Work.id).limit(size)).all()


def revisions(session: Session, work_id: int) -> Sequence[Revision]:
    return session.scalars(
        sa.select(Revision).where(Revision.work_id == work_id).order_by(Revision.version)
    ).all()


def file_names(session: Session, work_id: int | None) -> set[str]:
    """The names of a work's files (none before the work exists)."""
    from repo.files.models import File  # files depend on works: imported where used

    if work_id is None:
        return set()
    return set(session.scalars(sa.select(File.name).where(File.work_id == work_id)))
