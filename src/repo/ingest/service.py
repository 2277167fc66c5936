"""Harvest sources: adding one (it must answer OAI-PMH), listing, pausing, resuming, removing,
running, and what each run did. Administrators only; the CLI runs as the ``cli`` administrator."""

from __future__ import annotations

from collections.abc import Sequence
import time
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from repo.clock import Clock
from repo.config import Settings
from repo.context import Context
from repo.db import Database
from repo.errors import Conflict, FieldError, NotFound, Unprocessable
from repo.ingest import repository
from repo.ingest.client import Budget, HarvestClient
from repo.ingest.harvester import Harvest, describe, identify, metadata_formats
from repo.ingest.mapping import MAPPERS
from repo.ingest.models import HarvestRun, HarvestSource, IngestRecord
from repo.ingest.schemas import ProblemOut, RunOut, SourceDetail, SourceIn, SourceOut, SourceUpdate, every_seconds
from repo.works import repository as works_repository
from repo.works import service as works
from repo.works.models import Work

PROBE_SECONDS = 60  # adding a source waits this long at most for its Identify and ListMetadataFormats


def _every(value: Any, field: str = "every") -> int | None:
    try:
        return every_seconds(value)
    except ValueError as exc:
        raise Unprocessable("Invalid interval.", errors=[FieldError(field, str(exc))]) from None


def add_source(ctx: Context, data: SourceIn) -> HarvestSource:
    """Register a source after checking it answers Identify and offers the prefix, in a namespace we map."""
    ctx.principal.require_admin()
    centre = works_repository.centre_by_slug(ctx.session, data.centre)
    if centre is None:
        raise Unprocessable("Unknown member centre.", errors=[FieldError("centre", f"no centre '{data.centre}'")])
    collection = None
    if data.collection:
        collection = works_repository.collection_by_slug(ctx.session, data.collection)
        if collection is None:
            raise Unprocessable("Unknown collection.",
                                errors=[FieldError("collection", f"no collection '{data.collection}'")])
    every = _every(data.every)
    if repository.source_by_endpoint(ctx.session, data.url, data.set, data.prefix) is not None:
        raise Conflict(f"{data.url} (set {data.set or 'none'}, {data.prefix}) is harvested already.")
    budget = Budget.of(ctx.settings)
    budget.deadline = min(budget.deadline, time.monotonic() + PROBE_SECONDS)
    client = HarvestClient(data.url, ctx.settings.model_copy(update={"harvest_retries": 1}), budget)
    try:
        identity = identify(client)
        formats = metadata_formats(client)
    except Exception as exc:
        raise Unprocessable("The URL does not answer OAI-PMH.", errors=[FieldError(
            "url", f"Identify and ListMetadataFormats at {data.url} failed: {describe(exc)}")]) from None
    finally:
        client.close()
    namespace = formats.get(data.prefix)
    if namespace is None:
        raise Unprocessable("The source does not offer that metadata format.", errors=[FieldError(
            "prefix", f"{data.url} offers {', '.join(sorted(formats)) or 'no format'}, not {data.prefix!r}")])
    if namespace not in MAPPERS:
        raise Unprocessable("That metadata format cannot be harvested (no mapping).", errors=[FieldError(
            "prefix", f"{data.prefix!r} is {namespace}; harvestable namespaces: {', '.join(sorted(MAPPERS))}")])
    source = HarvestSource(
        base_url=data.url, set_spec=data.set, metadata_prefix=data.prefix, metadata_namespace=namespace,
        centre=centre, centre_id=centre.id, collection=collection, every_seconds=every, status="active",
        repository_name=identity.repository_name or data.url, granularity=identity.granularity,
        deleted_record=identity.deleted_record, earliest_datestamp=identity.earliest_datestamp,
        next_due_at=ctx.now if every else None, created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(source)
    ctx.session.flush()
    return source


def get_source(ctx: Context, source_id: int) -> HarvestSource:
    ctx.principal.require_admin()
    source = repository.source(ctx.session, source_id)
    if source is None:
        raise NotFound(f"No harvest source {source_id}.")
    return source


def list_sources(ctx: Context) -> Sequence[HarvestSource]:
    ctx.principal.require_admin()
    return repository.sources(ctx.session)


def update_source(ctx: Context, source_id: int, data: SourceUpdate) -> HarvestSource:
    source = get_source(ctx, source_id)
    fields = data.model_dump(exclude_unset=True)
    if "every" in fields:
        source.every_seconds = _every(fields["every"])
        source.next_due_at = ctx.now if source.every_seconds else None
    if fields.get("status"):
        source.status = fields["status"]
        if source.status == "active" and source.every_seconds and source.next_due_at is None:
            source.next_due_at = ctx.now
    source.updated_at = ctx.now
    return source


def request_run(ctx: Context, source_id: int) -> HarvestSource:
    """Make the source due now: the background harvester runs it next (paused sources too stay paused)."""
    source = get_source(ctx, source_id)
    if source.status != "active":
        raise Conflict("The source is paused; resume it first.")
    source.next_due_at = ctx.now
    return source


def remove_source(ctx: Context, source_id: int) -> int:
    """Forget a source and its runs. Its works stay (published, with their provenance) and become
    ordinary, editable works: each is detached through the works service (a revision). Returns
    how many works were detached."""
    source = get_source(ctx, source_id)
    if any(r.status == "running" for r in repository.runs(ctx.session, source.id, limit=1)):
        raise Conflict("A run of this source is in progress; pause the source and try again when it ends.")
    ids = repository.owned_work_ids(ctx.session, source.feed)
    for work in ctx.session.scalars(sa.select(Work).where(Work.id.in_(ids))) if ids else ():
        works.ingest_detach(ctx, work)
    ctx.session.execute(sa.delete(IngestRecord).where(IngestRecord.feed == source.feed))
    ctx.session.delete(source)
    ctx.session.flush()
    return len(ids)


def run_source(db: Database, settings: Settings, clock: Clock, source_id: int, *, full: bool = False) -> int:
    """Harvest one source now (outside any request: a run commits page by page); returns the run id.
    A big run maps and validates in a second process (``REPO_HARVEST_PARALLEL_FROM_RECORDS``)."""
    return Harvest(db, settings, clock, source_id, full=full,
                   parallel_from_records=settings.harvest_parallel_from_records).run()


# -- what the API and the CLI show ------------------------------------------------------------------

def run_out(run: HarvestRun) -> RunOut:
    end = run.finished_at or (run.heartbeat_at if run.status == "running" else None)
    return RunOut(
        id=run.id, full=run.full, status=run.status, started_at=run.started_at, finished_at=run.finished_at,
        duration_seconds=(end - run.started_at).total_seconds() if end else None, attempts=run.attempts,
        range_from=run.range_from, range_until=run.range_until, window_from=run.window_from,
        window_until=run.window_until, resumable_from_token=bool(run.token), pages=run.pages, bytes=run.bytes,
        window_restarts=run.window_restarts, seen=run.seen, created=run.created, updated=run.updated,
        unchanged=run.unchanged, withdrawn=run.withdrawn, linked=run.linked, skipped=run.skipped,
        failed=run.failed, missing=run.missing, last_error=run.last_error)


def source_out(ctx: Context, source: HarvestSource) -> SourceOut:
    last = repository.run(ctx.session, source.last_run_id)
    return SourceOut(
        id=source.id, url=source.base_url, set=source.set_spec, prefix=source.metadata_prefix,
        metadata_namespace=source.metadata_namespace, centre=source.centre.slug,
        collection=source.collection.slug if source.collection else None, every_seconds=source.every_seconds,
        status=source.status, repository_name=source.repository_name, granularity=source.granularity,
        deleted_record=source.deleted_record, earliest_datestamp=source.earliest_datestamp,
        harvested_through=source.harvested_through, next_due_at=source.next_due_at, last_error=source.last_error,
        records=repository.record_counts(ctx.session, source.feed), last_run=run_out(last) if last else None,
        created=source.created_at, updated=source.updated_at)


def source_detail(ctx: Context, source: HarvestSource, *, problems: int = 50) -> SourceDetail:
    runs = repository.runs(ctx.session, source.id)
    found = repository.problems(ctx.session, runs[0].id, problems) if runs else []
    return SourceDetail(
        **source_out(ctx, source).model_dump(), runs=[run_out(r) for r in runs],
        problems=[ProblemOut(run_id=p.run_id, identifier=p.external_id, kind=p.kind, reason=p.reason,
                             work_id=p.work_id, at=p.at) for p in found])


def validated_source(values: dict[str, Any]) -> SourceIn:
    from repo.errors import validation_errors

    try:
        return SourceIn.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise Unprocessable("Invalid source.", errors=validation_errors(exc.errors())) from None
