"""A PostgreSQL restart under a running app costs no OAI request.

OAI requests read through :attr:`repo.db.Database.reader`, a pool without pre-ping (a round trip
on every checkout). A restart cuts the pooled connections; the first request to use one finds it
cut, and is read again on a new connection (:func:`repo.db.retried`) instead of answering 503.
The test has a PostgreSQL cluster of its own, so restarting it disturbs no other test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from oai_harness import identifier
from pg import Cluster, find_bindir

from repo.db import upgrade


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> Iterator[tuple[Cluster, str]]:
    request.getfixturevalue("postgres_server")  # skips, or fails in CI, as every PostgreSQL test does
    bindir = find_bindir()
    assert bindir is not None
    cluster = Cluster(bindir)
    try:
        server = cluster.start()
        admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE repo")
        admin.dispose()
        upgrade(f"{server}/repo")
        yield cluster, f"{server}/repo"
    finally:
        cluster.stop()


@pytest.fixture
def database_url(cluster: tuple[Cluster, str]) -> str:  # this module's database: its own cluster's
    return cluster[1]


def test_the_next_oai_requests_after_a_postgresql_restart_are_answered(cluster, corpus, oai_get, caplog) -> None:
    work_id = corpus.work("Antes del reinicio")
    for _ in range(3):  # the reader's pool holds connections now
        assert oai_get(verb="Identify").xpath("//o:Identify")
        assert oai_get(verb="GetRecord", identifier=identifier(work_id), metadataPrefix="oai_dc").identifiers

    cluster[0].restart()  # fast shutdown: every connection is cut
    with caplog.at_level(logging.INFO, logger="repo.db"):
        answer = oai_get(verb="GetRecord", identifier=identifier(work_id), metadataPrefix="oai_dc")  # 200, valid
        assert answer.identifiers == [identifier(work_id)] and not answer.errors
        assert oai_get(verb="Identify").xpath("//o:Identify")
        pages, identifiers = oai_get.harvest("ListRecords", metadataPrefix="oai_dc")
    assert identifiers == [identifier(work_id)]
    # the first request did meet a cut connection (the test exercised the retry, not a fresh pool),
    # and only once: SQLAlchemy dropped the pool's other connections with it
    retries = [r for r in caplog.records if r.name == "repo.db" and "connection was cut" in r.getMessage()]
    assert len(retries) == 1, caplog.text
