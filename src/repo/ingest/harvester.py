"""A harvest run: how records *arrive* from an OAI-PMH source (the rest is :mod:`repo.ingest.pipeline`).

* **Range.** A run covers ``[from, until]`` in the source's own time and granularity: ``until`` is
  the source's clock when the run began (its Identify ``responseDate``), ``from`` the start of the
  last successful run minus a safety overlap (``REPO_HARVEST_OVERLAP_SECONDS``) — or nothing for a
  full run. Records that change during a run fall in the next run's range.
* **Windows.** The range is asked for ``REPO_HARVEST_WINDOW_DAYS`` at a time (the first window
  open at the bottom, so a wrong ``earliestDatestamp`` hides nothing), contiguous at the source's
  granularity. A resumption token that is bad or expired restarts its window, not the source.
  The pages are read as one stream across windows: the next window's first page is fetched (and
  prepared in the second process) while this window's last one is written.
* **Position in SQL.** Each page's records and the token of the next page are committed together,
  so a run that crashes (or is killed) resumes from the last token, or from the start of its
  window when the token is gone: no gap, and no duplicate (records are matched by OAI identifier).
* **Misbehaving sources.** 503/Retry-After and transport errors are retried by the client with
  back-off; a token that comes back (a loop) or a list that never ends (empty pages with tokens)
  stops the run with the reason; a run has a time, record and byte budget and stops (resumable)
  when it is used up; a malformed page is asked again once, then stops the run; a bad record
  (no identifier, invalid datestamp, entities, too large, unmappable) fails alone.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import sqlalchemy as sa
from lxml import etree
from oaipmh_scythe import exceptions as oai_errors

from repo.clock import Clock
from repo.config import Settings
from repo.context import Context
from repo.db import Database
from repo.deposit.auth import Principal, TokenRole
from repo.ingest import pipeline
from repo.ingest.client import OAI, Budget, BudgetExceeded, HarvestClient, ResponseTooLarge, resumption_token, text
from repo.ingest.mapping import MAPPERS, MappingError
from repo.ingest.models import COUNTERS, HarvestRun, HarvestSource, IngestProblem, IngestRecord

log = logging.getLogger("repo.ingest")

DAY = "YYYY-MM-DD"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
MAX_PROBLEMS_PER_RUN = 2000  # the counters stay exact; the list of reasons is bounded
MAX_WINDOW_RESTARTS = 5
MAX_EMPTY_PAGES = 10
LEASE = timedelta(minutes=15)  # another host's run without a heartbeat for this long is taken over


class HarvestError(Exception):
    """The run cannot go on (the reason is recorded; the run is resumable)."""


class Busy(Exception):
    """Another live process is running this source's harvest."""


# -- time at the source's granularity --------------------------------------------------------------

@dataclass(frozen=True)
class Granularity:
    value: str

    @property
    def step(self) -> timedelta:
        return timedelta(days=1) if self.value == DAY else timedelta(seconds=1)

    def floor(self, when: datetime) -> datetime:
        when = when.astimezone(UTC).replace(microsecond=0)
        return when.replace(hour=0, minute=0, second=0) if self.value == DAY else when

    def format(self, when: datetime) -> str:
        """A ``from``/``until`` argument (§3.3.1: the repository's granularity, never finer)."""
        return when.strftime("%Y-%m-%d") if self.value == DAY else when.strftime("%Y-%m-%dT%H:%M:%SZ")


_DATESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})Z)?")


def parse_datestamp(value: str | None) -> datetime | None:
    """A UTC datestamp in either legitimate form (§3.3: YYYY-MM-DD, YYYY-MM-DDThh:mm:ssZ), else ``None``."""
    match = _DATESTAMP.fullmatch(value.strip()) if value else None
    if match is None:
        return None
    try:
        return datetime(*(int(g) for g in match.groups() if g is not None), tzinfo=UTC)  # type: ignore[misc]
    except ValueError:  # 2024-02-30, 25:00:00
        return None


# -- Identify ---------------------------------------------------------------------------------------

@dataclass
class Identity:
    """What a source says about itself (§4.2) and its clock (the responseDate)."""

    repository_name: str
    base_url: str | None
    protocol_version: str | None
    granularity: str
    deleted_record: str
    earliest_datestamp: datetime | None
    response_date: datetime | None
    admin_emails: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def identify(client: HarvestClient) -> Identity:
    root = client.harvest({"verb": "Identify"}).xml
    element = root.find(OAI + "Identify")
    if root.tag != OAI + "OAI-PMH" or element is None:
        raise HarvestError("the answer to Identify is not an OAI-PMH Identify response")
    granularity = text(element, "granularity") or DAY
    return Identity(
        repository_name=(text(element, "repositoryName") or "")[:500],
        base_url=text(element, "baseURL"),
        protocol_version=text(element, "protocolVersion"),
        granularity=SECONDS if granularity == SECONDS else DAY,  # anything else: the least it must support
        deleted_record=text(element, "deletedRecord") or "no",
        earliest_datestamp=parse_datestamp(text(element, "earliestDatestamp")),
        response_date=parse_datestamp(text(root, "responseDate")),
        admin_emails=[e.text.strip() for e in element.findall(OAI + "adminEmail") if e.text],
    )


def metadata_formats(client: HarvestClient) -> dict[str, str]:
    """prefix → namespace of every format the source offers (§4.4)."""
    formats = {}
    for response in client.iterator(client, {"verb": "ListMetadataFormats"}):
        for element in response.xml.iter(OAI + "metadataFormat"):
            prefix, namespace = text(element, "metadataPrefix"), text(element, "metadataNamespace")
            if prefix and namespace:
                formats[prefix] = namespace
    return formats


# -- one record ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PageContext:
    """What every record of a page shares, worked out once per page (not per record)."""

    source_id: int
    base_url: str
    metadata_prefix: str
    metadata_namespace: str
    harvested_at: str  # YYYY-MM-DDThh:mm:ssZ
    max_record_bytes: int
    check_size: bool  # the page is larger than a record may be: measure each record
    has_entities: bool  # the page holds entity references somewhere: look for them in each record

    @classmethod
    def of(cls, source: HarvestSource | _Facts, root: etree._Element | None, page_bytes: int, harvested_at: datetime,
           settings: Settings) -> PageContext:
        return cls(source.id, source.base_url, source.metadata_prefix, source.metadata_namespace,
                   harvested_at.strftime("%Y-%m-%dT%H:%M:%SZ"), settings.harvest_max_record_bytes,
                   page_bytes > settings.harvest_max_record_bytes,
                   root is None or next(root.iter(etree.Entity), None) is not None)


def incoming(record: etree._Element, page: PageContext) -> pipeline.Incoming:
    """A ``<record>`` as the pipeline's :class:`~repo.ingest.pipeline.Incoming`."""
    header = next(record.iterchildren(OAI + "header"), None)  # record.find(…), half the time (a page has 500)
    identifier = text(header, "identifier") if header is not None else None
    if not identifier:
        return pipeline.Incoming(f"(record without identifier: line {record.sourceline})",
                                 error="the record has no header identifier")
    identifier = identifier[:1000]
    raw_datestamp = text(header, "datestamp")  # type: ignore[arg-type]
    datestamp = parse_datestamp(raw_datestamp)
    if datestamp is None:
        return pipeline.Incoming(identifier, error=f"invalid datestamp {str(raw_datestamp)[:40]!r} "
                                 "(OAI-PMH §3.3: YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")
    if header.get("status") == "deleted":  # type: ignore[union-attr]
        return pipeline.Incoming(identifier, deleted=True, datestamp=datestamp)
    origin = {"kind": "oai", "source_id": page.source_id, "base_url": page.base_url, "identifier": identifier,
              "datestamp": raw_datestamp, "metadata_prefix": page.metadata_prefix,
              "metadata_namespace": page.metadata_namespace, "harvested_at": page.harvested_at}
    item = pipeline.Incoming(identifier, datestamp=datestamp, origin=origin)
    metadata = next(record.iterchildren(OAI + "metadata"), None)
    payload = next((child for child in metadata if isinstance(child.tag, str)), None) if metadata is not None else None
    if payload is None:
        item.error = "the record has no metadata (and is not marked deleted)"
        return item
    if page.check_size and len(etree.tostring(payload)) > page.max_record_bytes:
        item.error = f"the record is larger than {page.max_record_bytes:,} bytes"
        return item
    if page.has_entities and next(payload.iter(etree.Entity), None) is not None:
        item.error = "the record holds entity references (entities are never resolved)"
        return item
    tag = payload.tag
    namespace = tag[1:tag.index("}")] if tag[0] == "{" else ""
    mapper = MAPPERS.get(namespace)
    if mapper is None or namespace != page.metadata_namespace:
        item.error = f"no mapping for metadata in namespace {namespace!r}"
        return item
    try:
        item.draft = mapper(payload)
    except (MappingError, ValueError) as exc:
        item.error = f"cannot map the record: {exc}"[:4000]
    return item


# -- the run ---------------------------------------------------------------------------------------------

@dataclass
class Harvest:
    """One invocation of a source's harvest (``repo harvest run``, the scheduler)."""

    db: Database
    settings: Settings
    clock: Clock
    source_id: int
    full: bool = False
    should_stop: Callable[[], bool] = lambda: False
    slice_seconds: float | None = None  # stop (resumably) after this long: background work in slices
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    # Map and validate in a second process (pipeline.Preparer) while this one writes, from the
    # moment the records the run has read and those the source announces (completeListSize) make
    # this many;
    # None: never (the server's scheduled harvests). ``repo harvest run`` sets it.
    parallel_from_records: int | None = None
    records_read: int = field(default=0, init=False)  # by this invocation
    _preparer: pipeline.Preparer | None = field(default=None, init=False, repr=False)

    def run(self) -> int:
        """Harvest until the range is done, the budget (or the slice) is used or the source fails;
        returns the run id."""
        budget = Budget.of(self.settings)
        if self.slice_seconds is not None:
            budget.deadline = min(budget.deadline, time.monotonic() + self.slice_seconds)
        with self.db.session() as session:
            source = session.get(HarvestSource, self.source_id)
            if source is None:
                raise HarvestError(f"no harvest source {self.source_id}")
            client = HarvestClient(source.base_url, self.settings, budget)
        try:
            try:
                identity = identify(client)
            except Exception as exc:
                run_id = self._claim(None)
                stopped = isinstance(exc, BudgetExceeded)  # out of time before the first page: not a failure
                self._stop(run_id, "stopped" if stopped else "failed", f"Identify failed: {describe(exc)}")
                return run_id
            run_id = self._claim(identity)
            try:
                try:
                    self._windows(run_id, client, budget)
                finally:
                    if self._preparer is not None:
                        self._preparer.close()
                        self._preparer = None
            except BudgetExceeded as exc:
                self._stop(run_id, "stopped", str(exc))
            except (HarvestError, ResponseTooLarge) as exc:
                self._stop(run_id, "failed", str(exc))
            except Exception as exc:  # transport and protocol errors after the client's retries
                log.warning("harvest of source %s failed", self.source_id, exc_info=True)
                self._stop(run_id, "failed", describe(exc))
            return run_id
        finally:
            client.close()

    # -- claiming a run (new, or resuming the open one) ----------------------------------------------

    def _claim(self, identity: Identity | None) -> int:
        now = self.clock.now()
        with self.db.session() as session:
            source = session.scalars(sa.select(HarvestSource).where(HarvestSource.id == self.source_id)
                                     .with_for_update(of=HarvestSource)).one()
            if identity is not None:
                source.repository_name = identity.repository_name or source.repository_name
                source.granularity = identity.granularity
                source.deleted_record = identity.deleted_record
                source.earliest_datestamp = identity.earliest_datestamp
            open_run = session.scalars(sa.select(HarvestRun).where(
                HarvestRun.source_id == source.id, HarvestRun.status.in_(("running", "failed", "stopped")))
                .order_by(HarvestRun.id.desc()).limit(1)).first()
            if open_run is not None and open_run.status == "running" and _alive(open_run, self.owner, now):
                raise Busy(f"run {open_run.id} of source {source.id} is in progress ({open_run.owner})")
            if open_run is not None and self.full and not open_run.full:
                open_run.status, open_run.finished_at = "abandoned", now
                open_run.last_error = "abandoned for a full harvest"
                open_run = None
            if open_run is not None:
                if open_run.status == "running":
                    open_run.last_error = f"interrupted ({open_run.owner} is gone); resumed"
                open_run.status, open_run.owner, open_run.heartbeat_at = "running", self.owner, now
                open_run.attempts += 1
                run = open_run
            else:
                granularity = Granularity(source.granularity)
                source_now = (identity.response_date if identity and identity.response_date else now)
                lower = None
                if not self.full and source.harvested_through is not None:
                    lower = granularity.floor(source.harvested_through
                                              - timedelta(seconds=self.settings.harvest_overlap_seconds))
                upper = granularity.floor(source_now)
                run = HarvestRun(source_id=source.id, full=self.full or lower is None, status="running",
                                 started_at=now, heartbeat_at=now, owner=self.owner, attempts=1,
                                 range_from=lower, range_until=upper, source_time=source_now, pages=0, bytes=0,
                                 window_restarts=0, **{c: 0 for c in COUNTERS})
                run.window_from, run.window_until = self._first_window(source, granularity, lower, upper)
                session.add(run)
            session.flush()
            source.last_run_id = run.id
            return run.id

    def _first_window(self, source: HarvestSource, granularity: Granularity, lower: datetime | None,
                      upper: datetime) -> tuple[datetime | None, datetime]:
        span = timedelta(days=self.settings.harvest_window_days)
        start = lower or (granularity.floor(source.earliest_datestamp) if source.earliest_datestamp else None)
        if start is None or start + span >= upper:
            return lower, upper
        return lower, start + span - granularity.step

    # -- the windows and their pages --------------------------------------------------------------------

    def _windows(self, run_id: int, client: HarvestClient, budget: Budget) -> None:
        """Follow the run's pages from its position in SQL to the end of its range, window after
        window, as one stream: the next page (the next window's first one too) is fetched and
        prepared while this one is written, so a window boundary never empties the pipe. What is
        written, and the position committed with it, is exactly what a window-by-window loop would
        write: the stream only looks ahead, and each page carries the window it belongs to, which
        must be the run's window in SQL when it is written. A failure (a bad token, a malformed
        page) drops the stream, and the run goes on from its position in SQL."""
        records_budget = self.settings.harvest_max_records
        retried: tuple[Any, ...] | None = None  # the position of a malformed page asked again
        while True:
            with self.db.session() as session:
                run = session.get(HarvestRun, run_id)
                assert run is not None
                source = run.source
                if run.status != "running":
                    return
                window: Window = (run.window_from, run.window_until)
                token = run.token
                lister = _Lister(client, Granularity(source.granularity), source.metadata_prefix, source.set_spec,
                                 run.range_until, self.settings.harvest_window_days)
                facts = _Facts(source.id, source.base_url, source.metadata_prefix, source.metadata_namespace,
                               source.centre.slug, (source.collection.slug,) if source.collection else ())
            seen_tokens: set[str] = {token} if token else set()
            current, empty = window, 0
            try:
                pages = prefetched(functools.partial(lister.pages, window, token))
                for page, prepared in self._ahead(pages, facts):
                    if page.window != current:  # the next window: its own loop and endless-list checks
                        current, seen_tokens, empty = page.window, set(), 0
                    if page.response is None:  # noRecordsMatch: nothing (more) in this window
                        self._advance(run_id, page.window)
                        continue
                    root = page.response.xml
                    records = root.findall(f"{OAI}ListRecords/{OAI}record")
                    next_token = page.next_token
                    self._page(run_id, page.window, root, records, next_token,
                               len(page.response.http_response.content), budget, prepared)
                    # the page's records are good; a token that comes back, or pages that never end, are not
                    if next_token and next_token in seen_tokens:
                        raise HarvestError(f"resumption token loop: the source sent token {next_token[:80]!r} "
                                           "again (OAI-PMH §3.5)")
                    empty = empty + 1 if not records else 0
                    if empty > MAX_EMPTY_PAGES and next_token:
                        raise HarvestError(f"endless resumption tokens: {empty} pages in a row without records")
                    seen_tokens.add(next_token or "")
                    self.records_read += len(records)
                    if self.records_read >= records_budget:
                        raise BudgetExceeded(f"the run's budget of {records_budget:,} records is used up")
                    if self.should_stop():
                        raise BudgetExceeded("stopped by the server's shutdown")
                    budget.check_time()
            except oai_errors.BadResumptionToken as exc:
                self._restart_window(run_id, exc)
                continue
            except etree.XMLSyntaxError as exc:
                with self.db.session() as session:
                    run = session.get(HarvestRun, run_id)
                    position = (run.window_from, run.window_until, run.token) if run else None
                if position == retried:
                    raise HarvestError(f"malformed XML from the source (asked twice): {exc}") from None
                retried = position  # a truncated answer happens: ask for the same page once more
                continue

    def _ahead(self, pages: Iterator[_Listed], facts: _Facts) -> Iterator[tuple[_Listed, Future[Any] | None]]:
        """Each page with, once the run is big enough for a second process, the future of its
        records mapped and prepared there: the next page is sent there before this one is handed
        out (and written here). A page that cannot be fetched fails after the one before is written."""
        if self.parallel_from_records is None:
            for page in pages:
                yield page, None
            return
        yield from pipeline.ahead(pages, lambda page: self._send(page, facts))

    def _send(self, page: _Listed, facts: _Facts) -> Future[Any] | None:
        """Send a page to the second process (started when the run is big enough), or not."""
        assert self.parallel_from_records is not None
        if page.response is None:
            return None
        root = page.response.xml
        if self._preparer is None:
            element = resumption_token(root)
            announced = element.get("completeListSize", "") if element is not None else ""
            # the window's list (a run asks a year at a time) is all one knows of what is to come
            if self.records_read + (int(announced) if announced.isdigit() else 0) < self.parallel_from_records:
                return None
            self._preparer = pipeline.Preparer()
        content = page.response.http_response.content
        context = PageContext.of(facts, root, len(content), self.clock.now(), self.settings)
        return self._preparer.call(_prepare_page, content, context, facts.centre, facts.collections)

    def _page(self, run_id: int, window: Window, root: etree._Element | None, records: list[etree._Element],
              next_token: str | None, size: int, budget: Budget, prepared: Future[Any] | None = None) -> None:
        """Apply one page of ``window`` and move the position past it, in one transaction."""
        with self.db.session() as session:
            run = session.get(HarvestRun, run_id)
            assert run is not None
            _check_window(run, window)
            source = run.source
            now = self.clock.now()
            feed = pipeline.Feed(source.feed, source.centre.slug,
                                 (source.collection.slug,) if source.collection else ())
            ready: list[pipeline._Prepared] | None = None
            if prepared is None:
                page = PageContext.of(source, root, size, now, self.settings)
                items = [incoming(r, page) for r in records]
            else:  # mapped and prepared in the second process (each record without its input: see _again)
                shipped = prepared.result()
                if len(shipped) != len(records):
                    raise HarvestError(f"the second process read {len(shipped)} records of a page of {len(records)}")
                items = [pipeline.Incoming(external_id, deleted, datestamp, error=error, origin=origin)
                         for (external_id, deleted, datestamp, error, origin), _ in shipped]
                again = _Again(source, root, size, now, self.settings, feed)
                ready = [pipeline.from_plain(item, feed, values, functools.partial(again, element))
                         for item, (_, values), element in zip(items, shipped, records)]
            ctx = Context(session, Principal(token_id=0, name=f"harvest:{source.id}", role=TokenRole.admin),
                          now, self.settings, self.clock)
            outcome = pipeline.ingest(ctx, feed, items, run_id=run_id, prepared=ready)
            for name, count in outcome.counts.items():
                setattr(run, name, getattr(run, name) + count)
            _problems(session, run, source.feed, outcome.problems, now)
            run.pages += 1
            run.bytes += size
            run.heartbeat_at = now
            if next_token:
                run.token = next_token
            else:
                self._next_window(session, run, now)

    def _advance(self, run_id: int, window: Window) -> None:
        """``window`` has nothing (more) to list: go to the next one."""
        with self.db.session() as session:
            run = session.get(HarvestRun, run_id)
            assert run is not None
            _check_window(run, window)
            self._next_window(session, run, self.clock.now())

    def _next_window(self, session: Any, run: HarvestRun, now: datetime) -> None:
        """The window is done: go to the next one, or finish the run."""
        run.token = None
        following = next_window(run.window_until, run.range_until, Granularity(run.source.granularity),
                                self.settings.harvest_window_days)
        if following is None:
            _finish(session, run, now, self.settings)
            return
        run.window_from, run.window_until = following

    def _restart_window(self, run_id: int, exc: Exception) -> None:
        with self.db.session() as session:
            run = session.get(HarvestRun, run_id)
            assert run is not None
            run.window_restarts += 1
            run.token = None
            run.last_error = f"bad resumption token ({exc or 'expired'}): window restarted"
            if run.window_restarts > MAX_WINDOW_RESTARTS:
                raise HarvestError(f"the source refused its own resumption tokens {run.window_restarts} times")

    def _stop(self, run_id: int, status: str, reason: str) -> None:
        now = self.clock.now()
        with self.db.session() as session:
            run = session.get(HarvestRun, run_id)
            if run is None:
                return
            if run.status == "running":
                run.status = status
                run.finished_at = now
            run.last_error = reason[:4000]
            source = run.source
            source.last_error = reason[:4000]
            if status == "stopped":  # out of time, not failing: it goes on at the next opportunity
                source.next_due_at = now
            else:  # a scheduled source is tried again within the hour; one run on request is not
                source.next_due_at = (now + timedelta(seconds=min(source.every_seconds, 3600))
                                      if source.every_seconds else None)


@dataclass(frozen=True)
class _Facts:
    """What a page's records need of their source (read once per window)."""

    id: int
    base_url: str
    metadata_prefix: str
    metadata_namespace: str
    centre: str
    collections: tuple[str, ...]


Window = tuple[datetime | None, datetime | None]  # a run's window: from, until (at the source's granularity)


def next_window(until: datetime | None, upper: datetime | None, granularity: Granularity,
                days: int) -> tuple[datetime, datetime] | None:
    """The window after the one that ends at ``until``, ``days`` long and contiguous with it at the
    granularity, up to the run's ``upper`` bound; ``None`` when that one was the last."""
    if until is None or upper is None or until >= upper:
        return None
    start = until + granularity.step
    return start, min(start + timedelta(days=days) - granularity.step, upper)


def _check_window(run: HarvestRun, window: Window) -> None:
    """A page (or an empty window) is applied at the run's position, or not at all."""
    if (run.window_from, run.window_until) != window:
        raise HarvestError(f"a page of window {window} arrived while the run is at window "
                           f"({run.window_from}, {run.window_until}): not applied")


@dataclass(frozen=True)
class _Listed:
    """A page as the lister fetched it: its window, the response (``None``: noRecordsMatch, the
    window has nothing (more)), and the token of the page after it in the window (``None``: the
    window's last page)."""

    window: Window
    response: Any
    next_token: str | None


@dataclass(frozen=True)
class _Lister:
    """The run's ListRecords requests, page after page and window after window."""

    client: HarvestClient
    granularity: Granularity
    prefix: str
    set_spec: str | None
    upper: datetime | None  # the run's range_until
    window_days: int

    def query(self, window: Window) -> dict[str, str]:
        query = {"verb": "ListRecords", "metadataPrefix": self.prefix}
        if window[0] is not None:
            query["from"] = self.granularity.format(window[0])
        if window[1] is not None:
            query["until"] = self.granularity.format(window[1])
        if self.set_spec:
            query["set"] = self.set_spec
        return query

    def pages(self, window: Window, token: str | None) -> Iterator[_Listed]:
        """From ``window`` at ``token`` (``None``: its first page) to the end of the range. Errors
        (a bad token, malformed XML, transport) end it where they happen."""
        while True:
            query = {"verb": "ListRecords", "resumptionToken": token} if token else self.query(window)
            try:
                response = self.client.harvest(query)
            except oai_errors.NoRecordsMatch:
                yield _Listed(window, None, None)
                token = None
            else:
                element = resumption_token(response.xml)
                token = ((element.text or "").strip() if element is not None else "") or None
                yield _Listed(window, response, token)
            if token:
                continue
            following = next_window(window[1], self.upper, self.granularity, self.window_days)
            if following is None:
                return
            window = following


@dataclass
class _Again:
    """Step 1 of one record of a page prepared in the second process, again here, from its
    ``<record>`` element (the same function on the same input: the same result): for the rare
    record that needs its validated model here (an update), instead of shipping every record's
    input back."""

    source: HarvestSource
    root: etree._Element | None
    size: int
    now: datetime
    settings: Settings
    feed: pipeline.Feed
    _page: PageContext | None = None

    def __call__(self, element: etree._Element) -> pipeline._Prepared:
        if self._page is None:
            self._page = PageContext.of(self.source, self.root, self.size, self.now, self.settings)
        return pipeline.prepare(incoming(element, self._page), self.feed)


def _prepare_page(content: bytes, page: PageContext, centre: str, collections: tuple[str, ...],
                  ) -> list[tuple[tuple[Any, ...], tuple[Any, ...] | None]]:
    """(In the second process) a page's records as :func:`incoming` maps them and the pipeline
    prepares them: for each, its header facts and :func:`pipeline.plain`'s values. The page is
    parsed again there, by the same parser, from the same bytes."""
    from repo.ingest.client import PARSER

    feed = pipeline.Feed("", centre, collections)
    out = []
    for record in etree.fromstring(content, PARSER).findall(f"{OAI}ListRecords/{OAI}record"):
        item = incoming(record, page)
        out.append(((item.external_id, item.deleted, item.datestamp, item.error, item.origin),
                    pipeline.plain(item, feed, record=False)))
    return out


def prefetched(pages: Callable[[], Iterable[Any]]) -> Iterator[Any]:
    """The pages of ``pages()``, each fetched (and parsed: lxml lets other threads run meanwhile)
    in a helper thread while the previous one is being applied, so the source's time to answer
    overlaps ours. Errors of a fetch are raised where that page would have been. The helper
    threads are daemons: a fetch still under way when the run stops never holds the process."""

    def start(step: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
        box: dict[str, Any] = {}

        def fetch() -> None:
            try:
                box["page"] = step()
            except BaseException as exc:  # handed to the consumer
                box["error"] = exc

        thread = threading.Thread(target=fetch, name="harvest-fetch", daemon=True)
        thread.start()
        return thread, box

    def result(started: tuple[threading.Thread, dict[str, Any]]) -> Any:
        thread, box = started
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["page"]

    iterator = result(start(lambda: iter(pages())))  # scythe asks for the first page here
    pending = start(lambda: next(iterator, _END))
    while True:
        page = result(pending)
        if page is _END:
            return
        pending = start(lambda: next(iterator, _END))
        yield page


_END = object()


def _finish(session: Any, run: HarvestRun, now: datetime, settings: Settings) -> None:
    source = run.source
    if run.full:
        _report_missing(session, run, now)
    run.status, run.finished_at, run.token = "succeeded", now, None
    source.harvested_through = run.source_time
    source.last_error = None
    source.next_due_at = now + timedelta(seconds=source.every_seconds) if source.every_seconds else None


def _report_missing(session: Any, run: HarvestRun, now: datetime) -> None:
    """After a full run: records harvested before that the source no longer lists, without a
    deletion, are reported (not withdrawn: a source may drop a record from a set, or lose it)."""
    source = run.source
    gone = session.execute(sa.select(IngestRecord.external_id, IngestRecord.work_id).where(
        IngestRecord.feed == source.feed, IngestRecord.deleted.is_(False),
        sa.or_(IngestRecord.last_run_id.is_(None), IngestRecord.last_run_id != run.id))).all()
    run.missing += len(gone)
    _problems(session, run, source.feed, [
        pipeline.Problem(external_id, "missing", "no longer listed by the source, and not marked deleted: "
                         "reported, not withdrawn", work_id) for external_id, work_id in gone], now)


def _problems(session: Any, run: HarvestRun, feed: str, problems: list[pipeline.Problem], now: datetime) -> None:
    if not problems:
        return
    stored = session.scalar(sa.select(sa.func.count()).select_from(IngestProblem)
                            .where(IngestProblem.run_id == run.id)) or 0
    room = max(0, MAX_PROBLEMS_PER_RUN - stored)
    if room:
        session.execute(sa.insert(IngestProblem), [
            {"run_id": run.id, "feed": feed, "external_id": p.external_id, "kind": p.kind, "reason": p.reason,
             "work_id": p.work_id, "at": now} for p in problems[:room]])


def _alive(run: HarvestRun, owner: str, now: datetime) -> bool:
    """Whether the process that holds a running run may still be running it."""
    host, _, pid = run.owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return True  # another thread of this process
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return now - run.heartbeat_at < LEASE


def describe(exc: BaseException) -> str:
    """A one-line reason for an exception from the client (for the run's and the source's last error)."""
    if isinstance(exc, httpx2.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url} (after retries)"
    if isinstance(exc, httpx2.TransportError):
        return f"{exc.__class__.__name__} talking to the source (after retries): {exc}"[:1000]
    if isinstance(exc, oai_errors.OAIPMHException):
        return f"OAI-PMH error {exc.__class__.__name__}: {exc}"[:1000]
    if isinstance(exc, etree.XMLSyntaxError):
        return f"malformed XML from the source: {exc}"[:1000]
    return f"{exc.__class__.__name__}: {exc}"[:1000]
