"""Job leases in SQL and extraction claims, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from repo.files import extraction
from repo.files.models import File
from repo.worker import leases

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TTL = timedelta(seconds=30)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_lease_has_one_holder_until_it_expires(database):
    assert leases.acquire(database, "job", "a", at(0), TTL)
    assert not leases.acquire(database, "job", "b", at(10), TTL)
    assert leases.acquire(database, "job", "a", at(10), TTL)  # the holder keeps it
    assert leases.renew(database, ["job"], "a", at(20), TTL) == set()  # now until 50 s
    assert not leases.acquire(database, "job", "b", at(49), TTL)
    # "a" stopped renewing (killed): the lease is free once it has expired
    assert leases.acquire(database, "job", "b", at(51), TTL)
    assert leases.renew(database, ["job"], "a", at(52), TTL) == {"job"}  # "a" learns it lost it
    leases.release(database, "job", "a")  # not its lease any more: nothing happens
    assert leases.holders(database, at(52)) == {"job": ("b", at(81))}
    leases.release(database, "job", "b")
    assert leases.holders(database, at(53)) == {}
    assert leases.acquire(database, "job", "c", at(53), TTL)  # released: free at once


def test_racing_runners_take_a_new_lease_once(database):
    """The first acquisition inserts the row: of racing holders exactly one gets it."""
    barrier = threading.Barrier(6)
    won: list[str] = []

    def take(name: str) -> None:
        barrier.wait()
        if leases.acquire(database, "fresh", name, at(0), TTL):
            won.append(name)

    threads = [threading.Thread(target=take, args=(f"h{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert leases.holders(database, at(1)) == {"fresh": (won[0], at(30))}


def _files(database, n: int) -> list[int]:
    from repo.centres.models import MemberCentre
    from repo.works.models import Work

    with database.session() as session:
        centre = MemberCentre(slug="c", name="C", created_at=T0, updated_at=T0)
        session.add(centre)
        session.flush()
        work = Work(status="draft", centre_id=centre.id, doc={}, version=1, created_at=T0, updated_at=T0)
        session.add(work)
        session.flush()
        files = [File(work_id=work.id, name=f"f{i}.txt", media_type="text/plain", size=1, sha256=f"{i:064x}",
                      md5="0" * 32, created_at=T0, updated_at=T0) for i in range(n)]
        session.add_all(files)
        session.flush()
        return [f.id for f in files]


def test_extraction_claims_take_each_pending_file_once_and_expire(database):
    ids = _files(database, 3)
    first = extraction.claim(database, at(0), seconds=300)
    second = extraction.claim(database, at(1), seconds=300)
    assert (first, second) == (ids[0], ids[1])  # oldest first, a claimed file is skipped
    with database.session() as session:
        session.execute(sa.update(File).where(File.id == ids[2]).values(text_state=extraction.DONE))
    assert extraction.claim(database, at(2), seconds=300) is None  # the rest are claimed or done
    extraction.renew_claim(database, ids[1], at(400))  # still extracting the second: renewed
    # the worker holding the first file died: after its claim expires another takes the file
    assert extraction.claim(database, at(301), seconds=300) == ids[0]
    assert extraction.claim(database, at(302), seconds=300) is None  # the second's claim was renewed
    assert extraction.queue_length(database) == 2


def test_concurrent_claims_never_share_a_file(database):
    ids = _files(database, 40)
    claimed: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        while (file_id := extraction.claim(database, at(0))) is not None:
            with lock:
                claimed.append(file_id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == ids  # every file once, none twice
