"""Background jobs of the reading room (registered in the composition root, :func:`repo.app.jobs`)."""

from __future__ import annotations

from repo.web import cache, feeds
from repo.worker import Job, Resources


def warm(resources: Resources) -> int:
    """Store the sitemap blocks of the current data version (1 when it computed them, else 0), so
    the first crawler after a deposit does not pay for them in any web process. The browse counts
    need no warming: they are counter rows (:mod:`repo.works.counts`)."""
    with resources.db.session() as session:
        return int(cache.warm(session, feeds.SITEMAP_BLOCKS, resources.clock.now()))


JOBS = [
    # After each commit; when the data version has not changed, a run costs two index lookups.
    Job("web.warm", warm, interval=300, on_commit=True),
]
