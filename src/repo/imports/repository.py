"""Queries on imports and their reports."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo.imports.models import Import, ImportProblem


def get(session: Session, import_id: int) -> Import | None:
    if not 0 < import_id < 2**31:
        return None
    return session.get(Import, import_id)


def resumable(session: Session, sha256: str, centre_id: int, format: str, collection_id: int | None,
              publish: bool, dry_run: bool, files_dir: str | None) -> Import | None:
    """An unfinished import of the same bytes with the same options (``repo import`` run again)."""
    return session.scalars(sa.select(Import).where(
        Import.sha256 == sha256, Import.centre_id == centre_id, Import.format == format,
        Import.collection_id.is_(None) if collection_id is None else Import.collection_id == collection_id,
        Import.publish.is_(publish), Import.dry_run.is_(dry_run),
        Import.files_dir.is_(None) if files_dir is None else Import.files_dir == files_dir,
        Import.status.in_(("queued", "running"))).order_by(Import.id.desc()).limit(1)).first()


def runnable(session: Session) -> Sequence[Import]:
    """Imports waiting for the background job, oldest first."""
    return session.scalars(sa.select(Import).where(Import.status.in_(("queued", "running")))
                           .order_by(Import.id)).all()


def recent(session: Session, centre_ids: Sequence[int] | None, limit: int = 50) -> Sequence[Import]:
    query = sa.select(Import).order_by(Import.id.desc()).limit(limit)
    if centre_ids is not None:
        query = query.where(Import.centre_id.in_(centre_ids))
    return session.scalars(query).all()


def problems(session: Session, import_id: int, limit: int | None = None, after: int = 0) -> Sequence[ImportProblem]:
    query = sa.select(ImportProblem).where(ImportProblem.import_id == import_id, ImportProblem.id > after
                                           ).order_by(ImportProblem.id)
    return session.scalars(query.limit(limit) if limit else query).all()


def problem_count(session: Session, import_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(ImportProblem)
                          .where(ImportProblem.import_id == import_id)) or 0


def all_problems(session: Session, import_id: int, page: int = 2000) -> Iterator[ImportProblem]:
    """Every line of the report, a page at a time (constant memory)."""
    last = 0
    while True:
        found = session.scalars(sa.select(ImportProblem).where(ImportProblem.import_id == import_id,
                                                               ImportProblem.id > last)
                                .order_by(ImportProblem.id).limit(page)).all()
        if not found:
            return
        yield from found
        last = found[-1].id
