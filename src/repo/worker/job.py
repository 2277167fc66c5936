"""What a background job is, and what it is given to run."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from repo.clock import Clock
    from repo.config import Settings
    from repo.db import Database
    from repo.files.storage import FileStore
    from repo.search.backend import SearchBackend


@dataclass
class Resources:
    """The adapters a job may use, built once per process by the composition root
    (:func:`repo.app.open_resources`): the same objects the web application uses."""

    settings: Settings
    clock: Clock
    db: Database
    search: SearchBackend
    files: FileStore
    #: Set when the process stops: a long batch (a harvest slice) may end early, resumably.
    stopping: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.search.close()
        self.db.dispose()


class Sharing(enum.Enum):
    """How runners in several processes share a job."""

    #: One runner at a time, under the job's lease in SQL (the default).
    LEASE = "lease"
    #: The job claims the rows it works on itself (e.g. an UPDATE … RETURNING of a claim column),
    #: on both databases: every runner may run it at once.
    CLAIMS = "claims"
    #: The job claims its rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (every runner may run
    #: it at once there), and needs the job's lease on SQLite, which has no row locks.
    CLAIMS_ON_POSTGRESQL = "claims-on-postgresql"


@dataclass(frozen=True)
class Job:
    """A background job.

    ``run`` does **one bounded batch** (seconds, not minutes: a page of rows, one file) and returns
    how much it did; the runner calls it again at once while it returns more than 0, then waits
    ``interval`` seconds — or less, when ``on_commit`` and a commit wakes it. It must be
    idempotent: a batch cut short by a crash is run again by someone else. ``interval`` may be a
    function of the settings (a period the operator configures).
    """

    name: str
    run: Callable[[Resources], int]
    interval: float | Callable[[Settings], float] = 60.0
    on_commit: bool = False
    sharing: Sharing = Sharing.LEASE
