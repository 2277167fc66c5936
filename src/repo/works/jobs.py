"""Background jobs of works (registered in the composition root, :func:`repo.app.jobs`)."""

from __future__ import annotations

from repo.works.service import lift_embargoes
from repo.worker import Job, Resources


def lift_due_embargoes(resources: Resources) -> int:
    """End the embargoes (of works and of files) that are due: datestamps move, search reindexes."""
    with resources.db.session() as session:
        return lift_embargoes(session, resources.clock.now())


JOBS = [
    # An embargo ends at 00:00Z of its end date; OAI list requests also lift due embargoes first.
    Job("works.embargoes", lift_due_embargoes, interval=60),
]
