"""Aggregates of the reading room that are scans (the sitemap index), memoised per data version.

Grouping every public work by id block is a scan however it is indexed; pages must answer in
milliseconds. So such aggregates are computed once per *data version* — a few O(log n) lookups
(the newest work, change and revision) that change with every deposit, edit, publication and
withdrawal — and reused until it changes. There is nothing to invalidate by hand.

Two levels: each process keeps a small memo, and the worker's ``web.warm`` job (woken after each
commit) computes the aggregate for the new data version and stores it in ``web_aggregates``, where
every web process finds it with one primary-key lookup. A page never writes: when neither level
has the current version (the worker has not caught up yet) it computes the value itself.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo.web.models import StoredAggregate
from repo.works.models import Revision, Work

T = TypeVar("T")
_MAX_ENTRIES = 64
_memo: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class Aggregate(Generic[T]):
    """A memoised aggregate: its name, how to compute it, and its JSON form for the shared store."""

    name: str
    compute: Callable[[Session], T]
    dump: Callable[[T], Any]
    load: Callable[[Any], T]


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever a work changes (each part is an index lookup): all the sitemap blocks read."""
    return tuple(session.execute(sa.select(
        sa.select(sa.func.max(Work.id)).scalar_subquery(),
        sa.select(sa.func.max(Work.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Revision.id)).scalar_subquery(),  # two changes within one second
    )).one())


def _version_text(version: tuple[Any, ...]) -> str:
    return json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in version])


def _remember(key: tuple[Any, ...], value: Any) -> None:
    with _lock:
        _memo[key] = value
        while len(_memo) > _MAX_ENTRIES:
            _memo.popitem(last=False)


def memoised(session: Session, aggregate: Aggregate[T]) -> T:
    """The aggregate for the current data version: this process's memo, else the worker's stored
    value, else computed here (and remembered in this process only: a read never writes)."""
    version = data_version(session)
    key = (str(session.get_bind().engine.url), aggregate.name, version)
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]  # type: ignore[no-any-return]
    stored = session.get(StoredAggregate, aggregate.name)
    if stored is not None and stored.version == _version_text(version):
        value = aggregate.load(stored.value)
    else:
        value = aggregate.compute(session)
    _remember(key, value)
    return value


def warm(session: Session, aggregate: Aggregate[Any], now: datetime) -> bool:
    """Store the aggregate for the current data version unless it is there; True when computed."""
    version = data_version(session)
    text = _version_text(version)
    stored = session.get(StoredAggregate, aggregate.name)
    if stored is not None and stored.version == text:
        return False
    value = aggregate.compute(session)
    if stored is None:
        session.add(StoredAggregate(name=aggregate.name, version=text, value=aggregate.dump(value), computed_at=now))
    else:
        stored.version, stored.value, stored.computed_at = text, aggregate.dump(value), now
    session.flush()
    _remember((str(session.get_bind().engine.url), aggregate.name, version), value)
    return True
