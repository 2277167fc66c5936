"""The indexer: drains the search outbox into the backend, after commit, idempotently.

Every change that affects search writes an outbox row in the transaction that makes it
(``repo.search.outbox.enqueue``). The indexer reads due rows in batches, rebuilds each touched
work's document from its *current* SQL state (a work that is gone becomes a deletion), writes the
batch to the backend and only then deletes the rows it read. So:

* a crash anywhere leaves the rows in place and the next run redoes them (indexing is idempotent);
* rows written while a batch runs are not deleted by it and are processed next;
* a document that fails (bad data, backend rejection) gets ``attempts + 1``, its error and an
  exponential back-off in ``available_at``; the rest of the batch goes through.

It runs as the worker job ``search.outbox`` (:mod:`repo.search.jobs`: one batch per call, woken
after each commit; on PostgreSQL several workers drain side by side, each batch claiming its rows
with ``FOR UPDATE SKIP LOCKED``) and from the CLI (``repo index drain``, which first lifts due
embargoes — ``repo.works.service.lift_embargoes`` — as the ``works.embargoes`` job does).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo.clock import Clock
from repo.db import Database
from repo.search import documents
from repo.search.backend import SearchBackend
from repo.search.documents import SearchDocument
from repo.search.models import OutboxEntry
from repo.works.models import Work

log = logging.getLogger("repo.search.indexer")

BATCH_SIZE = 200
#: Back-off after the n-th failure: 5 s, 10 s, 20 s … capped at one hour.
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


@dataclass
class DrainReport:
    indexed: int = 0
    deleted: int = 0
    failed: int = 0
    batches: int = 0
    errors: dict[int, str] = field(default_factory=dict)


class Indexer:
    """Drains the outbox of ``database`` into ``backend``; ``clock`` dates retries and embargo lifts.

    ``fail`` (tests only) is called with each batch's work ids before they reach the backend, so a
    test can crash the indexer mid-batch at a chosen point.
    """

    def __init__(self, database: Database, backend: SearchBackend, clock: Clock, *,
                 batch_size: int = BATCH_SIZE, fail: Callable[[Sequence[int]], None] | None = None) -> None:
        self.database = database
        self.backend = backend
        self.clock = clock
        self.batch_size = batch_size
        self._fail = fail

    # SQLite has no row locks: one batch at a time per process (the worker's job, a test's flush).
    _sqlite_lock = threading.Lock()

    def lift_embargoes(self) -> int:
        from repo.works.service import lift_embargoes

        with self.database.session() as session:
            return lift_embargoes(session, self.clock.now())

    def drain(self, *, max_batches: int | None = None) -> DrainReport:
        """Lift due embargoes, then process due rows until none is left (or ``max_batches``)."""
        report = DrainReport()
        self.lift_embargoes()
        while max_batches is None or report.batches < max_batches:
            if not self.run_batch(report):
                break
        return report

    def flush(self, *, timeout: float = 60.0) -> DrainReport:
        """Tests: "wait for the indexer" — drain now, in the caller's thread, until no due row is left.

        A plain :meth:`drain` stops when it finds nothing *it* may take; on PostgreSQL the rows of a
        work another drainer (the app's worker) is indexing are skipped, and that drainer may be
        writing an older state of the work. So wait for those rows too, then drain them.
        """
        report = DrainReport()
        self.lift_embargoes()
        deadline = time.monotonic() + timeout
        while True:
            while self.run_batch(report):
                pass
            if not self._due() or time.monotonic() > deadline:
                return report
            time.sleep(0.02)

    def _due(self) -> int:
        with self.database.session() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)
                                      .where(OutboxEntry.available_at <= self.clock.now())) or 0)

    def run_batch(self, report: DrainReport | None = None) -> int:
        """One batch of due rows (the worker job); how many rows it handled, 0 when none was due."""
        postgres = self.database.engine.dialect.name == "postgresql"
        with contextlib.nullcontext() if postgres else self._sqlite_lock:
            return self._batch(report or DrainReport())

    def _batch(self, report: DrainReport) -> int:
        now = self.clock.now()
        with self.database.session() as session:
            query = (sa.select(OutboxEntry.id, OutboxEntry.work_id, OutboxEntry.attempts)
                     .where(OutboxEntry.available_at <= now).order_by(OutboxEntry.id).limit(self.batch_size))
            postgres = session.get_bind().dialect.name == "postgresql"
            if postgres:
                query = query.with_for_update(skip_locked=True)  # concurrent drainers share the work
            rows = session.execute(query).all()
            if postgres and rows:
                rows = _own_works(session, rows)
            if not rows:
                return 0
            work_ids = sorted({row.work_id for row in rows})
            errors = self._index(session, work_ids)
            if self._fail is not None:
                self._fail(work_ids)
            done = [row.id for row in rows if row.work_id not in errors]
            if done:
                session.execute(sa.delete(OutboxEntry).where(OutboxEntry.id.in_(done)))
            for row in rows:
                if row.work_id in errors:
                    session.execute(
                        sa.update(OutboxEntry).where(OutboxEntry.id == row.id).values(
                            attempts=row.attempts + 1, last_error=errors[row.work_id][:2000],
                            available_at=now + backoff(row.attempts + 1))
                    )
        report.batches += 1
        report.failed += len(errors)
        report.errors.update(errors)
        report.indexed += len(work_ids) - len(errors)
        return len(rows)

    def _index(self, session: Session, work_ids: list[int]) -> dict[int, str]:
        """Bring ``work_ids`` to their current SQL state in the backend; ``{id: error}`` of failures."""
        docs, errors = _load(session, work_ids)
        gone = [i for i in work_ids if i not in docs and i not in errors]
        try:
            if gone:
                self.backend.delete(gone)
            if docs:
                errors.update(self.backend.index(list(docs.values())))
        except Exception as exc:  # backend down: every row of the batch retries later
            log.warning("search backend failed on a batch: %s", exc)
            return {i: f"{type(exc).__name__}: {exc}" for i in work_ids}
        return errors


def _own_works(session: Session, rows: Sequence[Any]) -> list[Any]:
    """The rows of the works no other drainer is indexing now (PostgreSQL).

    Row locks keep two drainers off the same *row*, not off the same *work*: one drainer could
    index a work's older state after another indexed its newer one (the index then lags SQL with
    the outbox empty; the load test found it). So each batch also holds a transaction-scoped
    advisory lock per work (key: the work id; the application takes no other advisory lock) and
    leaves the rows of works another batch holds for later: a later batch reads the newer state.
    """
    ids = sorted({row.work_id for row in rows})
    mine = set(session.scalars(sa.text("SELECT w FROM unnest(CAST(:ids AS bigint[])) AS w "
                                       "WHERE pg_try_advisory_xact_lock(w)"), {"ids": ids}))
    return [row for row in rows if row.work_id in mine]


def _load(session: Session, work_ids: list[int]) -> tuple[dict[int, SearchDocument], dict[int, str]]:
    """Documents of the works; one that cannot be built fails alone."""
    try:
        return documents.load(session, work_ids), {}
    except Exception:
        session.rollback()
    docs: dict[int, SearchDocument] = {}
    errors: dict[int, str] = {}
    for work_id in work_ids:
        try:
            docs.update(documents.load(session, [work_id]))
        except Exception as exc:
            session.rollback()
            errors[work_id] = f"document: {type(exc).__name__}: {exc}"
    return docs, errors


# -- operations ---------------------------------------------------------------------------------


@dataclass
class Status:
    pending: int
    due: int
    failing: int
    oldest: datetime | None
    last_errors: list[tuple[int, int, str]]  # (work id, attempts, error)
    indexed: int


def status(database: Database, backend: SearchBackend, now: datetime) -> Status:
    with database.session() as session:
        pending, oldest = session.execute(sa.select(sa.func.count(), sa.func.min(OutboxEntry.created_at))).one()
        due = session.scalar(sa.select(sa.func.count()).where(OutboxEntry.available_at <= now)) or 0
        failing = session.scalar(sa.select(sa.func.count()).where(OutboxEntry.attempts > 0)) or 0
        errors = session.execute(
            sa.select(OutboxEntry.work_id, OutboxEntry.attempts, OutboxEntry.last_error)
            .where(OutboxEntry.attempts > 0).order_by(OutboxEntry.id.desc()).limit(5)
        ).all()
    return Status(pending, due, failing, oldest, [(w, a, e or "") for w, a, e in errors], backend.count())


@dataclass
class CheckReport:
    missing: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)
    wrong_visibility: list[int] = field(default_factory=list)
    checked: int = 0
    repaired: int = 0

    @property
    def parity(self) -> bool:
        return not (self.missing or self.stale or self.extra or self.wrong_visibility)


def check(database: Database, backend: SearchBackend, *, repair: bool = False, batch_size: int = 1000) -> CheckReport:
    """Compare the index with SQL; with ``repair``, re-index or delete what differs.

    *missing*: in SQL, not indexed; *extra*: indexed, not in SQL; *wrong visibility*: indexed with
    other status/centre/access/embargo than SQL's (a leak or a hole); *stale*: any other difference.
    """
    report = CheckReport()
    indexed = backend.states()
    seen: set[int] = set()
    with database.session() as session:
        for batch in documents.batches(session, batch_size):
            fix: list[SearchDocument] = []
            for doc in batch:
                seen.add(doc.id)
                state = indexed.get(doc.id)
                if state is None:
                    report.missing.append(doc.id)
                elif state.fingerprint != doc.fingerprint:
                    report.wrong_visibility.append(doc.id)
                elif state.version != doc.version or state.digest != doc.digest:
                    report.stale.append(doc.id)
                else:
                    continue
                fix.append(doc)
            report.checked += len(batch)
            if repair and fix:
                errors = backend.index(fix)
                report.repaired += len(fix) - len(errors)
    report.extra = sorted(set(indexed) - seen)
    if repair and report.extra:
        backend.delete(report.extra)
        report.repaired += len(report.extra)
    return report


def reindex(database: Database, backend: SearchBackend, clock: Clock, *, batch_size: int = 1000,
            progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from SQL into a fresh index, swap it in, then catch up.

    Changes committed while the rebuild ran may have reached only the old index: after the swap,
    works updated since the start are indexed again and works deleted meanwhile are removed.
    """
    started = clock.now() - timedelta(seconds=5)
    with database.session() as session:
        def produce() -> Iterable[list[SearchDocument]]:
            for batch in documents.batches(session, batch_size):
                yield batch
                if progress is not None:
                    progress(len(batch))

        count = backend.rebuild(produce())
    with database.session() as session:
        recent = session.scalars(sa.select(Work.id).where(Work.updated_at >= started)).all()
        if recent:
            backend.index(list(documents.load(session, recent).values()))
        existing = set(session.scalars(sa.select(Work.id)).all())
    extra = set(backend.states()) - existing
    if extra:
        backend.delete(sorted(extra))
    return count


def total_works(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Work)) or 0)
