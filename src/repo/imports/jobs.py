"""Running imports: an import run, and the background job that resumes them.

An import run: rows of a stored file, in batches, through the ingest pipeline.

* **Batches.** ``REPO_IMPORT_BATCH`` rows (500) at a time go through :func:`repo.ingest.pipeline.ingest` (a
  *strict* feed: a value the deposit API would refuse fails the row, naming the field) in one
  transaction that also moves the import's position (rows read, byte offset), its counters and its
  report. A process killed mid-import leaves the last committed batch as the position; the next run
  (``repo import`` again, or the background job) goes on from there: no gap, and no duplicate —
  rows are matched by their external id in any case.
* **External ids.** A row's ``external_id`` (a BibTeX key, a RIS ``ID``) is its identity in the
  import's feed (one per centre); a row without one is known by its DOI, handle or ISBN, or
  failing those by its content, so importing the same file again creates nothing new.
* **Files** named by a row are found under the import's files directory (never outside it: no
  absolute path, no ``..``, no symbolic link out) before anything is written, then attached in the
  row's savepoint through :func:`repo.files.service.store_local` (the upload path); a file that
  fails fails its row, and nothing of the row stays.
* **Dry runs** read, validate and match every row and write the report, and nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from repo.clock import Clock
from repo.config import Settings
from repo.context import Context
from repo.db import Database
from repo.deposit.auth import Principal
from repo.errors import FieldError, ProblemError, Unprocessable
from repo.files import service as files
from repo.files.storage import FileStore
from repo.files.schemas import FileAccessIn
from repo.ingest import matching, pipeline
from repo.ingest.harvester import _alive as alive  # the same rule as harvest runs: a dead owner's run is taken over
from repo.imports import layout, repository
from repo.imports.models import COUNTERS, Import, ImportProblem
from repo.imports.readers import FileProblem, Row, open_reader
from repo.ingest.models import IngestRecord
from repo.works.models import Work
from repo.works.vocabularies import Status
from repo.worker import Job, Resources



class Busy(Exception):
    """Another live process is running this import."""


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def stored_path(settings: Settings, job: Import) -> Path:
    return Path(settings.data_dir) / "imports" / job.stored


@dataclass
class _File:
    path: Path
    name: str
    access: FileAccessIn | None


@dataclass
class ImportRun:
    """One invocation of an import (``repo import``, or the background job for ``POST /api/imports``)."""

    db: Database
    settings: Settings
    clock: Clock
    import_id: int
    files: FileStore  # where attached files' bytes go (the composition root's adapter)
    owner: str = field(default_factory=owner_name)
    on_batch: Callable[[Import], None] | None = None  # after each committed batch (a progress bar)
    should_stop: Callable[[], bool] = lambda: False
    slice_seconds: float | None = None  # stop (resumably) after this long: background work in slices
    # Validate in a second process (pipeline.Preparer) while this one writes, when what is left of
    # the file is at least this many bytes; None: never (the server's background job, whose
    # process serves requests too). ``repo import`` sets it.
    parallel_from_bytes: int | None = None
    rows_read: int = field(default=0, init=False)

    def run(self) -> int:
        """Import until the file ends (or the slice is used up); returns the rows read by this call."""
        deadline = time.monotonic() + self.slice_seconds if self.slice_seconds is not None else None
        job = self._claim()
        if job is None:
            return 0
        try:
            reader = open_reader(stored_path(self.settings, job), job.format, job.encoding or "utf-8")
            rows = reader.rows(job.offset, job.rows)
        except (FileProblem, OSError) as exc:
            self._fail(str(exc))
            return 0
        principal = Principal(token_id=job.token_id, name=job.actor, role=job.actor_role,
                              centre_ids=frozenset(job.actor_centres))
        feed = pipeline.Feed(job.feed, job.centre.slug, (job.collection.slug,) if job.collection else (),
                             strict=True, after_write=self._attach)
        dry = pipeline.DryRun() if job.dry_run else None
        context = _Job(job.id, job.format, job.publish, job.dry_run, job.filename,
                       Path(job.files_dir) if job.files_dir else None, principal)
        batches = (self._read(context, batch) for batch in iter(lambda: list(islice(rows, self.settings.import_batch)), []))
        left = max(job.size - job.offset, 0)
        with (pipeline.Preparer() if self.parallel_from_bytes is not None and left >= self.parallel_from_bytes
              else contextlib.nullcontext()) as preparer:
            # With a preparer, batch n + 1 is read and validated (there) while batch n is written here.
            ahead = _ahead(batches, feed, preparer)
            for batch, prepared in ahead:
                self._batch(context, feed, batch, dry, prepared())
                self.rows_read += len(batch.rows)
                if self.should_stop() or (deadline is not None and time.monotonic() > deadline):
                    self._release()
                    return self.rows_read
        self._finish()
        return self.rows_read

    # -- claiming (new, or resuming an interrupted import) ---------------------------------------------

    def _claim(self) -> Import | None:
        now = self.clock.now()
        with self.db.session() as session:
            job = session.scalars(sa.select(Import).where(Import.id == self.import_id)
                                  .with_for_update(of=Import)).one_or_none()
            if job is None or job.status in ("succeeded", "failed"):
                return None
            if job.status == "running" and job.owner and job.owner != self.owner and alive(job, self.owner, now):
                raise Busy(f"import {job.id} is being run by {job.owner}")
            job.status, job.owner, job.heartbeat_at = "running", self.owner, now
            job.started_at = job.started_at or now
            job.attempts += 1
            session.flush()
            session.expunge(job)
            return job

    def _release(self) -> None:
        """Stop here, resumable by anyone (the background job's next slice)."""
        with self.db.session() as session:
            job = session.get(Import, self.import_id)
            if job is not None and job.owner == self.owner:
                job.owner = None

    def _finish(self) -> None:
        with self.db.session() as session:
            job = session.get(Import, self.import_id)
            assert job is not None
            job.status, job.finished_at, job.owner = "succeeded", self.clock.now(), None

    def _fail(self, reason: str) -> None:
        with self.db.session() as session:
            job = session.get(Import, self.import_id)
            assert job is not None
            job.status, job.finished_at, job.owner, job.error = "failed", self.clock.now(), None, reason[:4000]

    # -- one batch -------------------------------------------------------------------------------------

    def _read(self, job: _Job, rows: list[Row]) -> _Batch:
        """A batch's rows as the pipeline's incoming records (a record named twice fails here)."""
        batch = _Batch(rows)
        now = self.clock.now()
        for row in rows:
            if row.blank:
                continue
            item = self._incoming(job, row, now)
            if item.external_id in batch.where:
                batch.counts["seen"] += 1
                batch.counts["failed"] += 1
                batch.problems.append(_problem(job.id, row.number, item.external_id, "failed", "external_id",
                                               f"row {batch.where[item.external_id]} has the same external id (or, "
                                               "without one, the same DOI, handle, ISBN or content): each record once"))
                continue
            batch.where[item.external_id] = row.number
            batch.items.append(item)
        return batch

    def _batch(self, job: _Job, feed: pipeline.Feed, batch: _Batch, dry: pipeline.DryRun | None,
               prepared: list[pipeline._Prepared] | None) -> None:
        rows, where, problems, counts = batch.rows, batch.where, batch.problems, batch.counts
        with self.db.session() as session:
            now = self.clock.now()
            ctx = Context(session, job.principal, now, self.settings, self.clock, self.files)
            again = set(_applied_before(session, feed.key, job.id, list(where)))
            kept = [n for n, item in enumerate(batch.items) if item.external_id not in again]
            items = [batch.items[n] for n in kept]
            if prepared is not None:
                prepared = [prepared[n] for n in kept]
            for external_id in sorted(again):
                counts["seen"] += 1
                counts["failed"] += 1
                problems.append(_problem(job.id, where[external_id], external_id, "failed", "external_id",
                                         "an earlier row has the same external id (or, without one, the same DOI, "
                                         "handle, ISBN or content): each record once"))
            outcome = pipeline.ingest(ctx, feed, items, run_id=job.id, dry_run=dry, prepared=prepared)
            for name, count in outcome.counts.items():
                if name in counts:
                    counts[name] += count
            for p in outcome.problems:
                label = layout.column_label(p.field) if job.format == "csv" and p.field else p.field
                problems.append(_problem(job.id, where.get(p.external_id), p.external_id, p.kind, label, p.reason,
                                         p.work_id))
            if problems:  # in the file's order (the pipeline reports by kind)
                problems.sort(key=lambda p: p["row"] or 0)
                session.execute(sa.insert(ImportProblem), problems)
            record = session.get(Import, job.id)
            assert record is not None
            for name, count in counts.items():
                setattr(record, name, getattr(record, name) + count)
            record.rows, record.offset, record.heartbeat_at = rows[-1].index, rows[-1].offset, now
            session.flush()
            session.expunge(record)
        if self.on_batch is not None:
            self.on_batch(record)

    def _incoming(self, job: _Job, row: Row, now: Any) -> pipeline.Incoming:
        errors = list(row.errors)
        record: dict[str, Any] | None = None
        status = Status.published if job.publish else Status.draft
        reason: str | None = None
        refs: list[layout.FileRef] = []
        external_id = row.key
        if row.record is not None:
            record = dict(row.record)
            keys, problems = layout.import_keys(record)
            errors += [(layout.column_label(f) if job.format == "csv" else f, m) for f, m in problems]
            if keys is not None:
                external_id = keys.external_id
                status = Status(keys.status) if keys.status else status
                reason, refs = keys.withdrawal_reason, list(keys.files)
        elif row.draft is not None:
            refs = [layout.FileRef(path=p) for p in row.files]
        if status == Status.withdrawn and not reason:
            errors.append(("withdrawal_reason", "a withdrawn work needs the reason it was withdrawn"))
        external_id = external_id or _synthetic(record if record is not None else
                                                (row.draft.record() if row.draft is not None else None))
        attached, fingerprint = self._files(job, refs, errors)
        item = pipeline.Incoming(
            external_id, draft=row.draft, record=record, errors=errors, status=status, withdrawal_reason=reason,
            fingerprint=json.dumps([status, reason, fingerprint]) if (status != Status.published or fingerprint)
            else None,
            origin={"kind": "import", "import_id": job.id, "file": job.filename, "row": row.number,
                    "identifier": external_id, "imported_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
            extra=attached)
        if record is None and row.draft is None:
            item.error = "; ".join(f"{f}: {m}" for f, m in errors) or "nothing could be read"
        return item

    def _files(self, job: _Job, refs: Sequence[layout.FileRef], errors: list[tuple[str, str]],
               ) -> tuple[list[_File], list[Any]]:
        """The files a row names, found under the files directory (errors otherwise)."""
        attached: list[_File] = []
        fingerprint: list[Any] = []
        for i, ref in enumerate(refs):
            name = f"files (value {i + 1})" if job.format == "csv" else f"files[{i}]"
            try:
                path = _confined(job.files_dir, ref.path)
                size = path.stat().st_size
                if size > self.settings.upload_max_bytes:
                    raise ValueError(f"the file is larger than the upload limit ({self.settings.upload_max_bytes:,} "
                                     "bytes)")
                access = FileAccessIn(access_right=ref.access_right, embargo_end=ref.embargo_end) \
                    if ref.access_right else None
                if job.dry_run:
                    files.check_local(path, path.name, self.settings.upload_max_bytes)
                else:
                    files.clean_name(path.name)
            except ValueError as exc:
                errors.append((name, str(exc)))
                continue
            except ProblemError as exc:
                errors.append((name, "; ".join(e["message"] for e in exc.errors) or exc.detail))
                continue
            attached.append(_File(path, path.name, access))
            stat = path.stat()
            fingerprint.append([ref.path, stat.st_size, stat.st_mtime_ns, ref.access_right,
                                ref.embargo_end.isoformat() if ref.embargo_end else None])
        return attached, fingerprint

    def _attach(self, ctx: Context, written: Sequence[tuple[pipeline.Incoming, int]]) -> None:
        """The pipeline's after-write step: the rows' files, through the upload path."""
        for item, work_id in written:
            main = (item.record or {}).get("main_file")
            if main is not None and main not in [found.name for found in item.extra or ()]:
                raise Unprocessable("Unknown main file.", errors=[FieldError(
                    "main_file", f"the row attaches no file named '{str(main)[:200]}'")])
            for i, found in enumerate(item.extra or ()):
                try:  # its text and thumbnail: the worker's files.extract job, as after an upload
                    files.store_local(ctx, work_id, found.path, found.name, found.access)
                except ProblemError as exc:
                    message = "; ".join(e["message"] for e in exc.errors) or exc.detail
                    raise Unprocessable(f"The file {found.name} is not accepted.",
                                        errors=[FieldError(f"files[{i}]", f"{found.name}: {message}")]) from None
                except OSError as exc:
                    raise Unprocessable("A file cannot be read.", errors=[FieldError(
                        f"files[{i}]", f"{found.name}: {exc.strerror or exc}")]) from None
            if main is not None:  # a new work is created before its files: its main file is named after them
                work = ctx.session.get(Work, work_id)
                if work is not None and work.main_file != main:
                    work.main_file = main


@dataclass
class _Batch:
    """A batch of rows, read: its incoming records, and what already failed in the reading."""

    rows: list[Row]
    items: list[pipeline.Incoming] = field(default_factory=list)
    where: dict[str, int] = field(default_factory=dict)  # external id → row number
    problems: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {c: 0 for c in COUNTERS})


def _ahead(batches: Iterator[_Batch], feed: pipeline.Feed, preparer: pipeline.Preparer | None,
           ) -> Iterator[tuple[_Batch, Callable[[], list[pipeline._Prepared] | None]]]:
    """Each batch with the call that gives its prepared records: without a preparer, none (the
    pipeline prepares them); with one, the next batch is read and sent to it before this one is
    handed out, so that it is prepared there while this one is written."""
    if preparer is None:
        for batch in batches:
            yield batch, lambda: None
        return
    yield from pipeline.ahead(batches, lambda batch: preparer.submit(feed, batch.items))


@dataclass(frozen=True)
class _Job:
    id: int
    format: str
    publish: bool
    dry_run: bool
    filename: str
    files_dir: Path | None
    principal: Principal


def _problem(import_id: int, row: int | None, external_id: str | None, kind: str, field: str | None, message: str,
             work_id: int | None = None) -> dict[str, Any]:
    return {"import_id": import_id, "row": row, "external_id": (external_id or "")[:1000] or None, "kind": kind,
            "field": (field or "")[:500] or None, "message": message[:4000], "work_id": work_id}


def _applied_before(session: Any, feed: str, import_id: int, external_ids: list[str]) -> list[str]:
    """Which of these external ids an earlier batch of this same import applied (a file naming a
    record twice)."""
    if not external_ids:
        return []
    return list(session.scalars(sa.select(IngestRecord.external_id).where(
        IngestRecord.feed == feed, IngestRecord.external_id.in_(external_ids), IngestRecord.last_run_id == import_id)))


def _synthetic(record: dict[str, Any] | None) -> str:
    """A row's identity when it gives no external id: its first DOI, handle or ISBN, else its content."""
    metadata = record.get("metadata") if isinstance(record, dict) else None
    keys = sorted(matching.keys(metadata if isinstance(metadata, dict) else None))
    for scheme in ("doi", "handle", "isbn"):
        for key in keys:
            if key[0] == scheme:
                return f"{scheme}:{key[1]}"
    content = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(content.encode("utf-8", errors="surrogateescape")).hexdigest()


def _confined(root: Path | None, given: str) -> Path:
    """The file ``given`` names under ``root``; ValueError when there is none or it lies outside."""
    if root is None:
        raise ValueError("files are attached from a directory: import with --files DIR")
    relative = Path(given)
    if relative.is_absolute() or given.startswith(("/", "\\")) or ".." in relative.parts or "\\" in given:
        raise ValueError(f"{given!r} is not a path inside the files directory (no absolute paths, no '..')")
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise ValueError(f"{given!r} leads outside the files directory (a symbolic link?)")
    if not path.is_file():
        raise ValueError(f"no file {given!r} in the files directory")
    return path


# -- background work -------------------------------------------------------------------------------------

log = logging.getLogger("repo.imports")

#: How long one batch of the worker job may import before it yields (the import resumes at once).
SLICE_SECONDS = 60.0


def run_queued(db: Database, settings: Settings, clock: Clock, files: FileStore,
               should_stop: Callable[[], bool] = lambda: False, slice_seconds: float | None = None) -> int:
    """Run each import that is queued, or was running in a process that has died, for at most
    ``slice_seconds`` each (it stops resumably); returns the rows read."""
    with db.session() as session:
        waiting = [job.id for job in repository.runnable(session)]
    done = 0
    for import_id in waiting:
        if should_stop():
            break
        run = ImportRun(db, settings, clock, import_id, files, should_stop=should_stop, slice_seconds=slice_seconds)
        try:
            run.run()
        except Busy:
            continue  # another process runs it (repo import in a terminal)
        except Exception:
            log.exception("import %s failed", import_id)
        done += run.rows_read
    return done


def _run_queued(resources: Resources) -> int:
    if resources.settings.import_poll_seconds <= 0:
        return 0
    return run_queued(resources.db, resources.settings, resources.clock, resources.files,
                      resources.stopping.is_set, slice_seconds=SLICE_SECONDS)


def _period(settings: Settings) -> float:
    return settings.import_poll_seconds if settings.import_poll_seconds > 0 else 3600.0


# Woken by the commit of POST /api/imports; one worker at a time (the lease), which takes over the
# imports of a process that died.
JOBS = [Job("imports.run", _run_queued, interval=_period, on_commit=True)]
