"""The one ingest path (DESIGN.md §9): map → validate → match → upsert, whatever the channel.

A channel (an OAI-PMH harvest run, a file import) turns what arrives into :class:`Incoming`
records — an external id, deleted or not, the mapped :class:`~repo.ingest.mapping.common.Draft`
(or, from an import, the deposit record itself) or the reasons it could not be read, and the
provenance (``origin``) — and hands them here in batches, within its own unit of work. Here, for
each batch:

1. **validate** with the deposit rules — the API's own pydantic model (:class:`WorkIn`) and
   :func:`missing_for_publication`. A value the model refuses (an ISBN with a bad check digit, a
   date that does not exist) is taken out and kept in the unmapped values with the model's
   message; a record that still lacks what publishing requires fails, with the reasons;
2. **match**: the feed's own earlier record of the same external id is the work to update;
   otherwise a live work with the same DOI, handle or ISBN (a deposit, or another source's work)
   is a duplicate: the record is *linked* to it and reported, never made a second work;
3. **upsert** through :mod:`repo.works.service` (revisions, datestamps, search outbox, browse
   counts — never plain SQL): new records become published works of the feed's centre, changed
   records update theirs (unchanged ones, by digest, are left alone), deleted records withdraw
   theirs (reason "deleted at source").

A batch is applied in one savepoint; if anything in it fails, it is applied again record by record,
each in its own savepoint, so one failing record fails alone and never stops the run.

What differs between channels is said by the :class:`Feed` and each :class:`Incoming`, never by a
second path: a **strict** feed (imports: the editor's own file) fails a record on any value the
deposit API would refuse, naming the field, instead of taking the value out; a record may ask to
become a **draft** (or a withdrawn work) rather than a published one; a feed may attach more to the
works it writes (an import's files) in the same savepoint (:attr:`Feed.after_write`); and a
**dry run** (:class:`DryRun`) validates and matches a batch and counts what would happen, writing
nothing.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import ValidationError
from pydantic_core import to_json

from repo.context import Context
from repo.db import insert_many, lock_for_write
from repo.errors import ProblemError, field_path
from repo.ingest import matching
from repo.ingest.mapping.common import MAX_UNMAPPED, MAX_VALUE, Draft
from repo.ingest.models import IngestRecord
from repo.works import service as works
from repo.works.models import Work
from repo.works.schemas import WorkIn, missing_for_publication
from repo.works.vocabularies import Status

DELETED_AT_SOURCE = "deleted at source"


@dataclass
class Incoming:
    """One record as a channel received it."""

    external_id: str
    deleted: bool = False
    datestamp: datetime | None = None  # the source's
    draft: Draft | None = None
    error: str | None = None  # why it could not be read or mapped
    origin: dict[str, Any] = field(default_factory=dict)  # provenance, stored on the work
    # -- what channels other than harvests may say ---------------------------------------------------
    record: dict[str, Any] | None = None  # the deposit record itself (``WorkIn``'s shape), instead of a draft
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, message): why it cannot be read
    status: str = Status.published  # what a new work becomes: published, draft or withdrawn
    withdrawal_reason: str | None = None  # for status withdrawn
    fingerprint: str | None = None  # anything else that makes a new version (an import's files, its status)
    extra: Any = None  # the channel's own (an import's files), handed back to Feed.after_write


@dataclass(frozen=True)
class Feed:
    """Where a batch comes from and where its works go."""

    key: str  # IngestRecord.feed, e.g. "oai:3"
    centre: str  # slug of the centre the works belong to (a record may name another: imports)
    collections: tuple[str, ...] = ()
    strict: bool = False  # a value the deposit API refuses fails the record (else it is taken out and kept)
    # Called in the batch's savepoint with each record and the work it created or updated; an
    # exception fails the record (the batch is redone record by record), leaving nothing of it.
    after_write: Callable[[Context, Sequence[tuple[Incoming, int]]], None] | None = None


@dataclass(frozen=True)
class Problem:
    external_id: str
    kind: str  # failed | skipped | duplicate
    reason: str
    work_id: int | None = None
    field: str | None = None  # the field at fault, as the deposit API names it (metadata.titles[0].lang)


@dataclass
class DryRun:
    """What a dry run has seen in earlier batches (nothing is written, so matching cannot find it
    in SQL): the identifiers and external ids of the records it would create."""

    keys: dict[matching.Key, str] = field(default_factory=dict)
    external_ids: set[str] = field(default_factory=set)


@dataclass
class Outcome:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.counts.update(other.counts)
        self.problems.extend(other.problems)


@dataclass
class _Prepared:
    incoming: Incoming
    data: works.Planned | None = None  # the validated record as plain values (what a create writes)
    origin: dict[str, Any] = field(default_factory=dict)
    digest: str | None = None
    error: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, message), when the error has fields
    keys: frozenset[matching.Key] = frozenset()  # its identifiers, normalised (duplicate matching)
    record: dict[str, Any] | None = None  # the input that validated
    model: WorkIn | None = None  # the validated model, when it was validated in this process
    # Prepared in another process without its record: step 1 again here, from the channel's own
    # input (a harvest's <record> element), for the rare record that needs the model.
    again: Callable[[], _Prepared] | None = None

    def work_in(self) -> WorkIn:
        """The validated model (an update needs it): validated again when it was made in another
        process — the same input, hence the same model."""
        if self.model is None:
            if self.record is None:
                assert self.again is not None
                self.model = self.again().model
                assert self.model is not None, "a record prepared twice must validate twice"
            else:
                self.model = WorkIn.model_validate(self.record)
        return self.model


# -- 1. validate -------------------------------------------------------------------------------------

def validate(record: dict[str, Any], *, strict: bool = False, publishable: bool = True,
             ) -> tuple[WorkIn | None, list[dict[str, str]], str | None]:
    """``(WorkIn, values taken out, None)``, or ``(None, …, reason)`` when the record cannot be a
    work (a published one unless ``publishable`` is false). Values the model refuses are removed
    one by one (a list item, or a field) and returned with the model's message, as long as what
    remains still validates; ``strict``: any refused value fails the record (see :func:`check`)."""
    data, removed, errors = check(record, strict=strict, publishable=publishable)
    if data is None:
        return None, removed, "; ".join(f"{f}: {m}" if f else m for f, m in errors) or "invalid record"
    return data, removed, None


def check(record: dict[str, Any], *, strict: bool = False, publishable: bool = True,
          ) -> tuple[WorkIn | None, list[dict[str, str]], list[tuple[str, str]]]:
    """:func:`validate` with the reasons as ``(field, message)`` pairs, the fields named as the
    deposit API names them (``metadata.creators[0].orcid``)."""
    removed: list[dict[str, str]] = []
    for _ in range(25):
        try:
            data = WorkIn.model_validate(record)
        except ValidationError as exc:
            errors = exc.errors()
            if strict:
                return None, removed, [(field_path(e["loc"]) if e["loc"] else "",
                                        e["msg"].removeprefix("Value error, ")) for e in errors]
            paths = {_removable(e["loc"]): e["msg"].removeprefix("Value error, ") for e in errors}
            if () in paths or ("metadata",) in paths:
                return None, removed, [("", m) for m in sorted(set(paths.values()))]
            for path in sorted(paths, key=_order, reverse=True):
                value = _pop(record, path)
                removed.append({"field": _label(path), "value": _text(value), "reason": paths[path]})
            continue
        missing = missing_for_publication(data) if publishable else []
        if missing:
            return None, removed, missing
        return data, removed, []
    return None, removed, [("", "too many invalid values")]


def _removable(loc: Sequence[Any]) -> tuple[Any, ...]:
    """The part of the record to take out for an error at ``loc``: the list item it is in, or the field."""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            return tuple(loc[: i + 1])
    return tuple(loc)


def _order(path: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in path)


def _pop(record: Any, path: tuple[Any, ...]) -> Any:
    target = record
    for part in path[:-1]:
        target = target[part]
    return target.pop(path[-1])


def _label(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text[:MAX_VALUE]


def _input(item: Incoming, feed: Feed) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The record to validate (the deposit record's shape) and the values its mapping left out."""
    if item.record is not None:  # the deposit record itself: its centre (or the feed's), its collections too
        record = dict(item.record)
        record["centre"] = record.get("centre") or feed.centre
        if isinstance(record.get("collections", []), list):
            record["collections"] = list(dict.fromkeys([*record.get("collections", []), *feed.collections]))
        return record, []
    assert item.draft is not None
    record = item.draft.record()
    record["centre"] = feed.centre
    record["collections"] = list(feed.collections)
    return record, item.draft.unmapped_values


def prepare(item: Incoming, feed: Feed) -> _Prepared:
    prepared = _Prepared(item)
    if item.deleted:
        return prepared
    if item.record is None and (item.error is not None or item.draft is None):
        prepared.error = item.error or "no metadata"
        prepared.errors = list(item.errors)
        return prepared
    record, mapped_away = _input(item, feed)
    data, removed, errors = check(record, strict=feed.strict, publishable=item.status != Status.draft)
    unmapped = (mapped_away + removed)[:MAX_UNMAPPED]
    if item.errors or data is None:  # what the channel could not read, and what the model refused: all of it
        prepared.errors = list(item.errors) + errors
        prepared.error = "; ".join(f"{f}: {m}" if f else m for f, m in prepared.errors) or "invalid record"
        return prepared
    prepared.model, prepared.data, prepared.record = data, works.Planned.of(data), record
    prepared.keys = frozenset(matching.keys_of(data.metadata))
    prepared.origin = {**item.origin, "unmapped": unmapped} if unmapped else dict(item.origin)
    digest = hashlib.sha256(model_json(data, prepared.data.doc))
    if unmapped:
        digest.update(_UNMAPPED_JSON.encode(unmapped).encode())
    if item.fingerprint:
        digest.update(item.fingerprint.encode())
    prepared.digest = digest.hexdigest()
    return prepared


_UNMAPPED_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)  # json.dumps' output, made once
assert list(WorkIn.model_fields)[-1] == "metadata"  # model_json puts it last, as the model does


def model_json(data: WorkIn, doc: dict[str, Any]) -> bytes:
    """``data.model_dump_json(exclude_none=True)`` (what a record's digest is made of), with the
    metadata taken from ``doc``, its JSON dump made already (:class:`~repo.works.service.Planned`):
    the same bytes, without serialising the metadata a second time."""
    top = data.model_dump(mode="json", exclude_none=True, exclude={"metadata"})
    top["metadata"] = doc
    return to_json(top)


# -- 1, in another process -----------------------------------------------------------------------------

class Preparer:
    """Step 1 (validation, the plain values a create writes, digests, identifiers) of a channel's
    batches in a second process, while this one writes the previous batch: on two cores, nearly
    twice the rate of one process for a big import or harvest.

    What crosses the process boundary is plain values both ways (the incoming records; the
    :class:`~repo.works.service.Planned` values of each), never pydantic models (unpickling one
    costs more than validating it). The result is exactly :func:`prepare`'s: the same function
    runs there. Nothing is written there: positions and commits stay with the caller, so a run
    killed mid-way resumes as ever (a batch prepared ahead and not yet written is simply prepared
    again). The process is spawned (never a fork of a process with threads and database engines;
    a child of this one, so its CPU time is this process's children's), ignores Ctrl-C (the caller
    stops it), and is shut down on leaving the ``with`` block, error or not."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(1, mp_context=context, initializer=_serve)

    def submit(self, feed: Feed, items: Sequence[Incoming]) -> Callable[[], list[_Prepared]]:
        """Start preparing ``items``; returns the call that waits for them (one per item)."""
        future = self._pool.submit(_prepare_shipped, feed.centre, feed.collections, feed.strict,
                                   [_ship(item) for item in items])
        return lambda: [from_plain(item, feed, shipped) for item, shipped in zip(items, future.result())]

    def call(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``function(*args)`` there (a channel's own step before :func:`plain`: a harvest maps
        its page there too)."""
        return self._pool.submit(function, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Preparer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


T = TypeVar("T")
U = TypeVar("U")


def ahead(items: Iterator[T], send: Callable[[T], U]) -> Iterator[tuple[T, U]]:
    """Each item with ``send(item)`` (its work started in a :class:`Preparer`), the next item read
    and sent before this one is handed out, so that it is prepared there while the caller writes
    this one. An item that cannot be read (or sent) fails after the one before it is handed out."""
    pending: tuple[T, U] | None = None
    while True:
        try:
            item = next(items, None)
            current = (item, send(item)) if item is not None else None
        except Exception:
            if pending is not None:
                yield pending
            raise
        if current is None:
            break
        if pending is not None:
            yield pending
        pending = current
    if pending is not None:
        yield pending


def _serve() -> None:
    """(In the preparing process, first) Ctrl-C is for the caller, who then stops this process; and
    should the caller die without doing so (SIGKILL), this process ends too: the pool's own queues
    would keep it waiting for work forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        def orphaned() -> None:
            multiprocessing.connection.wait([parent.sentinel])
            os._exit(1)

        threading.Thread(target=orphaned, name="orphaned", daemon=True).start()


def _ship(item: Incoming) -> tuple[Any, ...]:
    """What :func:`prepare` reads of an incoming record (not the channel's own ``extra``)."""
    return (item.external_id, item.deleted, item.draft, item.error, item.record, item.errors, item.status,
            item.fingerprint, item.origin)


def _prepare_shipped(centre: str, collections: tuple[str, ...], strict: bool,
                     shipped: list[tuple[Any, ...]]) -> list[tuple[Any, ...] | None]:
    """(In the preparing process) :func:`prepare` each record, as plain values."""
    feed = Feed("", centre, collections, strict)
    return [plain(Incoming(external_id, deleted, None, draft, error, origin, record, errors, status,
                           fingerprint=fingerprint), feed)
            for external_id, deleted, draft, error, record, errors, status, fingerprint, origin in shipped]


def plain(item: Incoming, feed: Feed, *, record: bool = True) -> tuple[Any, ...] | None:
    """(In the preparing process) :func:`prepare` ``item``, as plain values for :func:`from_plain`.
    ``record=False``: without the record that validated (nearly half of what crosses back, and
    of the caller's time to read it); the caller prepares the record again if it needs the model
    (:attr:`_Prepared.again`: an update)."""
    if item.deleted:
        return None
    p = prepare(item, feed)
    # the record that validated, unless the caller can rebuild it (its own record, nothing taken out)
    given = not record or (item.record is not None and feed.strict)
    return p.error, p.errors, p.data, None if given else p.record, p.origin.get("unmapped"), p.digest, p.keys


def from_plain(item: Incoming, feed: Feed, shipped: tuple[Any, ...] | None,
               again: Callable[[], _Prepared] | None = None) -> _Prepared:
    """What :func:`prepare` gives for ``item``, from :func:`plain`'s values; ``again``: step 1 of
    the item here, when :func:`plain` left its record out."""
    if shipped is None:
        return _Prepared(item)
    error, errors, data, record, unmapped, digest, keys = shipped
    if data is None:
        return _Prepared(item, error=error, errors=errors)
    if record is None and again is None:
        record = _input(item, feed)[0]
    origin = {**item.origin, "unmapped": unmapped} if unmapped else dict(item.origin)
    return _Prepared(item, data, origin, digest, keys=keys, record=record, again=again)


# -- 2 and 3. match and upsert -----------------------------------------------------------------------

@dataclass
class _Plan:
    creates: list[_Prepared] = field(default_factory=list)
    links: list[tuple[_Prepared, int | _Prepared, str]] = field(default_factory=list)  # → work id or a create
    updates: list[tuple[_Prepared, IngestRecord]] = field(default_factory=list)
    withdrawals: list[tuple[_Prepared, IngestRecord]] = field(default_factory=list)
    touches: list[tuple[_Prepared, IngestRecord]] = field(default_factory=list)  # seen, nothing to change


def ingest(ctx: Context, feed: Feed, items: Sequence[Incoming], *, run_id: int | None = None,
           dry_run: DryRun | None = None, prepared: Sequence[_Prepared] | None = None) -> Outcome:
    """Apply a batch of incoming records (in the caller's unit of work; flushed, not committed).

    With ``dry_run``, the batch is validated and matched (against SQL and the dry run's earlier
    batches) and what would happen is counted and reported, but nothing is written.
    ``prepared``: the items already prepared (step 1), one per item — by a :class:`Preparer`."""
    outcome = Outcome()
    outcome.counts["seen"] += len(items)
    latest: dict[str, _Prepared] = {}
    for n, item in enumerate(items):  # the same record twice in a batch: its last version counts
        if item.external_id in latest:
            outcome.counts["unchanged"] += 1
        latest[item.external_id] = prepared[n] if prepared is not None else prepare(item, feed)
    prepared = list(latest.values())
    for p in prepared:
        if p.error is not None:
            outcome.counts["failed"] += 1
            outcome.problems += _failures(feed, p.incoming.external_id, p.error, p.errors)
    prepared = [p for p in prepared if p.error is None]
    # A writer from here (SQLite: BEGIN IMMEDIATE; mapping and validation above held no lock):
    # what the plan decides on is read under the write lock, and the savepoints below are nested
    # in the caller's transaction — on SQLite, releasing a savepoint opened outside a transaction
    # commits, and a harvest page's works would be committed apart from its position.
    if dry_run is None:  # a dry run writes nothing: it need not wait for writers
        lock_for_write(ctx.session)
    existing = {r.external_id: r for r in ctx.session.scalars(sa.select(IngestRecord).where(
        IngestRecord.feed == feed.key, IngestRecord.external_id.in_([p.incoming.external_id for p in prepared])))}
    plan = _plan(ctx, prepared, existing, outcome, dry_run)
    if dry_run is not None:
        return _dry(ctx, feed, plan, outcome, dry_run)
    attempt = _copy(outcome)
    try:
        with ctx.session.begin_nested():
            _apply(ctx, feed, plan, attempt, run_id)
        return attempt
    except Exception:
        pass
    attempt = _copy(outcome)  # nothing of the batch stayed: again, record by record
    for single in _singles(plan):
        part = Outcome()
        try:
            with ctx.session.begin_nested():
                _apply(ctx, feed, single, part, run_id)
        except Exception as exc:  # this record alone fails
            attempt.counts["failed"] += 1
            attempt.problems += _failures(feed, _first(single).incoming.external_id, _reason(exc), _fields(exc))
        else:
            attempt.add(part)
    return attempt


def _failures(feed: Feed, external_id: str, reason: str, errors: Sequence[tuple[str, str]]) -> list[Problem]:
    """A failed record's problems: one per field at fault for a strict feed (an import's report
    names each), else one with every reason."""
    if feed.strict and errors:
        return [Problem(external_id, "failed", message[:4000], field=name or None) for name, message in errors]
    return [Problem(external_id, "failed", reason[:4000])]


def _fields(exc: Exception) -> list[tuple[str, str]]:
    if isinstance(exc, ProblemError):
        return [(e["field"], e["message"]) for e in exc.errors] or [("", exc.detail)]
    return []


def _dry(ctx: Context, feed: Feed, plan: _Plan, outcome: Outcome, memory: DryRun) -> Outcome:
    """Count what applying ``plan`` would do; check what only applying would otherwise find out
    (the centres and collections named, and whether this principal may file works there)."""
    lookups = works.Lookups(ctx.session)
    for p in plan.creates + [u[0] for u in plan.updates]:
        data = p.data
        assert data is not None
        errors: list[tuple[str, str]] = []
        centre = lookups.centre(data.centre)
        if centre is None:
            errors.append(("centre", f"no centre '{data.centre}'"))
        elif not ctx.principal.can_edit_centre(centre.id):
            errors.append(("centre", f"you may not file works in centre '{data.centre}'"))
        errors += [(f"collections[{i}]", f"no collection '{slug}'") for i, slug in enumerate(data.collections)
                   if lookups.collection(slug) is None]
        if errors:
            outcome.counts["failed"] += 1
            outcome.problems += _failures(feed, p.incoming.external_id, "; ".join(f"{f}: {m}" for f, m in errors),
                                          errors)
            continue
        if p in plan.creates:
            outcome.counts["created"] += 1
            memory.external_ids.add(p.incoming.external_id)
            for key in p.keys:
                memory.keys.setdefault(key, p.incoming.external_id)
        else:
            outcome.counts["updated"] += 1
    for p, target, why in plan.links:
        outcome.counts["linked"] += 1
        work_id = target if isinstance(target, int) else None
        outcome.problems.append(Problem(p.incoming.external_id, "duplicate", f"linked, not duplicated: {why}",
                                        work_id))
    outcome.counts["withdrawn"] += len(plan.withdrawals)
    return outcome


def _copy(outcome: Outcome) -> Outcome:
    return Outcome(Counter(outcome.counts), list(outcome.problems))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ProblemError):
        details = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
        return f"{exc.detail} {details}".strip()[:4000]
    return f"{exc.__class__.__name__}: {exc}"[:4000]


def _plan(ctx: Context, prepared: list[_Prepared], existing: dict[str, IngestRecord], outcome: Outcome,
          dry_run: DryRun | None = None) -> _Plan:
    plan = _Plan()
    new_keys = {p.incoming.external_id: p.keys
                for p in prepared if p.data is not None and p.incoming.external_id not in existing}
    found = matching.find(ctx.session, {k for keys in new_keys.values() for k in keys})
    in_batch: dict[matching.Key, _Prepared | str] = dict(dry_run.keys) if dry_run is not None else {}
    for p in prepared:
        record = existing.get(p.incoming.external_id)
        if p.incoming.deleted:
            if record is None:
                outcome.counts["skipped"] += 1
                outcome.problems.append(Problem(p.incoming.external_id, "skipped", "deleted at the source before "
                                                "it was ever harvested"))
            elif record.role == "owner" and record.work_id is not None and not record.deleted:
                plan.withdrawals.append((p, record))
            else:
                plan.touches.append((p, record))
                outcome.counts["skipped"] += 1
            continue
        if record is not None and record.work_id is not None:
            if record.role == "owner" and record.digest != p.digest:
                plan.updates.append((p, record))
            else:
                plan.touches.append((p, record))
                outcome.counts["unchanged"] += 1
            continue
        if dry_run is not None and p.incoming.external_id in dry_run.external_ids:
            outcome.counts["unchanged"] += 1  # an earlier batch of the dry run would have created it
            continue
        keys = sorted(new_keys.get(p.incoming.external_id, ()))
        target: int | _Prepared | str | None = None
        why = ""
        for key in keys:
            if key in found:
                target, why = found[key], f"same {key[0]} {key[1]} as work {found[key]}"
                break
            if key in in_batch:
                earlier = in_batch[key]
                target = earlier
                why = f"same {key[0]} {key[1]} as {earlier if isinstance(earlier, str) else earlier.incoming.external_id}"
                break
        if target is not None:
            plan.links.append((p, target, why))  # type: ignore[arg-type]  # a str only in dry runs
        else:
            plan.creates.append(p)
            for key in keys:
                in_batch.setdefault(key, p)
    return plan


def _apply(ctx: Context, feed: Feed, plan: _Plan, outcome: Outcome, run_id: int | None) -> None:
    session, now = ctx.session, ctx.now
    made: dict[int, int] = {}
    new_records: list[dict[str, Any]] = []
    written: list[tuple[Incoming, int]] = []
    if plan.creates:
        created = works.ingest_create(ctx, [(p.data, p.origin) for p in plan.creates],  # type: ignore[misc]
                                      statuses=[_initial(p.incoming.status) for p in plan.creates])
        for p, work_id in zip(plan.creates, created):
            made[id(p)] = work_id
            new_records.append(_record(feed, p, work_id, "owner", now, run_id))
            written.append((p.incoming, work_id))
        outcome.counts["created"] += len(created)
        withdrawn = {made[id(p)]: p for p in plan.creates if p.incoming.status == Status.withdrawn}
        for work in session.scalars(sa.select(Work).where(Work.id.in_(withdrawn))) if withdrawn else ():
            works.ingest_withdraw(ctx, work, withdrawn[work.id].incoming.withdrawal_reason or DELETED_AT_SOURCE)
    for p, target, why in plan.links:
        work_id = made[id(target)] if isinstance(target, _Prepared) else target
        new_records.append(_record(feed, p, work_id, "duplicate", now, run_id))  # type: ignore[arg-type]
        outcome.counts["linked"] += 1
        outcome.problems.append(Problem(p.incoming.external_id, "duplicate", f"linked, not duplicated: {why}",
                                        work_id))  # type: ignore[arg-type]
    ids = [r.work_id for _, r in plan.updates + plan.withdrawals]
    loaded = {w.id: w for w in session.scalars(sa.select(Work).where(Work.id.in_(ids)))} if ids else {}
    lookups = works.Lookups(session)
    for p, record in plan.updates:
        work = loaded[record.work_id]  # type: ignore[index]
        if work.status == Status.withdrawn:
            outcome.counts["skipped"] += 1
            outcome.problems.append(Problem(p.incoming.external_id, "skipped", "the record is back at the source "
                                            "after its deletion; its work stays withdrawn (a tombstone is kept)",
                                            work.id))
        else:
            changed = works.ingest_update(ctx, work, p.work_in(), p.origin, lookups)
            changed = _move(ctx, work, p.incoming) or changed
            outcome.counts["updated" if changed else "unchanged"] += 1
            written.append((p.incoming, work.id))
        _seen(record, p, now, run_id, deleted=False)
        record.digest = p.digest
    for p, record in plan.withdrawals:
        work = loaded[record.work_id]  # type: ignore[index]
        if work.status == Status.published:
            works.ingest_withdraw(ctx, work, DELETED_AT_SOURCE)
            outcome.counts["withdrawn"] += 1
        else:
            outcome.counts["skipped"] += 1
        _seen(record, p, now, run_id, deleted=True)
    for p, record in plan.touches:
        _seen(record, p, now, run_id, deleted=p.incoming.deleted)
    insert_many(session, IngestRecord.__table__, new_records)  # type: ignore[arg-type]  # declarative: a Table
    if feed.after_write is not None and written:
        feed.after_write(ctx, written)
    session.flush()


def _initial(status: str) -> Status:
    """The status a new work is written with (a withdrawn one is published, then withdrawn)."""
    return Status.draft if status == Status.draft else Status.published


def _move(ctx: Context, work: Work, incoming: Incoming) -> bool:
    """Move an existing work forward to the status its record asks for (a draft published, a
    published work withdrawn); never back. Returns whether it moved."""
    moved = False
    if work.status == Status.draft and incoming.status in (Status.published, Status.withdrawn):
        works.ingest_publish(ctx, work)
        moved = True
    if work.status == Status.published and incoming.status == Status.withdrawn:
        works.ingest_withdraw(ctx, work, incoming.withdrawal_reason or DELETED_AT_SOURCE)
        moved = True
    return moved


def _record(feed: Feed, p: _Prepared, work_id: int, role: str, now: datetime, run_id: int | None) -> dict[str, Any]:
    return {"feed": feed.key, "external_id": p.incoming.external_id, "work_id": work_id, "role": role,
            "deleted": False, "datestamp": p.incoming.datestamp, "digest": p.digest, "first_seen_at": now,
            "last_seen_at": now, "last_run_id": run_id}


def _seen(record: IngestRecord, p: _Prepared, now: datetime, run_id: int | None, *, deleted: bool) -> None:
    record.deleted = deleted
    record.datestamp = p.incoming.datestamp or record.datestamp
    record.last_seen_at = now
    record.last_run_id = run_id


def _singles(plan: _Plan) -> list[_Plan]:
    """The plan as one plan per record (a link to a record created in the same batch goes with it)."""
    singles: list[_Plan] = []
    by_create: dict[int, _Plan] = {}
    for p in plan.creates:
        by_create[id(p)] = single = _Plan(creates=[p])
        singles.append(single)
    for link in plan.links:
        if isinstance(link[1], _Prepared):
            by_create[id(link[1])].links.append(link)
        else:
            singles.append(_Plan(links=[link]))
    singles += [_Plan(updates=[u]) for u in plan.updates]
    singles += [_Plan(withdrawals=[w]) for w in plan.withdrawals]
    singles += [_Plan(touches=[t]) for t in plan.touches]
    return singles


def _first(plan: _Plan) -> _Prepared:
    for group in (plan.creates, [link[0] for link in plan.links], [u[0] for u in plan.updates],
                  [w[0] for w in plan.withdrawals], [t[0] for t in plan.touches]):
        if group:
            return group[0]
    raise ValueError("empty plan")
