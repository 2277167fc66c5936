"""Waking worker processes after a commit in another process (PostgreSQL ``LISTEN``/``NOTIFY``).

A web process with ``REPO_WORKER=external`` sends ``NOTIFY repo_worker`` after each commit that
wrote something; every ``repo worker`` listens on one dedicated connection and wakes its jobs
that run on commit. A notification lost (the listener reconnecting after a database restart) only
delays the work until the next poll (``REPO_WORKER_POLL_SECONDS``). SQLite has no such channel:
workers poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import sqlalchemy as sa

from repo.db import Database

log = logging.getLogger("repo.worker")
CHANNEL = "repo_worker"


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq takes it (no driver name)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def notify(db: Database) -> None:
    """Wake the workers listening on this database (PostgreSQL; nothing on SQLite)."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect() as connection:
        connection.exec_driver_sql(f"NOTIFY {CHANNEL}")
        connection.commit()


class Listener:
    """A daemon thread that calls ``on_notify`` for each notification on :data:`CHANNEL`."""

    def __init__(self, url: str, on_notify: Callable[[], None]) -> None:
        self.url, self.on_notify = libpq_url(url), on_notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    delay = 0.5
                    self.on_notify()  # whatever was committed while we were not listening
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            self.on_notify()
            except Exception as exc:  # the database restarting: listen again when it is back
                if self._stop.is_set():
                    return
                log.warning("worker: listening for commits failed (%s); retrying in %.0f s", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
