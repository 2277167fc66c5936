"""The lean request path of Identify and GetRecord (``repo.oai.service.LoopConnection``)."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from oai_harness import Corpus, OAIClient, identifier


def test_reads_on_the_event_loop_keep_one_connection(oai_get: OAIClient, corpus: Corpus, client: Any) -> None:
    first, second = corpus.work("Primera"), corpus.work("Segunda")
    checkouts: list[Any] = []
    loop_thread = client.portal.call(threading.get_ident)  # where the app answers (the test client's loop)

    def count(*args: Any) -> None:
        if threading.get_ident() == loop_thread:  # not the background jobs' (SQLite: the same engine)
            checkouts.append(args)

    reader = client.app.state.db.reader
    sa.event.listen(reader, "checkout", count)
    try:
        for _ in range(3):
            assert oai_get(verb="Identify").errors == []
            for work in (first, second):
                reply = oai_get(verb="GetRecord", identifier=identifier(work), metadataPrefix="oai_dc")
                assert reply.xpath("string(//o:identifier)") == identifier(work)
        assert len(checkouts) <= 1  # taken from the pool once (or not at all: kept from before)
        # each read still sees what is committed when it runs: a change made meanwhile elsewhere
        corpus.withdraw(second)
        reply = oai_get(verb="GetRecord", identifier=identifier(second), metadataPrefix="oai_dc")
        assert reply.xpath("string(//o:header/@status)") == "deleted"
    finally:
        sa.event.remove(reader, "checkout", count)
