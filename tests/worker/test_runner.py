"""The runner: wakes, intervals, leases between processes' runners, failures, take-over."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import anyio
import pytest
import sqlalchemy as sa

from repo.app import open_resources
from repo.clock import ManualClock
from repo.worker import Job, Resources, Sharing, leases
from repo.worker.runner import Runner

from helpers import wait_for


@pytest.fixture
def resources(settings) -> Iterator[Resources]:
    r = open_resources(settings, ManualClock())
    yield r
    r.close()


class Probe:
    """A job body that counts its runs and how many run at once."""

    def __init__(self, work: list[int] | None = None, seconds: float = 0.0) -> None:
        self.work = list(work or [])  # what successive runs return (then 0)
        self.seconds = seconds
        self.runs = 0
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, resources: Resources) -> int:
        with self.lock:
            self.runs += 1
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        return self.work.pop(0) if self.work else 0


def test_commits_wake_only_the_jobs_that_run_on_commit(resources):
    on_commit, timed = Probe(), Probe()
    runner = Runner([Job("a", on_commit, interval=3600, on_commit=True), Job("b", timed, interval=3600)], resources)
    runner.start()
    try:
        assert wait_for(lambda: on_commit.runs == 1 and timed.runs == 1)  # a first cycle at start
        runner.wake_commit()
        assert wait_for(lambda: on_commit.runs == 2)
        time.sleep(0.2)
        assert timed.runs == 1  # its interval (an hour) has not passed, and commits do not wake it
    finally:
        runner.stop()


def test_a_job_runs_again_while_it_finds_work_and_then_wakes_the_others(resources):
    busy, follower = Probe(work=[5, 5, 2]), Probe()
    runner = Runner([Job("busy", busy, interval=3600), Job("follower", follower, interval=3600, on_commit=True)],
                    resources)
    runner.start()
    try:
        assert wait_for(lambda: busy.runs == 4)  # 5, 5, 2, then 0: idle
        assert wait_for(lambda: follower.runs >= 2)  # its first cycle, and the wake after busy's work
        assert runner.loops["busy"].stats.done == 12
    finally:
        runner.stop()


def test_settle_waits_for_a_cycle_that_started_after_the_call(resources):
    slow = Probe(seconds=0.3)
    runner = Runner([Job("slow", slow, interval=3600, on_commit=True)], resources)
    runner.start()
    try:
        assert wait_for(lambda: slow.runs == 1)
        before = slow.runs
        waiter = threading.Thread(target=anyio.run, args=(runner.settle, "slow"))  # a thread with no loop of its own
        waiter.start()
        waiter.join(timeout=60)
        assert not waiter.is_alive()
        assert slow.runs == before + 1 and slow.running == 0
    finally:
        runner.stop()


def test_a_leased_job_runs_in_one_runner_at_a_time(resources):
    """Two runners (two worker processes) sharing one database: a leased job never overlaps itself,
    while a job that claims its own rows runs in both at once."""
    leased, claiming = Probe(seconds=0.05), Probe(seconds=0.3)
    jobs = [Job("leased", leased, interval=3600, on_commit=True),
            Job("claims", claiming, interval=3600, on_commit=True, sharing=Sharing.CLAIMS)]
    runners = [Runner(jobs, resources, lease_seconds=5) for _ in range(2)]
    for runner in runners:
        runner.start()
    try:
        for _ in range(20):
            for runner in runners:
                runner.wake_commit()
            time.sleep(0.02)
        assert wait_for(lambda: all(not r.loops["leased"].wake.is_set() for r in runners))
        assert leased.runs >= 2 and leased.most == 1
        assert claiming.most == 2
    finally:
        for runner in runners:
            runner.stop()
    assert leases.holders(resources.db, datetime.now(UTC)) == {}  # released when idle and at stop


def test_a_dead_workers_lease_is_taken_over_when_it_expires(resources):
    probe = Probe()
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    # a worker killed while it held the lease: nobody renews it any more
    assert leases.acquire(resources.db, "job", "dead-host:1234:abcdef", expires - timedelta(seconds=30),
                          timedelta(seconds=30))
    runner = Runner([Job("job", probe, interval=3600, on_commit=True)], resources)
    runner.start()
    try:
        time.sleep(0.5)
        assert probe.runs == 0  # leased elsewhere
        assert wait_for(lambda: probe.runs == 1, seconds=10)  # retried each second until it expired
        assert datetime.now(UTC) >= expires
    finally:
        runner.stop()


def test_the_heartbeat_keeps_a_long_batch_leased(resources):
    probe = Probe(seconds=2.5)
    runner = Runner([Job("long", probe, interval=3600)], resources, lease_seconds=1)
    runner.start()
    try:
        assert wait_for(lambda: probe.running == 1)
        time.sleep(1.8)  # past the lease's length: renewed meanwhile
        held = leases.holders(resources.db, datetime.now(UTC))
        assert held["long"][0] == runner.holder
        assert not leases.acquire(resources.db, "long", "intruder", datetime.now(UTC), timedelta(seconds=1))
    finally:
        runner.stop()


def test_a_failing_job_is_logged_once_then_retried_until_it_works(resources, caplog):
    calls = []

    def flaky(resources: Resources) -> int:
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise ConnectionError("search server away")
        return 0

    runner = Runner([Job("flaky", flaky, interval=3600)], resources)
    with caplog.at_level(logging.INFO, logger="repo.worker"):
        runner.start()
        try:
            assert wait_for(lambda: len(calls) == 3, seconds=10)
        finally:
            runner.stop()
    records = [r for r in caplog.records if r.name == "repo.worker"]
    assert [r.levelname for r in records] == ["ERROR", "WARNING", "INFO"]
    assert records[0].exc_info and "search server away" in records[1].getMessage()
    assert "works again" in records[2].getMessage()
    assert calls[2] - calls[1] >= 1.5  # backing off: 1 s, then 2 s
    assert runner.loops["flaky"].stats.failures == 2 and runner.loops["flaky"].stats.last_error is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_drain_one_outbox_without_double_work(resources, database, clock):
    """PostgreSQL: batches claim their rows with SKIP LOCKED, so two drainers never index a work twice."""
    from repo.centres.models import MemberCentre
    from repo.search.indexer import Indexer
    from repo.search.models import OutboxEntry
    from repo.works.models import Work

    now = clock.now()
    with database.session() as session:
        centre = MemberCentre(slug="c", name="C", created_at=now, updated_at=now)
        session.add(centre)
        session.flush()
        works = [Work(status="draft", centre_id=centre.id, version=1, created_at=now, updated_at=now,
                      doc={"titles": [{"value": f"Obra {i}", "lang": "spa"}]}) for i in range(120)]
        session.add_all(works)
        session.flush()
        session.add_all([OutboxEntry(work_id=w.id, reason="create", created_at=now, available_at=now, attempts=0)
                         for w in works])
    indexed: dict[str, list[int]] = {"one": [], "two": []}

    class Recording:
        def __init__(self, name: str) -> None:
            self.name = name

        def __getattr__(self, attribute: str):  # the real backend for everything else
            return getattr(resources.search, attribute)

        def index(self, docs):
            indexed[self.name].extend(d.id for d in docs)
            time.sleep(0.05)  # a slow backend: the other drainer runs meanwhile
            return resources.search.index(docs)

    def drain(name: str) -> None:
        worker = Indexer(database, Recording(name), clock, batch_size=10)  # type: ignore[arg-type]
        while worker.run_batch():
            pass

    threads = [threading.Thread(target=drain, args=(name,)) for name in indexed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = indexed["one"] + indexed["two"]
    assert sorted(everything) == sorted(w.id for w in works)  # each work exactly once
    assert indexed["one"] and indexed["two"]  # and both did a share
    with database.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_drainers_never_index_a_works_older_state_last(resources, database, clock):
    """A drainer slow to write a work's older state must not overwrite what another wrote of its
    newer state: a batch leaves the rows of a work another batch is indexing (found by bench/load.py)."""
    from repo.centres.models import MemberCentre
    from repo.search import indexer as indexing
    from repo.search.indexer import Indexer
    from repo.search.models import OutboxEntry
    from repo.works.models import Work

    now = clock.now()
    with database.session() as session:
        centre = MemberCentre(slug="c", name="C", created_at=now, updated_at=now)
        session.add(centre)
        session.flush()
        work = Work(status="draft", centre_id=centre.id, version=1, created_at=now, updated_at=now, type="report",
                    access_right="open", doc={"titles": [{"value": "Obra", "lang": "spa"}], "languages": ["spa"]})
        session.add(work)
        session.flush()
        session.add(OutboxEntry(work_id=work.id, reason="create", created_at=now, available_at=now, attempts=0))
    writing, release = threading.Event(), threading.Event()

    class Slow:
        def __getattr__(self, attribute: str):  # the real backend for everything else
            return getattr(resources.search, attribute)

        def index(self, docs):
            writing.set()
            # holding the draft's document until the work is published and the other drainer has
            # run (an event, not a sleep: a loaded machine could take longer than any sleep)
            assert release.wait(30)
            return resources.search.index(docs)

    slow = threading.Thread(target=Indexer(database, Slow(), clock).run_batch)  # type: ignore[arg-type]
    slow.start()
    assert writing.wait(10)
    with database.session() as session:  # published meanwhile, as works.service would: a new outbox row
        published = session.get(Work, work.id)
        published.status, published.version, published.published_at, published.datestamp = "published", 2, now, now
        session.add(OutboxEntry(work_id=work.id, reason="publish", created_at=now, available_at=now, attempts=0))
    fast = Indexer(database, resources.search, clock)
    meanwhile = fast.run_batch()
    release.set()
    slow.join()
    while fast.run_batch():
        pass
    report = indexing.check(database, resources.search)
    assert report.parity, report  # not the draft written last over the published work
    assert meanwhile == 0  # the slow drainer held the work: its newer row waited
