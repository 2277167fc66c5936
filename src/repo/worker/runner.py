"""The runner: one thread per job, woken by commits or by its interval, under its lease.

Each job's thread waits for a wake (a commit, when the job runs on commit), for its interval, or
— in a worker process polling for other processes' commits — for the poll period; then it runs a
*cycle*: take the job's lease when the job needs one, call ``job.run`` until it returns 0, release
the lease. A job that raises is logged (once per streak of failures, then a line per retry) and
retried with a growing delay, capped by its interval; a lease held elsewhere is retried after a
second when the job runs on commit, else at the next interval. A cycle that did something wakes
the jobs that run on commit (its batches committed). A heartbeat thread renews the leases held
while their jobs run.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio

from repo.operations import metrics
from repo.worker import leases
from repo.worker.job import Job, Resources, Sharing

log = logging.getLogger("repo.worker")

BUSY_RETRY_SECONDS = 1.0
ERROR_BACKOFF_MAX_SECONDS = 30.0


def wall_clock() -> datetime:
    return datetime.now(UTC)


def holder_name() -> str:
    """Who holds a lease: host, process and a random suffix (a restarted process is a new holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class JobStats:
    runs: int = 0  # batches run
    done: int = 0  # sum of what the batches returned
    failures: int = 0
    last_error: str | None = None
    last_run: float | None = None  # time.time() of the last batch


class _Loop:
    """One job's thread and its wake-up bookkeeping."""

    def __init__(self, runner: Runner, job: Job) -> None:
        self.runner, self.job = runner, job
        self.wake = threading.Event()
        self.lock = threading.Lock()  # one cycle of this job at a time in this process
        self.state = threading.Condition()
        self.requested = 0  # bumped by every wake
        self.completed = 0  # the ``requested`` value the last finished cycle started after
        self.paused = False
        self.stats = JobStats()
        self.thread = threading.Thread(target=self.loop, name=f"job-{job.name}", daemon=True)

    def request(self) -> int:
        with self.state:
            self.requested += 1
            self.wake.set()
            return self.requested

    def loop(self) -> None:
        runner, job = self.runner, self.job
        timeout: float | None = 0.0  # a first cycle at once: what earlier processes left
        failures = 0
        while not runner.stopping.is_set():
            self.wake.wait(timeout)
            self.wake.clear()
            if runner.stopping.is_set():
                return
            with self.state:
                seen = self.requested
            outcome = "paused" if self.paused else runner.cycle(self)
            with self.state:
                self.completed = max(self.completed, seen)
                self.state.notify_all()
            failures = failures + 1 if outcome == "error" else 0
            timeout = runner.interval(job)
            if job.on_commit and runner.poll_seconds is not None:
                timeout = min(timeout, runner.poll_seconds)
            if outcome == "busy" and job.on_commit:
                timeout = min(timeout, BUSY_RETRY_SECONDS)
            elif outcome == "error":
                timeout = min(timeout, 2.0 ** min(failures - 1, 5), ERROR_BACKOFF_MAX_SECONDS)


class Runner:
    """Runs ``jobs`` in threads of this process (``repo serve`` in-process, and ``repo worker``).

    ``poll_seconds``: also run the jobs that run on commit this often (a worker process, which
    does not see the web processes' commits except through ``LISTEN``); None in the server, where
    every commit wakes them directly.
    """

    def __init__(self, jobs: Iterable[Job], resources: Resources, *, lease_seconds: float = 30.0,
                 poll_seconds: float | None = None, now: Callable[[], datetime] = wall_clock,
                 holder: str | None = None) -> None:
        self.resources = resources
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.now = now
        self.holder = holder or holder_name()
        self.stopping = threading.Event()
        self.loops = {job.name: _Loop(self, job) for job in jobs}
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._heartbeat = threading.Thread(target=self._renew, name="worker-heartbeat", daemon=True)
        self._postgres = resources.db.engine.dialect.name == "postgresql"
        self.started = False

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> None:
        for loop in self.loops.values():
            loop.thread.start()
        self._heartbeat.start()
        self.started = True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the batches running now (each thread gets up to ``timeout`` seconds)."""
        self.stopping.set()
        self.resources.stopping.set()  # a long batch may end early
        for loop in self.loops.values():
            loop.wake.set()
        if self.started:
            deadline = time.monotonic() + timeout
            for loop in self.loops.values():
                loop.thread.join(max(0.0, deadline - time.monotonic()))
            self._heartbeat.join(1.0)

    # -- waking -----------------------------------------------------------------------------------

    def wake_commit(self) -> None:
        """A commit happened: wake the jobs that run on commit."""
        for loop in self.loops.values():
            if loop.job.on_commit:
                loop.request()

    def wake(self, name: str) -> None:
        self.loops[name].request()

    async def settle(self, name: str, timeout: float = 300.0) -> None:
        """Wake job ``name`` and wait (without holding a thread) until a cycle of it that started
        after this call has finished: what was committed before the call has been handled."""
        loop = self.loops.get(name)
        if loop is None or not self.started:
            return
        target = loop.request()
        deadline = time.monotonic() + timeout
        while loop.completed < target and not self.stopping.is_set() and time.monotonic() < deadline:
            await anyio.sleep(0.01)

    def pause(self, name: str) -> None:
        """Stop running job ``name`` in this process (tests that drive a job by hand); returns once
        no cycle of it is running."""
        loop = self.loops[name]
        loop.paused = True
        with loop.lock:
            pass

    def resume(self, name: str) -> None:
        self.loops[name].paused = False
        self.wake(name)

    # -- running ----------------------------------------------------------------------------------

    def interval(self, job: Job) -> float:
        return float(job.interval(self.resources.settings) if callable(job.interval) else job.interval)

    def needs_lease(self, job: Job) -> bool:
        return job.sharing is Sharing.LEASE or (job.sharing is Sharing.CLAIMS_ON_POSTGRESQL and not self._postgres)

    def run_until_idle(self, name: str) -> int:
        """One cycle of job ``name`` in the caller's thread; what it did (``repo worker --once``)."""
        loop = self.loops[name]
        before = loop.stats.done
        outcome = self.cycle(loop)
        if outcome == "error":
            raise RuntimeError(f"job {name} failed: {loop.stats.last_error}")
        return loop.stats.done - before

    def cycle(self, loop: _Loop) -> str:
        """Run ``loop``'s job until it has nothing left: ``done``, ``busy`` (leased elsewhere) or ``error``."""
        job = loop.job
        leased = self.needs_lease(job)
        try:
            if leased:
                if not leases.acquire(self.resources.db, job.name, self.holder, self.now(), self.lease):
                    return "busy"
                with self._held_lock:
                    self._held.add(job.name)
            total = 0
            with loop.lock:
                while not self.stopping.is_set() and not loop.paused:
                    started = time.perf_counter()
                    done = job.run(self.resources)
                    self._record(loop, done, time.perf_counter() - started, None)
                    if done <= 0:
                        break
                    total += done
            if total:  # it committed something: the jobs that react to commits look at it
                for other in self.loops.values():
                    if other is not loop and other.job.on_commit:
                        other.request()
            return "done"
        except Exception as exc:
            first = loop.stats.last_error is None
            self._record(loop, 0, 0.0, f"{type(exc).__name__}: {exc}")
            if first:
                log.exception("job %s failed (retrying)", job.name)
            else:
                log.warning("job %s failed again: %s", job.name, loop.stats.last_error)
            return "error"
        finally:
            if leased:
                with self._held_lock:
                    held = job.name in self._held
                    self._held.discard(job.name)
                if held:
                    try:
                        leases.release(self.resources.db, job.name, self.holder)
                    except Exception as exc:  # it expires by itself
                        log.warning("job %s: releasing its lease failed: %s", job.name, exc)

    def _record(self, loop: _Loop, done: int, seconds: float, error: str | None) -> None:
        stats = loop.stats
        stats.last_run = time.time()
        if error is None:
            stats.runs += 1
            stats.done += max(done, 0)
            if stats.last_error is not None:
                log.info("job %s works again", loop.job.name)
            stats.last_error = None
        else:
            stats.failures += 1
            stats.last_error = error
        metrics.observe_job(loop.job.name, done, seconds, error)

    def _renew(self) -> None:
        period = max(self.lease.total_seconds() / 3, 0.05)
        while not self.stopping.wait(period):
            with self._held_lock:
                held = set(self._held)
            if not held:
                continue
            try:
                lost = leases.renew(self.resources.db, held, self.holder, self.now(), self.lease)
            except Exception as exc:  # the database is away: the jobs' own queries fail too
                log.warning("worker: renewing leases failed: %s", exc)
                continue
            for name in lost:
                log.warning("job %s: its lease expired while it ran (another worker may run it too)", name)


class External:
    """What a web process runs with ``REPO_WORKER=external``: no job at all; its commits wake the
    worker processes (PostgreSQL ``NOTIFY``; on SQLite the workers poll)."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources

    def start(self) -> None:
        pass

    def stop(self, timeout: float = 10.0) -> None:
        pass

    def wake_commit(self) -> None:
        from repo.worker.notify import notify

        try:
            notify(self.resources.db)
        except Exception as exc:  # the workers poll anyway
            log.warning("worker: notifying the workers failed: %s", exc)

    async def settle(self, name: str, timeout: float = 300.0) -> None:
        """Nothing to wait for here: the worker processes do it."""
