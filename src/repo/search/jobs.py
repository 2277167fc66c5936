"""Background jobs of search (registered in the composition root, :func:`repo.app.jobs`)."""

from __future__ import annotations

from repo.search.indexer import Indexer
from repo.worker import Job, Resources, Sharing


def drain_outbox(resources: Resources) -> int:
    """One batch of the search outbox into the index (rows handled)."""
    return Indexer(resources.db, resources.search, resources.clock).run_batch()


JOBS = [
    # After each commit, and every minute for retries that come due (failed documents back off).
    Job("search.outbox", drain_outbox, interval=60, on_commit=True, sharing=Sharing.CLAIMS_ON_POSTGRESQL),
]
