"""Background work of the OAI-PMH layer: rendering queued records (:mod:`repo.oai.render`).

:func:`run_once` renders one bounded batch and returns how much it did. Until the repository's
worker runs jobs, :class:`BackgroundRenderer` (started by :func:`start` in the server's lifespan)
runs it in a daemon thread whenever a commit wakes it (``app.state.on_commit``), and at least every
:data:`INTERVAL` seconds, until the queue is empty. A failure is logged and retried later: the
queue rows stay, and harvests render what is not stored yet themselves.
"""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI

from repo.clock import Clock
from repo.config import Settings
from repo.db import Database
from repo.oai import cache, render

log = logging.getLogger("repo.oai")

INTERVAL = 60.0


def run_once(db: Database, settings: Settings, clock: Clock) -> int:
    """Render one batch of queued records; the number of queue rows done (0: nothing to do)."""
    return render.render_pending(db, settings, clock)


class BackgroundRenderer:
    def __init__(self, db: Database, settings: Settings, clock: Clock, interval: float = INTERVAL) -> None:
        self.db, self.settings, self.clock, self.interval = db, settings, clock, interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="oai-renderer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def drain(self) -> int:
        """Render until the queue is empty, in the caller's thread; the queue rows done."""
        done = 0
        while not self._stop.is_set() and (batch := run_once(self.db, self.settings, self.clock)):
            done += batch
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.drain()
            except Exception:  # keep the thread alive; the queue rows stay and are retried
                log.exception("rendering OAI records failed")


def start(app: FastAPI) -> None:
    """Build ``app.state.oai_renderer`` and wake it after each commit (and once now)."""
    cache.pin()  # the variant of the code this process runs, read now, not after a deploy replaced it
    renderer = BackgroundRenderer(app.state.db, app.state.settings, app.state.clock)
    app.state.oai_renderer = renderer
    app.state.on_commit.append(renderer.wake)
    renderer.start()
    renderer.wake()


def stop(app: FastAPI) -> None:
    renderer: BackgroundRenderer | None = getattr(app.state, "oai_renderer", None)
    if renderer is not None:
        if renderer.wake in app.state.on_commit:
            app.state.on_commit.remove(renderer.wake)
        renderer.stop()
