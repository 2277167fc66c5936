"""The work lifecycle: draft → published → withdrawn (a tombstone, kept forever).

Every change writes a revision (who, when, what), bumps ``version`` (the ETag) and writes an
outbox row for search, in the caller's transaction. Every change of what a harvester receives
also bumps the OAI ``datestamp``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from repo.centres.models import Collection, MemberCentre
from repo.config import Settings
from repo.db import after_commit, insert_many
from repo.context import Context
from repo.errors import (
    BadRequest,
    Conflict,
    FieldError,
    Gone,
    NotFound,
    PreconditionFailed,
    Unprocessable,
    validation_errors,
)
from repo.search import outbox
from repo.signing import InvalidToken, Signer
from repo.works import counts, repository, visibility
from repo.works.models import Revision, Work, work_collections
from repo.works.schemas import (
    Links,
    RevisionOut,
    WithdrawIn,
    Withdrawal,
    WorkIn,
    WorkOut,
    WorkPage,
    WorkSource,
    missing_for_publication,
)
from repo.works.vocabularies import AccessRight, Status

# -- representation -------------------------------------------------------------------------------


def deposit_record(work: Work) -> dict[str, Any]:
    """The work in the shape editors send (``WorkIn``): the base of PATCH and of revision diffs."""
    return _record_shape(work.type, work.centre.slug, [c.slug for c in work.collections], work.access_right,
                         work.embargo_end, work.doc, work.main_file)


def _record_shape(type_: str | None, centre: str, collections: list[str], access_right: str | None,
                  embargo_end: Any, doc: dict[str, Any], main_file: str | None = None) -> dict[str, Any]:
    return {"type": type_, "centre": centre, "collections": collections, "access_right": access_right,
            "embargo_end": embargo_end.isoformat() if embargo_end else None, "main_file": main_file,
            "metadata": doc}


def etag(work: Work) -> str:
    return f'"{work.version}"'


def oai_identifier(settings: Settings, work_id: int) -> str:
    return f"oai:{settings.oai_repository_identifier}:{work_id}"


def to_out(work: Work, settings: Settings) -> WorkOut:
    base_url = settings.base_url
    api = f"{base_url}/api/works/{work.id}"
    return WorkOut(
        id=work.id,
        status=Status(work.status),
        type=work.type,  # type: ignore[arg-type]
        centre=work.centre.slug,
        collections=[c.slug for c in work.collections],
        access_right=work.access_right,  # type: ignore[arg-type]
        embargo_end=work.embargo_end,
        main_file=work.main_file,
        metadata=work.doc,
        created=work.created_at,
        updated=work.updated_at,
        published=work.published_at,
        withdrawal=Withdrawal(at=work.withdrawn_at, reason=work.withdrawal_reason or "")
        if work.withdrawn_at
        else None,
        version=work.version,
        source=WorkSource(**{k: v for k, v in work.origin.items()
                             if k in WorkSource.model_fields and k != "read_only"},
                          read_only=read_only_reason(work) is not None) if work.origin else None,
        links=Links(
            self=api,
            html=f"{base_url}/works/{work.id}",
            oai=f"{base_url}/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier={oai_identifier(settings, work.id)}"
            if work.status != Status.draft
            else None,
            revisions=f"{api}/revisions",
        ),
    )


def diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Changed fields, one level into ``metadata``: ``[{"field", "old", "new"}]``."""
    changes: list[dict[str, Any]] = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key == "metadata" and not prefix and isinstance(before, dict) and isinstance(after, dict):
            changes.extend(diff(before, after, "metadata."))
        else:
            changes.append({"field": prefix + key, "old": before, "new": after})
    return changes


# -- lookups ----------------------------------------------------------------------------------------


def get_readable(ctx: Context, work_id: int) -> Work:
    """A work this principal may read; 404 otherwise, 410 (with the reason) for a public tombstone."""
    work = repository.get(ctx.session, work_id)
    if work is None or not visibility.can_read(ctx.principal, work):
        if work is not None and work.status == Status.withdrawn:
            raise Gone(f"This work was withdrawn on {work.withdrawn_at:%Y-%m-%d}: {work.withdrawal_reason}")
        raise NotFound(f"No work {work_id}.")
    return work


def read_only_reason(work: Work) -> str | None:
    """Why the deposit API may not change this work, if it may not: a harvested work is kept by
    its source (the next harvest would overwrite an edit made here)."""
    origin = work.origin
    if origin and origin.get("kind") == "oai" and not origin.get("detached"):
        return (f"This work is harvested from {origin.get('base_url')} (record {origin.get('identifier')}) "
                "and is read-only here: the next harvest would overwrite any change. Change it at the source.")
    return None


def get_editable(ctx: Context, work_id: int, if_match: str | None = None) -> Work:
    """A work this principal may change: 401/403/404, 409 for a harvested work, and 412 when
    ``If-Match`` is stale."""
    ctx.principal.require_user()
    work = repository.get(ctx.session, work_id, for_update=True)
    if work is None or not visibility.can_read(ctx.principal, work):
        raise NotFound(f"No work {work_id}.")
    ctx.principal.require_centre(work.centre_id)
    if (reason := read_only_reason(work)) is not None:
        raise Conflict(reason)
    if if_match is not None and if_match.strip() != "*":
        tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
        if etag(work) not in tags:
            raise PreconditionFailed(
                f"The work changed since you read it (now version {work.version}); fetch it again."
            )
    return work


# -- changes ----------------------------------------------------------------------------------------

_RESTAMP = "repo.works.restamp"


def _resolve(ctx: Context, data: WorkIn | Planned, lookups: Lookups) -> tuple[MemberCentre, list[Collection]]:
    """The record's centre (which the principal must edit) and collections, or 422 naming the field."""
    centre = lookups.centre(data.centre)
    if centre is None:
        raise Unprocessable("Unknown member centre.", errors=[FieldError("centre", f"no centre '{data.centre}'")])
    ctx.principal.require_centre(centre.id)
    collections, errors = [], []
    for i, slug in enumerate(dict.fromkeys(data.collections)):
        collection = lookups.collection(slug)
        if collection is None:
            errors.append(FieldError(f"collections[{i}]", f"no collection '{slug}'"))
        collections.append(collection)
    if errors:
        raise Unprocessable("Unknown collection.", errors=errors)
    return centre, collections  # type: ignore[return-value]


def _fields(data: WorkIn) -> dict[str, Any]:
    """The columns a record sets (besides centre and collections)."""
    journal = data.metadata.journal
    return {"type": data.type, "access_right": data.access_right, "embargo_end": data.embargo_end,
            "doc": data.metadata.model_dump(mode="json", exclude_none=True),
            "publication_year": data.metadata.publication_year,
            "issn_l": journal.linking_issn if journal else None}


def _apply(ctx: Context, work: Work, data: WorkIn, lookups: Lookups | None = None) -> None:
    centre, collections = _resolve(ctx, data, lookups or Lookups(ctx.session))
    if data.main_file is not None and data.main_file not in repository.file_names(ctx.session, work.id):
        raise Unprocessable("Unknown main file.", errors=[
            FieldError("main_file", f"the work has no file named '{data.main_file[:200]}'; upload it first")])
    work.main_file = data.main_file
    work.centre, work.centre_id = centre, centre.id
    work.collections = collections  # type: ignore[assignment]
    for key, value in _fields(data).items():
        setattr(work, key, value)


class Lookups:
    """Centres and collections by slug, each looked up once (a batch of works shares them)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.centres: dict[str, MemberCentre | None] = {}
        self.collections: dict[str, Collection | None] = {}

    def centre(self, slug: str) -> MemberCentre | None:
        if slug not in self.centres:
            self.centres[slug] = repository.centre_by_slug(self.session, slug)
        return self.centres[slug]

    def collection(self, slug: str) -> Collection | None:
        if slug not in self.collections:
            self.collections[slug] = repository.collection_by_slug(self.session, slug)
        return self.collections[slug]


def _require_publishable(data: WorkIn) -> None:
    missing = missing_for_publication(data)
    if missing:
        raise Unprocessable(
            "The work lacks what publishing requires.", errors=[FieldError(f, m) for f, m in missing]
        )


def _disseminated(ctx: Context, work: Work) -> None:
    """What harvesters receive changed now: bump the datestamp, re-arm a pending embargo lift."""
    _stamp(ctx, work)
    _restamp_after_commit(ctx, work.id)


def _stamp(ctx: Context, work: Work) -> None:
    now = ctx.now
    work.datestamp = max(now, work.datestamp) if work.datestamp else now
    work.embargo_pending = _embargo_pending(work.status, work.access_right, work.embargo_end, now)


def _embargo_pending(status: str, access_right: str | None, embargo_end: Any, now: datetime) -> bool:
    """Whether the datestamp must move again when the embargo ends (see :func:`lift_embargoes`)."""
    return bool(status == Status.published and access_right == AccessRight.embargoed and embargo_end is not None
                and visibility.embargo_lifts_at(embargo_end) > now)


def _restamp_after_commit(ctx: Context, work_id: int) -> None:
    """Stamp the work's datestamp again once the change has committed, with the time then.

    The datestamp above is the request's instant, taken before the commit. A harvest whose first
    page (``responseDate`` T) came between the two neither sees the uncommitted change nor, next
    time, asks ``from`` a moment before T: the change would be missed for good. Restamped after
    the commit, the datestamp is at or after T, so the next incremental harvest returns it.
    (Without a clock — services called directly, in tests — there is nothing to restamp with.)
    """
    if ctx.clock is None:
        return
    pending: set[int] | None = ctx.session.info.get(_RESTAMP)
    if pending is None:
        pending = ctx.session.info[_RESTAMP] = set()
        clock = ctx.clock
        after_commit(ctx.session, lambda session: restamp(session, pending, clock.now()))
    pending.add(work_id)


def restamp(session: Session, work_ids: set[int], now: datetime) -> None:
    """Move the datestamps of ``work_ids`` forward to ``now`` (never back; version and ETag unchanged)."""
    from repo.oai import tracking  # the OAI layer depends on works: import when used

    session.execute(sa.update(Work).where(Work.id.in_(sorted(work_ids)), Work.datestamp < now)
                    .values(datestamp=now).execution_options(synchronize_session=False))
    tracking.enqueue(session, work_ids, now)  # a record's header shows its datestamp: render it again


def _record(ctx: Context, work: Work, action: str, changes: list[dict[str, Any]]) -> None:
    work.updated_at = ctx.now
    if action != "create":
        work.version += 1
    ctx.session.add(
        Revision(work_id=work.id, version=work.version, at=ctx.now, actor=ctx.principal.name,
                 action=action, changes=changes)
    )
    outbox.enqueue(ctx.session, work.id, action, ctx.now)


def create(ctx: Context, data: WorkIn) -> Work:
    ctx.principal.require_user()
    work = Work(status=Status.draft, version=1, created_at=ctx.now, updated_at=ctx.now, embargo_pending=False)
    _apply(ctx, work, data)
    ctx.session.add(work)
    ctx.session.flush()
    _record(ctx, work, "create", diff({}, deposit_record(work)))
    return work


def replace(ctx: Context, work_id: int, data: WorkIn, if_match: str | None) -> Work:
    work = get_editable(ctx, work_id, if_match)
    if work.status == Status.withdrawn:
        raise Conflict("A withdrawn work cannot be edited.")
    before = deposit_record(work)
    if work.status == Status.published:
        _require_publishable(data)
    _apply(ctx, work, data)
    changes = diff(before, deposit_record(work))
    if not changes:
        return work
    if work.status == Status.published:
        _disseminated(ctx, work)
    _record(ctx, work, "update", changes)
    return work


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def patch(ctx: Context, work_id: int, changes: dict[str, Any], if_match: str | None) -> Work:
    work = get_editable(ctx, work_id, if_match)
    merged = merge_patch({k: v for k, v in deposit_record(work).items() if v is not None}, changes)
    try:
        data = WorkIn.model_validate(merged)
    except ValidationError as exc:
        raise Unprocessable("The patched work has invalid fields.", errors=validation_errors(exc.errors())) from None
    return replace(ctx, work_id, data, None)


def publish(ctx: Context, work_id: int, if_match: str | None) -> Work:
    return _publish(ctx, get_editable(ctx, work_id, if_match))


def _publish(ctx: Context, work: Work) -> Work:
    if work.status != Status.draft:
        raise Conflict(f"Only drafts can be published; this work is {work.status}.")
    _require_publishable(WorkIn.model_validate(deposit_record(work)))
    work.status = Status.published
    work.published_at = ctx.now
    _disseminated(ctx, work)
    _record(ctx, work, "publish", [{"field": "status", "old": Status.draft, "new": Status.published}])
    return work


def withdraw(ctx: Context, work_id: int, data: WithdrawIn, if_match: str | None) -> Work:
    return _withdraw(ctx, get_editable(ctx, work_id, if_match), data.reason)


def _withdraw(ctx: Context, work: Work, reason: str) -> Work:
    if work.status != Status.published:
        raise Conflict(f"Only published works can be withdrawn; this work is {work.status}.")
    work.status = Status.withdrawn
    work.withdrawn_at = ctx.now
    work.withdrawal_reason = reason
    _disseminated(ctx, work)
    _record(ctx, work, "withdraw", [
        {"field": "status", "old": Status.published, "new": Status.withdrawn},
        {"field": "withdrawal_reason", "old": None, "new": reason},
    ])
    return work


def delete_draft(ctx: Context, work_id: int, if_match: str | None) -> None:
    work = get_editable(ctx, work_id, if_match)
    if work.status != Status.draft:
        raise Conflict("Only drafts can be deleted; withdraw a published work instead.")
    outbox.enqueue(ctx.session, work.id, "delete", ctx.now)
    ctx.session.delete(work)
    ctx.session.flush()


def touch(ctx: Context, work: Work, action: str, changes: list[dict[str, Any]]) -> None:
    """Record a change made through another part of the work (its files): revision, datestamp, outbox."""
    if work.status == Status.published:
        _disseminated(ctx, work)
    _record(ctx, work, action, changes)


# -- ingest: works whose records arrive from elsewhere (harvests, imports) ---------------------------
#
# repo.ingest maps, validates and matches incoming records, then changes works only through these
# functions: the same rules as a deposit (publishing requirements, a revision per change, the
# datestamp, the search outbox, the browse counts), shaped for batches (one flush for a page of
# records, centres and collections looked up once). They skip get_editable on purpose: a record's
# own feed is the one writer allowed to change a read-only (harvested) work.


@dataclass(frozen=True)
class Planned:
    """A validated deposit record as plain values: what :func:`ingest_create` writes and checks.

    Made by :meth:`of` wherever the record was validated — possibly another process (the ingest
    pipeline's preparing processes): plain values cross a process boundary several times cheaper
    than the pydantic model they come from (unpickling a ``WorkIn`` costs more than validating it)."""

    type: str | None
    centre: str
    collections: list[str]  # slugs, each once, in the record's order
    access_right: str | None
    embargo_end: date | None
    doc: dict[str, Any]  # the metadata as stored (``metadata.model_dump(mode="json", exclude_none=True)``)
    publication_year: int | None
    issn_l: str | None
    missing: list[tuple[str, str]]  # what publishing requires and the record lacks

    @classmethod
    def of(cls, data: WorkIn) -> Planned:
        fields = _fields(data)
        return cls(str(data.type) if data.type is not None else None, data.centre,
                   list(dict.fromkeys(data.collections)),
                   str(data.access_right) if data.access_right is not None else None, data.embargo_end,
                   fields["doc"], fields["publication_year"], fields["issn_l"], missing_for_publication(data))


def ingest_create(ctx: Context, items: Sequence[tuple[WorkIn | Planned, dict[str, Any]]],
                  statuses: Sequence[Status] | None = None) -> list[int]:
    """Create published works, one per ``(record, origin)``: what create + publish do for a
    deposit — the same centre, collection and publishing checks, one revision each (action
    ``create``, the publication included), the datestamp, the search outbox row, the browse
    counts, the OAI set counters, the duplicate-identifier index — for a whole page in a few
    statements (a unit of work of ORM objects costs several times more per work; what its flush
    listeners do is done here explicitly, each by the function its module offers for this). Returns the new ids, in order.
    A record is a ``WorkIn`` or the :class:`Planned` made of one.
    ``Unprocessable`` (nothing written) when a record lacks what publishing requires: callers
    check each record first with :func:`~repo.works.schemas.missing_for_publication`.
    ``statuses`` (one per item; imports) may make some of them drafts instead: what ``create``
    alone does (no publishing checks, no datestamp: harvesters never see a draft)."""
    from repo.ingest import matching  # the indexes the flush listeners keep for ORM writes
    from repo.oai import tracking

    ctx.principal.require_user()
    if not items:
        return []
    lookups = Lookups(ctx.session)
    rows, filings, keys = [], [], []
    for n, (given, origin) in enumerate(items):
        data = given if isinstance(given, Planned) else Planned.of(given)
        status = statuses[n] if statuses is not None else Status.published
        published = status == Status.published
        if published and data.missing:
            raise Unprocessable("The work lacks what publishing requires.",
                                errors=[FieldError(f, m) for f, m in data.missing])
        centre, collections = _resolve(ctx, data, lookups)
        rows.append({"type": data.type, "access_right": data.access_right, "embargo_end": data.embargo_end,
                     "doc": data.doc, "publication_year": data.publication_year, "issn_l": data.issn_l,
                     "status": status, "centre_id": centre.id, "version": 1,
                     "created_at": ctx.now, "updated_at": ctx.now, "published_at": ctx.now if published else None,
                     "datestamp": ctx.now if published else None,
                     "embargo_pending": _embargo_pending(status, data.access_right, data.embargo_end, ctx.now),
                     "origin": origin})
        filings.append((centre, collections))
        keys.append(counts.keys(status, data.type, data.publication_year, centre.id,
                                (c.path for c in collections)))
    ids = _insert_works(ctx.session, rows)
    links = [{"work_id": work_id, "collection_id": c.id} for work_id, (_, collections) in zip(ids, filings)
             for c in collections]
    if links:
        ctx.session.execute(sa.insert(work_collections), links)
    counts.add(ctx.session, keys)
    tracking.count_inserted(ctx.session, [
        (row["status"], row["type"], row["centre_id"], [c.path for c in collections], row["access_right"],
         row["embargo_end"], row["embargo_pending"], row["issn_l"]) for row, (_, collections) in zip(rows, filings)])
    matching.index(ctx.session, [(work_id, row["doc"]) for work_id, row in zip(ids, rows)])
    insert_many(ctx.session, Revision.__table__, [  # type: ignore[arg-type]  # declarative: a Table
        {"work_id": work_id, "version": 1, "at": ctx.now, "actor": ctx.principal.name, "action": "create",
         "changes": [*([{"field": "status", "old": None, "new": Status.published}]
                       if row["status"] == Status.published else []),
                     *diff({}, _record_shape(row["type"], centre.slug, [c.slug for c in collections],
                                             row["access_right"], row["embargo_end"], row["doc"]))]}
        for work_id, row, (centre, collections) in zip(ids, rows, filings)])
    outbox.enqueue_many(ctx.session, ids, "create", ctx.now)
    for work_id, row in zip(ids, rows):
        if row["status"] == Status.published:
            _restamp_after_commit(ctx, work_id)
    return ids


def _insert_works(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert works and return their ids in the order of ``rows``.

    PostgreSQL: the ids are taken from the works' sequence first, then the rows go in one
    executemany (psycopg pipelines it, one statement parsed once); ``INSERT … RETURNING`` in
    parameter order would send one long multi-row statement per batch that psycopg parses every
    time (a sixth of a harvest's CPU). SQLite would insert one row per statement to keep that
    order, so there the rows go in one executemany and the ids are read back: SQLite gives each
    new row max(rowid) + 1, and nobody else can write between the insert and the read (our
    transaction holds SQLite's single write lock from its first write), so the new ids are the
    ``len(rows)`` consecutive ids ending at max(id)."""
    table: sa.Table = Work.__table__  # type: ignore[assignment]  # declarative: a Table
    columns = [(Work.doc.prop.columns[0].name if key == "doc" else key) for key in rows[0]]  # doc is "metadata"
    if session.get_bind().dialect.name != "sqlite":
        sequence = sa.func.pg_get_serial_sequence(Work.__tablename__, "id")
        ids = list(session.scalars(sa.select(sa.func.nextval(sequence)).select_from(
            sa.func.generate_series(1, len(rows)))))
        insert_many(session, table, [{"id": work_id, **dict(zip(columns, row.values()))}
                                     for row, work_id in zip(rows, ids)])
        return ids
    insert_many(session, table, [dict(zip(columns, row.values())) for row in rows])
    last = session.scalar(sa.select(sa.func.max(Work.id)))
    assert last is not None
    return list(range(last - len(rows) + 1, last + 1))


def ingest_update(ctx: Context, work: Work, data: WorkIn, origin: dict[str, Any],
                  lookups: Lookups | None = None) -> bool:
    """Replace a work with its source's new version: the rules of :func:`replace` (publishable,
    a revision of the changed fields, datestamp, outbox). ``origin`` replaces the work's own only
    with a change of the record (a new source datestamp alone is no new version); returns whether
    the work changed."""
    if work.status == Status.withdrawn:
        raise Conflict("A withdrawn work cannot be edited.")
    ctx.principal.require_centre(work.centre_id)  # where the work is now (the record may move it)
    before = deposit_record(work)
    if work.status == Status.published:
        _require_publishable(data)
    _apply(ctx, work, data, lookups)
    changes = diff(before, deposit_record(work))
    unmapped_before, unmapped_after = (work.origin or {}).get("unmapped"), origin.get("unmapped")
    if unmapped_before != unmapped_after:
        changes.append({"field": "origin.unmapped", "old": unmapped_before, "new": unmapped_after})
    if not changes:
        return False
    work.origin = origin
    if work.status == Status.published:
        _disseminated(ctx, work)
    _record(ctx, work, "update", changes)
    return True


def ingest_publish(ctx: Context, work: Work) -> Work:
    """Publish a draft because its record now asks for it (an import re-run with ``--publish``):
    the rules of :func:`publish`."""
    ctx.principal.require_centre(work.centre_id)
    return _publish(ctx, work)


def ingest_withdraw(ctx: Context, work: Work, reason: str) -> Work:
    """Withdraw a work because its source deleted the record (a tombstone, as :func:`withdraw`)."""
    return _withdraw(ctx, work, reason)


def ingest_detach(ctx: Context, work: Work) -> None:
    """The work's source is no longer harvested: the work stays, with its provenance, and the
    deposit API may change it from now on (a revision says when)."""
    origin = {**(work.origin or {}), "detached": ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ")}
    work.origin = origin
    _record(ctx, work, "detach", [{"field": "origin.detached", "old": None, "new": origin["detached"]}])


def lift_embargoes(session: Any, now: datetime) -> int:
    """Give every work whose embargo ended a datestamp at the moment it ended.

    An ended embargo changes what harvesters receive (access becomes open), so the record must
    reappear in incremental harvests whose ``from`` is at or before that moment. Called before
    OAI-PMH list requests and by the indexer; cheap when nothing is due (an indexed lookup).
    """
    due = session.scalars(
        sa.select(Work).where(Work.embargo_pending.is_(True), Work.embargo_end <= now.date())
    ).all()
    for work in due:
        lifted = visibility.embargo_lifts_at(work.embargo_end)
        if lifted <= now:
            work.embargo_pending = False
            if work.status == Status.published:
                work.datestamp = max(work.datestamp or lifted, lifted)
                outbox.enqueue(session, work.id, "embargo_end", now)
    session.flush()
    from repo.files.service import lift_file_embargoes  # files depend on works: import when used

    return len(due) + lift_file_embargoes(session, now)


# -- listing ------------------------------------------------------------------------------------


def list_works(
    ctx: Context,
    *,
    status: Status | None,
    centre: str | None,
    collection: str | None,
    type: str | None,
    updated_since: datetime | None,
    cursor: str | None,
    size: int,
) -> WorkPage:
    signer = Signer(ctx.settings.secret, "works-cursor")
    conditions = [visibility.readable_by(ctx.principal)]
    if status is not None:
        conditions.append(Work.status == status)
    if centre is not None:
        found = repository.centre_by_slug(ctx.session, centre)
        conditions.append(Work.centre_id == (found.id if found else -1))
    if collection is not None:
        found_collection = repository.collection_by_slug(ctx.session, collection)
        conditions.append(repository.in_collection_tree(found_collection.path) if found_collection else sa.false())
    if type is not None:
        conditions.append(Work.type == type)
    if updated_since is not None:
        conditions.append(Work.updated_at >= updated_since)
    after = None
    if cursor:
        try:
            at, last_id = signer.loads(cursor)
            after = (datetime.fromisoformat(at), int(last_id))
        except (InvalidToken, ValueError, TypeError):
            raise BadRequest("Invalid cursor.", errors=[FieldError("query.cursor", "not a cursor this API issued")]) from None
    works = repository.page(ctx.session, sa.and_(*conditions), after=after, size=size + 1)
    more = len(works) > size
    works = works[:size]
    next_cursor = signer.dumps([works[-1].updated_at.isoformat(), works[-1].id]) if more else None
    return WorkPage(
        items=[to_out(w, ctx.settings) for w in works],
        next_cursor=next_cursor,
        links={"next": next_cursor} if next_cursor else {},
    )


def revisions(ctx: Context, work_id: int) -> Sequence[RevisionOut]:
    work = get_readable(ctx, work_id)
    ctx.principal.require_centre(work.centre_id)
    return [
        RevisionOut(version=r.version, at=r.at, actor=r.actor, action=r.action, changes=r.changes)
        for r in repository.revisions(ctx.session, work.id)
    ]
