"""Queries on harvest sources, runs, problems and ingest records."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo.ingest.models import HarvestRun, HarvestSource, IngestProblem, IngestRecord


def source(session: Session, source_id: int) -> HarvestSource | None:
    if not 0 < source_id < 2**31:
        return None
    return session.get(HarvestSource, source_id)


def source_by_endpoint(session: Session, base_url: str, set_spec: str | None, prefix: str) -> HarvestSource | None:
    return session.scalar(sa.select(HarvestSource).where(
        HarvestSource.base_url == base_url, HarvestSource.metadata_prefix == prefix,
        HarvestSource.set_spec.is_(None) if set_spec is None else HarvestSource.set_spec == set_spec))


def sources(session: Session) -> Sequence[HarvestSource]:
    return session.scalars(sa.select(HarvestSource).order_by(HarvestSource.id)).all()


def due(session: Session, now: sa.ColumnElement | object) -> Sequence[HarvestSource]:
    return session.scalars(sa.select(HarvestSource).where(
        HarvestSource.status == "active", HarvestSource.next_due_at.is_not(None), HarvestSource.next_due_at <= now)
        .order_by(HarvestSource.next_due_at, HarvestSource.id)).all()


def runs(session: Session, source_id: int, limit: int = 10) -> Sequence[HarvestRun]:
    return session.scalars(sa.select(HarvestRun).where(HarvestRun.source_id == source_id)
                           .order_by(HarvestRun.id.desc()).limit(limit)).all()


def run(session: Session, run_id: int | None) -> HarvestRun | None:
    return session.get(HarvestRun, run_id) if run_id else None


def problems(session: Session, run_id: int, limit: int = 50) -> Sequence[IngestProblem]:
    return session.scalars(sa.select(IngestProblem).where(IngestProblem.run_id == run_id)
                           .order_by(IngestProblem.id).limit(limit)).all()


def record_counts(session: Session, feed: str) -> dict[str, int]:
    """The records of a feed: owned works (live or withdrawn), deleted at source, linked duplicates."""
    rows = session.execute(sa.select(IngestRecord.role, IngestRecord.deleted, sa.func.count())
                           .where(IngestRecord.feed == feed).group_by(IngestRecord.role, IngestRecord.deleted)).all()
    counts = {"works": 0, "deleted": 0, "duplicates": 0}
    for role, deleted, n in rows:
        key = "duplicates" if role == "duplicate" else "deleted" if deleted else "works"
        counts[key] += n
    return counts


def owned_work_ids(session: Session, feed: str) -> list[int]:
    return list(session.scalars(sa.select(IngestRecord.work_id).where(
        IngestRecord.feed == feed, IngestRecord.role == "owner", IngestRecord.work_id.is_not(None))))
