"""Background work of the OAI-PMH layer: rendering queued records (:mod:`repo.oai.render`).

:func:`run_once` renders one bounded batch and returns how much it did; the worker job
``oai.render`` (registered in :func:`repo.app.jobs`) runs it whenever a commit wakes it, and at
least every :data:`INTERVAL` seconds. On PostgreSQL several workers render side by side (each batch
claims its queue rows with ``SKIP LOCKED``). A failure is logged and retried later: the queue rows
stay, and harvests render what is not stored yet themselves.
"""

from __future__ import annotations

from repo.clock import Clock
from repo.config import Settings
from repo.db import Database
from repo.oai import render
from repo.worker import Job, Resources, Sharing

INTERVAL = 60.0


def run_once(db: Database, settings: Settings, clock: Clock) -> int:
    """Render one batch of queued records; the number of queue rows done (0: nothing to do)."""
    return render.render_pending(db, settings, clock)


def _render(resources: Resources) -> int:
    return run_once(resources.db, resources.settings, resources.clock)


JOBS = [Job("oai.render", _render, interval=INTERVAL, on_commit=True, sharing=Sharing.CLAIMS_ON_POSTGRESQL)]
