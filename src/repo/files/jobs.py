"""Background jobs of files (registered in the composition root, :func:`repo.app.jobs`)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from repo.files import extraction
from repo.worker import Job, Resources, Sharing
from repo.worker.runner import wall_clock

log = logging.getLogger("repo.files")


def extract_next(resources: Resources) -> int:
    """Extract the text and thumbnail of one pending file (1), or find none pending (0).

    The claim lasts :data:`~repo.files.extraction.CLAIM_SECONDS` and is renewed every third of
    that while the child process works: a worker killed mid-extraction frees the file quickly.
    """
    seconds = extraction.CLAIM_SECONDS
    file_id = extraction.claim(resources.db, wall_clock(), seconds)
    if file_id is None:
        return 0
    done = threading.Event()

    def renew() -> None:
        while not done.wait(seconds / 3):
            try:
                extraction.renew_claim(resources.db, file_id, wall_clock() + timedelta(seconds=seconds))
            except Exception as exc:  # the database is away: the claim may lapse, the work is idempotent
                log.warning("renewing the extraction claim of file %s failed: %s", file_id, exc)

    renewer = threading.Thread(target=renew, name="job-files.extract-claim", daemon=True)
    renewer.start()
    try:
        extraction.process(resources.db, resources.files, [file_id], resources.clock.now)
    finally:
        done.set()
        renewer.join()
    return 1


JOBS = [
    # Woken by the upload's commit; every runner may extract at once (each claims its file).
    Job("files.extract", extract_next, interval=30, on_commit=True, sharing=Sharing.CLAIMS),
]
