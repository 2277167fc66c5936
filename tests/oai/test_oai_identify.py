"""Identify's earliestDatestamp is the true one after every kind of change, although it is not
read from the works on every request (``repo.oai.queries.current_earliest_datestamp``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from oai_harness import Corpus, OAIClient
from repo.app import create_app
from repo.oai import queries
from repo.works.models import Work


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _earliest(oai: OAIClient) -> str:
    return str(oai(verb="Identify").xpath("string(//o:earliestDatestamp)"))


def _datestamp(corpus: Corpus, work_id: int) -> datetime:
    with corpus.database.session() as session:
        value: datetime = session.scalar(sa.select(Work.datestamp).where(Work.id == work_id))
    return value


def _restamp(db: Any, work_id: int, when: datetime) -> None:
    """A datestamp set by plain SQL (as a bulk load or a restore may), not through the services."""
    with db.session() as session:
        session.execute(sa.update(Work).where(Work.id == work_id).values(datestamp=when))


def test_the_earliest_datestamp_follows_every_change(oai_get: OAIClient, corpus: Corpus, client: Any,
                                                     clock: Any, settings: Any, schemas: Any) -> None:
    # the app's own engine: a change made on the very connection Identify reads with
    own = Corpus(client.app.state.db, settings, clock)
    assert _earliest(oai_get) == _stamp(clock.now())  # empty: now
    clock.advance(hours=1)
    assert _earliest(oai_get) == _stamp(clock.now())  # still empty: the new now, not the old one

    first = corpus.work("Primera")  # published by another connection (as by another process)
    assert _earliest(oai_get) == _stamp(_datestamp(corpus, first))
    clock.advance(minutes=5)
    second = own.work("Segunda")  # published on the app's own connection
    third = own.work("Tercera", publish=False)
    assert _earliest(oai_get) == _earliest(oai_get) == _stamp(_datestamp(corpus, first))

    clock.advance(minutes=5)
    own.withdraw(first)  # the earliest record moves forward: the next one is now the earliest
    assert _earliest(oai_get) == _stamp(_datestamp(corpus, second))
    clock.advance(minutes=5)
    corpus.withdraw(second)
    assert _earliest(oai_get) == _stamp(_datestamp(corpus, first))

    # a datestamp earlier than the remembered earliest, written by another connection, then by the app's own
    _restamp(corpus.database, second, clock.now() - timedelta(days=400))
    assert _earliest(oai_get) == _stamp(clock.now() - timedelta(days=400))
    _restamp(client.app.state.db, first, clock.now() - timedelta(days=800))
    assert _earliest(oai_get) == _stamp(clock.now() - timedelta(days=800))
    own.publish(third)  # a draft is no record until published; then it is one, with today's datestamp
    assert _earliest(oai_get) == _stamp(clock.now() - timedelta(days=800))

    # another configuration over the same database: its own Identify, same earliest
    renamed = settings.model_copy(update={"repository_name": "Otro nombre", "admin_email": "otra@example.org"})
    with TestClient(create_app(renamed, clock)) as other:
        reply = OAIClient(other, schemas, "GET")(verb="Identify")
    assert reply.xpath("string(//o:repositoryName)") == "Otro nombre"
    assert reply.xpath("string(//o:adminEmail)") == "otra@example.org"
    assert reply.xpath("string(//o:earliestDatestamp)") == _stamp(clock.now() - timedelta(days=800))
    assert oai_get(verb="Identify").xpath("string(//o:repositoryName)") == settings.repository_name


def test_a_connection_sees_its_own_changes_to_the_earliest_datestamp(corpus: Corpus) -> None:
    # SQLite's data_version ignores the connection's own commits: the remembered value must not.
    first, second = corpus.work("Primera"), corpus.work("Segunda")
    at = _datestamp(corpus, first)
    with corpus.database.engine.connect() as connection:
        assert queries.current_earliest_datestamp(connection).scalar() == at
        for moved in (at - timedelta(days=3), at - timedelta(days=9)):
            connection.execute(sa.update(Work).where(Work.id == second).values(datestamp=moved))
            connection.commit()
            assert queries.current_earliest_datestamp(connection).scalar() == moved
            assert queries.current_earliest_datestamp(connection).scalar() == queries.earliest_datestamp(connection)


def test_a_draft_is_never_the_earliest_even_with_an_earlier_datestamp(oai_get: OAIClient, corpus: Corpus,
                                                                      clock: Any) -> None:
    # The services give a draft no datestamp, and on PostgreSQL the earliest is read by walking the
    # datestamp index from its start to the first record: a draft stamped earlier by plain SQL is
    # walked past, never shown.
    record = corpus.work("Publicada")
    drafts = [corpus.work(f"Borrador {n}", publish=False) for n in range(3)]
    for n, draft in enumerate(drafts):
        _restamp(corpus.database, draft, clock.now() - timedelta(days=30 + n))
    assert _earliest(oai_get) == _stamp(_datestamp(corpus, record))
    with corpus.database.engine.connect() as connection:
        assert queries.earliest_datestamp(connection) == _datestamp(corpus, record)
