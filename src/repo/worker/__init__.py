"""Background work: jobs run by ``repo worker`` processes, or inside ``repo serve`` (the default).

Every background task of the repository is a :class:`Job`. Where they run:

* ``REPO_WORKER=inprocess`` (default): each ``repo serve`` process runs every job in threads
  (:class:`~repo.worker.runner.Runner`), woken directly by its own commits — one command still
  starts everything.
* ``REPO_WORKER=external``: web processes run none; ``repo worker`` processes (any number, on any
  host) run them all, woken by ``NOTIFY`` on PostgreSQL and by polling every
  ``REPO_WORKER_POLL_SECONDS``.

Several runners share the load through SQL: a job with :attr:`Sharing.LEASE` (the default) runs in
one process at a time under its row in ``worker_leases`` (renewed while it runs, released when it
is idle, free ``REPO_WORKER_LEASE_SECONDS`` after its holder died); a job that claims its own rows
(:attr:`Sharing.CLAIMS`, :attr:`Sharing.CLAIMS_ON_POSTGRESQL`) runs in every process at once.

How to add a job
----------------

1. In your package, write the batch as a plain function of :class:`Resources` (``settings``,
   ``clock``, ``db``, ``search``, ``files``) that does **one bounded batch** — a page of rows, one
   harvest page, one file — commits through ``resources.db.session()``, and returns how much it
   did (0 when there was nothing to do). It must be idempotent: a batch interrupted by a crash is
   done again. The runner calls it again at once while it returns more than 0::

       # src/repo/<package>/jobs.py
       from repo.worker import Job, Resources

       def render_pending(resources: Resources) -> int:
           with resources.db.session() as session:
               return render_some_records(session, resources.settings, resources.clock.now(), limit=200)

       JOBS = [Job("oai.render", render_pending, interval=60, on_commit=True)]

   ``interval``: seconds between runs when nothing wakes it; ``on_commit``: a commit (of any
   request, or a batch of another job that did something) wakes it; ``sharing``: see above —
   claim rows with ``.with_for_update(skip_locked=True)`` on PostgreSQL (see
   ``repo.search.indexer``) or with an UPDATE of a claim column (see ``repo.files.extraction.claim``)
   to let several workers run it at once; keep the default lease for anything else (a scheduled
   harvest: one process at a time, taken over when that process dies).
2. Register it in the composition root: add your ``JOBS`` to :func:`repo.app.jobs`. Nothing else:
   ``repo serve`` and ``repo worker`` both run what that function returns, and ``/metrics``
   counts its runs (``repo_job_runs_total{job=…}``).
3. Test the function directly (it is plain), and the wiring through the app: ``app.state.worker``
   is the runner; ``await app.state.worker.settle("name")`` (or ``run_until_idle("name")`` in a
   thread) waits for a cycle of the job, ``pause("name")`` stops it for a test that drives it by hand.
"""

from repo.worker.job import Job, Resources, Sharing

__all__ = ["Job", "Resources", "Sharing"]
