"""Read-ahead of list pages: page n + 1 of a harvest is made while the harvester reads page n.

A harvester asks for a list one page at a time, each request after the last answer is read: the
server would idle while the client parses a page, and the client while the server makes the
next. After a ListRecords or ListIdentifiers page that ends with a resumption token, the endpoint
(:mod:`repo.oai.endpoints`) has the next page made at once, in a thread of :class:`ReadAhead`,
for the request the harvester will send (that verb, that token, the same compression); that
request takes it.

A page made ahead is the page a request would have got at that moment:

* it is made by the same code as any answer (:func:`repo.oai.service.respond`), under
  :func:`repo.oai.service.ahead`: it writes nothing (a page that would have to lift an embargo is
  not made ahead), and its records count as served when it is;
* it is served only while it is, byte for byte, what the request would get: no change of a record
  has been committed since it was made (the record generation its own query read,
  :data:`repo.oai.queries.GENERATION`, is still the database's: one read of one row,
  :func:`generation`), and the request comes within the same second (``responseDate``'s
  granularity, and that of every moment the clock alone changes a record at: an embargo's end).
  Otherwise, or when it was not made (an error, a write refused), the request is answered as if
  there were no read-ahead, and so is a request that comes before its page's making has started.

Only a page sent in one piece is made ahead (the others would be held whole), never for HEAD. A
process holds at most :data:`MAX_PAGES` (the oldest go first): about one per harvester at work,
each some tens of KiB compressed. ``REPO_OAI_READ_AHEAD=false`` turns it off.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from repo.oai.queries import GENERATION

MAX_PAGES = 32
VERBS = frozenset({"ListRecords", "ListIdentifiers"})

Key = tuple[str, str, str | None]  # verb, resumption token, content encoding

_GENERATION = sa.select(GENERATION)


@dataclass(frozen=True)
class Page:
    """A list page made ahead: its body as sent (compressed if asked), and what serving it needs."""

    body: bytes
    generation: int
    records: int  # records or headers in it
    next_token: str | None
    made_at: datetime  # its responseDate

    def fresh(self, current: int | None, now: datetime) -> bool:
        """Whether it may be served ``now``, the database's record generation being ``current``."""
        return current == self.generation and int(now.timestamp()) == int(self.made_at.timestamp())


def key_of(pairs: list[tuple[str, str]] | None, encoding: str | None) -> Key | None:
    """The key of a request that a page made ahead may answer: a list verb and a token, nothing else."""
    if pairs is None or len(pairs) != 2:
        return None
    arguments = dict(pairs)
    verb, token = arguments.get("verb"), arguments.get("resumptionToken")
    if verb not in VERBS or token is None:
        return None
    return verb, token, encoding


def generation(connection: sa.Connection) -> int | None:
    """The database's record generation now (``None``: unknown, so nothing made ahead is served)."""
    value = connection.scalar(_GENERATION)
    return None if value is None else int(value)


class ReadAhead:
    """The pages being made or made ahead in this process, by :data:`Key`, made one at a time in a
    thread of its own (the thread ends when this object goes)."""

    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self.max_pages = max_pages
        self._pages: OrderedDict[Key, Future[Page | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oai-read-ahead")

    def start(self, key: Key, make: Callable[[], Page | None]) -> None:
        """Have ``make`` make the page of ``key`` (``None``: it could not be made ahead)."""
        try:
            future = self._executor.submit(make)
        except RuntimeError:  # closed: the application is stopping
            return
        with self._lock:
            self._pages[key] = future
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)[1].cancel()

    def take(self, key: Key) -> Future[Page | None] | None:
        """The making of ``key``'s page, done or under way; ``None`` when there is none, or when it
        has not started yet (it is dropped: the request is answered at once instead of waiting)."""
        with self._lock:
            future = self._pages.pop(key, None)
        if future is None or future.cancel():
            return None
        return future

    def settle(self) -> None:
        """Wait until every page under way is made."""
        with self._lock:
            futures = list(self._pages.values())
        for future in futures:
            if not future.cancelled():
                future.exception()

    def close(self) -> None:
        """Drop every page, made or not, once the one being made is (before the database goes)."""
        with self._lock:
            futures = list(self._pages.values())
            self._pages.clear()
        for future in futures:
            future.cancel()
        self._executor.shutdown(wait=True)
