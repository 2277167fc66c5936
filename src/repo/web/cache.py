"""Aggregates of the reading room that are scans (the sitemap index), memoised per data version.

Grouping every public work by id block is a scan however it is indexed; pages must answer in
milliseconds. So such aggregates are computed once per *data version* — a few O(log n) lookups
(the newest work, change and revision) that change with every deposit, edit, publication and
withdrawal — and reused until it changes. Each worker process
keeps its own small memo; there is nothing to invalidate by hand and nothing shared between
processes, so several workers stay stateless.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo.works.models import Revision, Work

T = TypeVar("T")
_MAX_ENTRIES = 64
_memo: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever a work changes (each part is an index lookup): all the sitemap blocks read."""
    return tuple(session.execute(sa.select(
        sa.select(sa.func.max(Work.id)).scalar_subquery(),
        sa.select(sa.func.max(Work.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Revision.id)).scalar_subquery(),  # two changes within one second
    )).one())


def memoised(session: Session, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per data version of this database."""
    key = (str(session.get_bind().engine.url), name, data_version(session))
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        _memo[key] = value
        while len(_memo) > _MAX_ENTRIES:
            _memo.popitem(last=False)
    return value
