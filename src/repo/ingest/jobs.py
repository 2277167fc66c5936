"""Scheduled harvests: background work of the server.

:func:`run_due` is the job: one bounded batch (the due sources, one run each, each run within its
budget) that returns how many records it read. Until the shared background worker exists it runs
in a small thread of ``repo serve`` (:class:`Scheduler`), every ``REPO_HARVEST_SCHEDULER_SECONDS``
(0 turns it off); ``repo harvest run`` runs a source by hand.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fastapi import FastAPI

from repo.clock import Clock
from repo.config import Settings
from repo.db import Database
from repo.ingest import repository
from repo.ingest.harvester import Busy, Harvest

log = logging.getLogger("repo.ingest")


def run_due(db: Database, settings: Settings, clock: Clock, should_stop: Callable[[], bool] = lambda: False,
            slice_seconds: float | None = None) -> int:
    """Run every source that is due (one run each, each for at most ``slice_seconds``: a run that
    needs longer stops resumably and is due again at once); returns the records the runs read."""
    with db.session() as session:
        due = [s.id for s in repository.due(session, clock.now())]
    seen = 0
    for source_id in due:
        if should_stop():
            break
        harvest = Harvest(db, settings, clock, source_id, should_stop=should_stop, slice_seconds=slice_seconds)
        try:
            harvest.run()
        except Busy:
            continue  # another process runs it
        except Exception:
            log.exception("scheduled harvest of source %s failed", source_id)
        seen += harvest.records_read
    return seen


class Scheduler:
    """Calls :func:`run_due` every ``interval`` seconds in a daemon thread, until stopped."""

    def __init__(self, db: Database, settings: Settings, clock: Clock, interval: float) -> None:
        self.db, self.settings, self.clock, self.interval = db, settings, clock, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="harvest-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                run_due(self.db, self.settings, self.clock, self._stop.is_set)
            except Exception:
                log.exception("the harvest scheduler failed")


def start(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if settings.harvest_scheduler_seconds <= 0:
        return
    app.state.harvest_scheduler = Scheduler(app.state.db, settings, app.state.clock,
                                            settings.harvest_scheduler_seconds)
    app.state.harvest_scheduler.start()


def stop(app: FastAPI) -> None:
    scheduler: Scheduler | None = getattr(app.state, "harvest_scheduler", None)
    if scheduler is not None:
        scheduler.stop()
