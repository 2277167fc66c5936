"""Background jobs of files (registered in the composition root, :func:`repo.app.jobs`)."""

from __future__ import annotations

from repo.files import extraction
from repo.worker import Job, Resources, Sharing
from repo.worker.runner import wall_clock


def extract_next(resources: Resources) -> int:
    """Extract the text and thumbnail of one pending file (1), or find none pending (0)."""
    file_id = extraction.claim(resources.db, wall_clock())
    if file_id is None:
        return 0
    extraction.process(resources.db, resources.files, [file_id], resources.clock.now)
    return 1


JOBS = [
    # Woken by the upload's commit; every runner may extract at once (each claims its file).
    Job("files.extract", extract_next, interval=30, on_commit=True, sharing=Sharing.CLAIMS),
]
