"""Leases in SQL: a job that must run in one process at a time runs only while its process holds
the job's row in ``worker_leases``.

A lease is taken by one conditional UPDATE (free, expired, or already ours), so it works alike on
SQLite and PostgreSQL and between hosts. The holder renews it while the job runs (the runner's
heartbeat) and releases it when the job is idle; a holder killed mid-run simply stops renewing,
and the lease is free again ``ttl`` later. Leases make double work rare, not impossible (a
holder frozen longer than ``ttl`` may overlap its successor): jobs are idempotent.

Times come from the caller (the runner uses the wall clock): lease lengths are tens of seconds,
far beyond the clock skew of hosts kept by NTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult

from repo.db import Database
from repo.worker.models import Lease


def acquire(db: Database, job: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take (or keep) the lease of ``job`` until ``now + ttl``; False when another holder has it."""
    with db.session() as session:
        result = session.execute(
            sa.update(Lease)
            .where(Lease.job == job,
                   sa.or_(Lease.holder.is_(None), Lease.holder == holder, Lease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", result).rowcount:
            return True
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        inserted = session.scalar(  # (RETURNING: an insert skipped on conflict has no reliable rowcount)
            dialect.insert(Lease).values(job=job, holder=holder, expires_at=now + ttl)
            .on_conflict_do_nothing(index_elements=["job"]).returning(Lease.job)
        )
        return inserted is not None


def renew(db: Database, jobs: Iterable[str], holder: str, now: datetime, ttl: timedelta) -> set[str]:
    """Extend the leases ``holder`` has on ``jobs``; returns the jobs whose lease it no longer has."""
    wanted = set(jobs)
    if not wanted:
        return set()
    with db.session() as session:
        session.execute(
            sa.update(Lease).where(Lease.job.in_(wanted), Lease.holder == holder)
            .values(expires_at=now + ttl).execution_options(synchronize_session=False)
        )
        kept = set(session.scalars(sa.select(Lease.job).where(Lease.job.in_(wanted), Lease.holder == holder)))
    return wanted - kept


def release(db: Database, job: str, holder: str) -> None:
    """Give the lease back (nothing happens when ``holder`` no longer has it)."""
    with db.session() as session:
        session.execute(
            sa.update(Lease).where(Lease.job == job, Lease.holder == holder)
            .values(holder=None, expires_at=None).execution_options(synchronize_session=False)
        )


def holders(db: Database, now: datetime) -> dict[str, tuple[str, datetime]]:
    """``{job: (holder, expires_at)}`` of the leases held now (``repo worker --list``)."""
    with db.session() as session:
        rows = session.execute(
            sa.select(Lease.job, Lease.holder, Lease.expires_at)
            .where(Lease.holder.is_not(None), Lease.expires_at >= now)
        ).all()
    return {job: (str(holder), expires) for job, holder, expires in rows if expires is not None}
