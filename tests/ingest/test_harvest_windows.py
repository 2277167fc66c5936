"""A run asks its range a window at a time, but reads it as one stream of pages: the next window's
first page is fetched and prepared (in the second process) while this window's last page is
written, and what is written, and the position committed with it, is what a window-by-window
run writes — an empty window, an expired token and a kill in the middle included."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from ingest_support import Harvester
from lxml import etree
from oai_source import Faults, Item, dc_item

from repo.ingest import pipeline
from repo.ingest.models import HarvestRun

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
DAYS = 200  # harvest_window_days: the range up to today is five or six windows
OAI = "{http://www.openarchives.org/OAI/2.0/}"


def windowed(per_window: tuple[int, ...]) -> list[Item]:
    """``per_window[k]`` records in the k-th window of ``DAYS`` days from ``START`` (0: an empty one)."""
    items, n = [], 0
    for k, count in enumerate(per_window):
        for i in range(count):
            n += 1
            items.append(dc_item(n, START + timedelta(days=DAYS * k, hours=i)))
    return items


def identifiers(count: int) -> list[str]:
    return sorted(f"oai:source.example.org:{n}" for n in range(1, count + 1))


def harvested(harvester: Harvester) -> list[str]:
    return sorted(harvester.works())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_next_windows_first_page_is_prepared_while_this_window_is_written(
        harvester: Harvester, oai_source, monkeypatch: pytest.MonkeyPatch) -> None:
    source = oai_source(windowed((7, 7, 0, 6, 7)), page_size=5)  # an empty window in the middle
    harvester.settings = harvester.settings.model_copy(update={"harvest_parallel_from_records": 0})
    sent: list[tuple[str | None, datetime | None]] = []  # each page sent: its `from`, the run's window's end then
    call = pipeline.Preparer.call

    def watched(self: pipeline.Preparer, function: Callable[..., Any], *args: Any) -> Any:
        request = etree.fromstring(args[0]).find(f"{OAI}request")
        with harvester.database.session() as session:
            sent.append((request.get("from"), session.scalar(sa.select(HarvestRun.window_until))))
        return call(self, function, *args)

    monkeypatch.setattr(pipeline.Preparer, "call", watched)
    run = harvester.run(harvester.add(source.url), harvest_window_days=DAYS)
    assert run.status == "succeeded" and (run.created, run.seen, run.failed) == (27, 27, 0)
    assert harvested(harvester) == identifiers(27)
    firsts = [(asked, at) for asked, at in sent if asked is not None]  # the first page of windows 2, 4, 5
    assert len(firsts) == 3 and len(sent) == 8, sent
    for asked, at in firsts:  # sent while the run was still at an earlier window (writing its last page)
        assert at is not None and at.strftime("%Y-%m-%dT%H:%M:%SZ") < asked, sent
    windows = [(r.get("from"), r.get("until")) for r in source.requests
               if r.get("verb") == "ListRecords" and "resumptionToken" not in r]
    for (_, until), (start, _) in zip(windows, windows[1:]):
        assert start > until  # contiguous, each asked once
    assert len(windows) == len(set(windows))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_expired_token_restarts_its_window_in_the_middle_of_the_stream(harvester: Harvester, oai_source,
                                                                           where: str) -> None:
    source = oai_source(windowed((7, 3, 8)), page_size=5, faults=Faults(expire_tokens=True))
    run = harvester.run(harvester.add(source.url), harvest_window_days=DAYS)
    assert run.status == "succeeded" and run.window_restarts == 2  # windows 1 and 3, once each
    assert (run.created, run.unchanged) == (18, 10)  # each restarted window's first page, seen again
    assert harvested(harvester) == identifiers(18)


def test_a_run_stopped_between_windows_resumes_at_its_window(harvester: Harvester, oai_source, where: str) -> None:
    source = oai_source(windowed((5, 5, 5)), page_size=5)  # one page per window: each ends its window
    source_id = harvester.add(source.url)
    stopped = harvester.run(source_id, harvest_window_days=DAYS, harvest_max_records=10)
    assert stopped.status == "stopped" and stopped.created == 10 and stopped.token is None
    asked_before = len(source.requests)
    run = harvester.run(source_id, harvest_window_days=DAYS)
    assert run.id == stopped.id and run.status == "succeeded" and (run.created, run.unchanged) == (15, 0)
    first = next(r for r in source.requests[asked_before:] if r.get("verb") == "ListRecords")
    assert first["from"] == stopped.window_from.strftime("%Y-%m-%dT%H:%M:%SZ")  # not from zero, not a window late
    assert harvested(harvester) == identifiers(15)
