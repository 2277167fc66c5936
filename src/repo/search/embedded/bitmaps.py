"""In-memory bitmaps of the embedded backend (one per facet value): filters, visibility, facets.

Counting facets with SQL ``GROUP BY`` costs a pass over every match per dimension — tens of
milliseconds once a common word matches 10 % of 100,000 works. Here every facet value (and the
visibility fields) has a bitmap of the documents that carry it, so a dimension's counts are a few
``(matches & bitmap).bit_count()`` — microseconds each. The same bitmaps give a search its
allowed set before any full-text work, and :meth:`Bitmaps.digits` hands a set to SQL, where
``substr(:digits, id + 1, 1) = x'31'`` tests membership in O(1).

Memory: about 35 bytes per document at 100,000 works (the bitmaps, plus embargo and open-from
instants of the documents that have them); no per-document sort keys (SQL indexes serve sorts).

The bitmaps mirror the index tables: every write appends the work id to the ``changes`` table
(with the write counter in ``meta``), and :meth:`Bitmaps.refresh` applies the changes since its
last look (or rebuilds after a swap to a new generation), so several processes writing the index
(server, ``repo index drain``) stay consistent.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import defaultdict, deque
from collections.abc import Iterable
from datetime import date, datetime
from itertools import repeat
from typing import Any

#: Dimensions read from ``docs_N`` columns (the others come from ``vals_N``).
_COLUMNS = ("type", "year", "centre", "status", "centre_id", "access_right")
#: Incremental refresh up to this many changed documents; beyond, rebuild.
_INCREMENTAL_MAX = 5000


class Bitmaps:
    """The bitmaps of one index generation, refreshed from the database on demand."""

    def __init__(self) -> None:
        # Held by the backend around refresh *and* every read of one search, so a search never
        # sees the bitmaps change under it (searches of one process take turns on this part).
        self.lock = threading.RLock()
        self.generation = -1
        self.seq = 0
        self.size = 0  # bytes per bitmap
        self._bits: dict[tuple[str, str], bytearray] = defaultdict(self._empty)
        self._ints: dict[tuple[str, str], int] = {}
        self._embargo: dict[int, float] = {}  # doc -> embargo_from (embargoed docs only)
        self._open: dict[int, float] = {}  # doc -> open_from (docs with full text)
        self._derived: tuple[date, int, int, int] | None = None  # day, lifted, open-now, all docs
        self._digits: dict[int, bytes] = {}  # mask -> digits (see digits_of)

    def _empty(self) -> bytearray:
        return bytearray(self.size)

    # -- maintenance -----------------------------------------------------------------------------

    def refresh(self, conn: sqlite3.Connection, generation: int) -> None:
        """Bring the bitmaps up to date with the committed index (call inside the read snapshot)."""
        with self.lock:
            low, seq = conn.execute("SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM changes").fetchone()
            if generation == self.generation and seq == self.seq:
                return
            changed: list[int] = []
            rebuild = generation != self.generation or low > self.seq + 1  # a swap, or the log pruned past us
            if not rebuild:
                changed = [row[0] for row in conn.execute(
                    "SELECT DISTINCT doc FROM changes WHERE seq > ? LIMIT ?", (self.seq, _INCREMENTAL_MAX + 1))]
            if rebuild or len(changed) > _INCREMENTAL_MAX:
                self._rebuild(conn, generation)
            else:
                self._update(conn, generation, changed)
            self.generation, self.seq = generation, seq
            self._ints.clear()
            self._digits.clear()
            self._derived = None

    def _grow(self, doc_id: int) -> None:
        need = doc_id // 8 + 1
        if need > self.size:
            size = max(need, self.size * 2, 1024)
            for bits in self._bits.values():
                bits.extend(bytes(size - len(bits)))
            self.size = size

    def _set(self, key: tuple[str, str], doc_id: int) -> None:
        self._bits[key][doc_id >> 3] |= 1 << (doc_id & 7)

    def _rows(self, conn: sqlite3.Connection, g: int, where: str = "", args: tuple[Any, ...] = ()) -> None:
        for row in conn.execute(f"SELECT id, type, year, centre, status, centre_id, access_right, embargo_from, "
                                f"open_from FROM docs_{g} {where}", args):
            doc_id = row[0]
            self._grow(doc_id)
            self._set(("all", ""), doc_id)
            for dim, value in zip(_COLUMNS, row[1:7]):
                if value is not None:
                    self._set((dim, str(value)), doc_id)
            if row[7] is not None and row[6] == "embargoed":
                self._embargo[doc_id] = row[7]
            if row[8] is not None:
                self._open[doc_id] = row[8]
        for doc_id, dim, value in conn.execute(f"SELECT doc, dim, value FROM vals_{g} {where.replace('id', 'doc')}",
                                               args):
            self._grow(doc_id)
            self._set((dim, value), doc_id)

    def _rebuild(self, conn: sqlite3.Connection, g: int) -> None:
        self._bits = defaultdict(self._empty)
        self.size = 0
        self._embargo.clear()
        self._open.clear()
        self._rows(conn, g)

    def _update(self, conn: sqlite3.Connection, g: int, changed: list[int]) -> None:
        for doc_id in changed:
            if doc_id // 8 < self.size:
                mask = ~(1 << (doc_id & 7)) & 0xFF
                for bits in self._bits.values():
                    bits[doc_id >> 3] &= mask
            self._embargo.pop(doc_id, None)
            self._open.pop(doc_id, None)
        for start in range(0, len(changed), 500):
            chunk = changed[start:start + 500]
            self._rows(conn, g, f"WHERE id IN ({','.join('?' * len(chunk))})", tuple(chunk))

    # -- reading ---------------------------------------------------------------------------------

    def get(self, dim: str, value: str) -> int:
        key = (dim, value)
        found = self._ints.get(key)
        if found is None:
            bits = self._bits.get(key)
            found = int.from_bytes(bits, "little") if bits is not None else 0
            self._ints[key] = found
        return found

    def any_of(self, dim: str, values: Iterable[str]) -> int:
        out = 0
        for value in values:
            out |= self.get(dim, value)
        return out

    def values(self, dim: str) -> list[str]:
        return [value for d, value in self._bits if d == dim]

    def _mask(self, docs: Iterable[int]) -> int:
        """The bitmap of ``docs`` (ids of indexed documents, any order, repeats allowed).

        Built as one ASCII digit per document, set by ``bytearray.__setitem__`` mapped in C and
        read back by ``int(..., 2)``: about 3x faster than or-ing bits into bytes in a Python loop.
        """
        digits = bytearray(b"0") * (self.size * 8)
        ids = docs if isinstance(docs, list) else list(docs)
        try:
            deque(map(digits.__setitem__, ids, repeat(0x31)), 0)
        except IndexError:  # a document written after our snapshot of the bitmaps: grow to fit
            digits.extend(b"0" * (max(ids) + 1 - len(digits)))
            deque(map(digits.__setitem__, ids, repeat(0x31)), 0)
        digits.reverse()  # bit 0 (document 0) is the last digit of a binary numeral
        return int(digits, 2) if digits else 0  # an empty index has no digits at all

    def derived(self, now: datetime) -> tuple[int, int]:
        """(embargoed works whose embargo ended by ``now``, works whose full text is open at ``now``).

        Embargoes end and full text opens at midnight UTC, so a day's masks serve the whole day.
        """
        day = now.date()
        instant = now.timestamp()
        if self._derived is None or self._derived[0] != day:
            lifted = self._mask(d for d, t in self._embargo.items() if t <= instant)
            opened = self._mask(d for d, t in self._open.items() if t <= instant)
            self._derived = (day, lifted, opened, self.get("all", ""))
        return self._derived[1], self._derived[2]

    def from_list(self, listed: str) -> int:
        """The bitmap of the documents of ``listed``, ids separated by commas (SQL's ``group_concat``)."""
        return self._mask(json.loads(f"[{listed}]")) if listed else 0  # parsed in C: twice split + int

    def from_ids(self, ids: Iterable[int]) -> int:
        """The bitmap of the documents ``ids``."""
        return self._mask(ids)

    @staticmethod
    def digits(mask: int) -> bytes:
        """``mask`` as one byte per document (``b"1"`` member, ``b"0"`` not; shorter past the last member).

        SQL tests membership with ``substr(:digits, id + 1, 1) = x'31'`` — O(1) on a BLOB — so
        FTS5 computes ``rank`` (evaluated lazily, per returned row) only for allowed documents,
        and the documents table can be walked in sort order without leaving SQLite.
        """
        return bin(mask)[:1:-1].encode("ascii")

    def digits_of(self, mask: int) -> bytes:
        """:meth:`digits`, kept for the last few masks (a search hands the same sets to SQL
        several times, and the open texts' set serves a whole day: ~0.2 ms each at 100k works)."""
        found = self._digits.get(mask)
        if found is None:
            if len(self._digits) >= 4:
                self._digits.pop(next(iter(self._digits)))
            found = self._digits[mask] = self.digits(mask)
        return found

    def most(self, mask: int) -> bool:
        """Whether ``mask`` holds at least 90 % of the indexed documents."""
        return mask.bit_count() * 10 >= self.get("all", "").bit_count() * 9


    @staticmethod
    def members(mask: int, after: int = -1, limit: int | None = None) -> list[int]:
        """The document ids in ``mask`` greater than ``after``, ascending (the first ``limit``)."""
        digits = bin(mask)[:1:-1]
        out: list[int] = []
        found = digits.find("1", after + 1)
        while found >= 0 and (limit is None or len(out) < limit):
            out.append(found)
            found = digits.find("1", found + 1)
        return out

    def counts(self, matches: int, now: datetime, size: int) -> dict[str, list[tuple[str, int]]]:
        """Facet counts of the documents in ``matches``."""
        lifted, opened = self.derived(now)
        out: dict[str, list[tuple[str, int]]] = {}
        for dim in ("type", "language", "year", "centre", "collection", "country"):
            counted = [(v, (matches & self.get(dim, v)).bit_count()) for v in self.values(dim)]
            counted = [(v, n) for v, n in counted if n]
            if dim == "year":
                counted.sort(key=lambda kv: -int(kv[0]))
            else:
                counted.sort(key=lambda kv: (-kv[1], kv[0]))
            out[dim] = counted[:size]
        access: dict[str, int] = {}
        for value in self.values("access_right"):
            n = (matches & self.get("access_right", value)).bit_count()
            if value == "embargoed":
                ended = (matches & self.get("access_right", value) & lifted).bit_count()
                access["open"] = access.get("open", 0) + ended
                n -= ended
            access[value] = access.get(value, 0) + n
        out["access"] = sorted(((v, n) for v, n in access.items() if n), key=lambda kv: (-kv[1], kv[0]))[:size]
        with_text = (matches & opened).bit_count()
        total = matches.bit_count()
        out["has_fulltext"] = sorted(((v, n) for v, n in (("true", with_text), ("false", total - with_text)) if n),
                                     key=lambda kv: (-kv[1], kv[0]))
        return out
