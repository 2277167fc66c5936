"""Scheduled harvests: background work of the repository.

:func:`run_due` is the job's batch: the due sources, one run each, each run within its budget or,
from the worker, within a slice of :data:`SLICE_SECONDS` (a run that needs longer stops resumably
and is due again at once, so the worker runs it slice by slice, renewing its lease between
slices); it returns how many records the runs read. The worker job ``ingest.harvest`` (registered
in :func:`repo.app.jobs`) runs it every ``REPO_HARVEST_SCHEDULER_SECONDS`` (0 turns it off), in
one worker at a time; ``repo harvest run`` runs a source by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from repo.clock import Clock
from repo.config import Settings
from repo.db import Database
from repo.ingest import repository
from repo.ingest.harvester import Busy, Harvest
from repo.operations import metrics
from repo.worker import Job, Resources

log = logging.getLogger("repo.ingest")

#: How long one batch of the worker job may harvest before it yields (the run resumes at once).
SLICE_SECONDS = 60.0


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
            run_id = harvest.run()
        except Busy:
            continue  # another process runs it
        except Exception:
            log.exception("scheduled harvest of source %s failed", source_id)
            metrics.harvest_ended(source_id, "error")
        else:
            with db.session() as session:
                run = repository.run(session, run_id)
                metrics.harvest_ended(source_id, run.status if run is not None else "error")
        seen += harvest.records_read
    return seen


def _harvest(resources: Resources) -> int:
    if resources.settings.harvest_scheduler_seconds <= 0:
        return 0  # scheduled harvests are off
    return run_due(resources.db, resources.settings, resources.clock, resources.stopping.is_set,
                   slice_seconds=SLICE_SECONDS)


def _period(settings: Settings) -> float:
    return settings.harvest_scheduler_seconds if settings.harvest_scheduler_seconds > 0 else 3600.0


JOBS = [Job("ingest.harvest", _harvest, interval=_period)]
