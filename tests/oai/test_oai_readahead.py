"""Read-ahead of list pages (repo.oai.readahead): the next page of a harvest is made while the
harvester reads this one, and served only when it is byte for byte what the request would get.

Each test makes the pages ahead deterministic by waiting for them (``settle``) before the next
request; the served/stale/unmade outcomes are read from the /metrics counter.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from lxml import etree
from oai_harness import OAIClient, OAIResponse, identifier
from test_oai_render import _drain, statements, writes

from repo.oai import endpoints, service
from repo.oai.arguments import pairs_from_query
from repo.oai.models import Generation
from repo.operations.metrics import OAI_READ_AHEAD


def _outcomes() -> dict[str, float]:
    return {name: OAI_READ_AHEAD.labels(name)._value.get() for name in ("served", "stale", "unmade")}


def _delta(before: dict[str, float]) -> dict[str, float]:
    return {name: value - before[name] for name, value in _outcomes().items() if value != before[name]}


def _pages(app: Any) -> Any:
    return service.Provider.of(app.state).pages


@pytest.fixture
def works(corpus, clock) -> list[int]:  # type: ignore[no-untyped-def]
    made = []
    for n in range(7):
        made.append(corpus.work(f"Obra {n}", type="book" if n % 2 else "journal_article"))
        clock.advance(seconds=5)
    corpus.settings.oai_page_size = 2
    _drain(corpus)
    return made


def _harvest(oai: OAIClient, app: Any, verb: str, **arguments: str) -> list[OAIResponse]:
    pages = [oai(verb=verb, **arguments)]
    while (token := pages[-1].token) is not None and token.text:
        _pages(app).settle()  # the next page is made before it is asked for
        pages.append(oai(verb=verb, resumptionToken=token.text))
    return pages


@pytest.mark.parametrize("verb", ["ListRecords", "ListIdentifiers"])
def test_a_harvest_served_ahead_equals_one_without(oai: OAIClient, app, corpus, works, verb) -> None:  # type: ignore[no-untyped-def]
    """Every page after the first is served from the read-ahead (GET and POST), and the pages are
    those of a harvest without it."""
    before = _outcomes()
    ahead = _harvest(oai, app, verb, metadataPrefix="oai_dc")
    assert len(ahead) == 4 and _delta(before) == {"served": 3}
    corpus.settings.oai_read_ahead = False
    before = _outcomes()
    live = _harvest(oai, app, verb, metadataPrefix="oai_dc")
    assert _delta(before) == {}
    assert [page.http.content for page in ahead] == [page.http.content for page in live]  # (the clock stands still)
    assert [i for page in ahead for i in page.identifiers] == [identifier(w) for w in works]


def test_gzip_pages_are_made_ahead_in_their_encoding(client, app, works) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/oai?verb=ListRecords&metadataPrefix=oai_dc", headers={"Accept-Encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip"  # (the client decompresses it)
    token = OAIResponse(first, etree.fromstring(first.content)).token
    assert token is not None
    _pages(app).settle()
    before = _outcomes()
    plain = client.get(f"/oai?verb=ListRecords&resumptionToken={token.text}", headers={"Accept-Encoding": "identity"})
    assert _delta(before) == {}  # made for gzip: not for a request without it
    before = _outcomes()
    second = client.get(f"/oai?verb=ListRecords&resumptionToken={token.text}", headers={"Accept-Encoding": "gzip"})
    assert _delta(before) == {"served": 1}  # the page made for gzip
    _pages(app).settle()
    assert second.headers["content-encoding"] == "gzip" and second.content == plain.content


def test_a_change_after_the_page_was_made_is_never_served(oai_get: OAIClient, app, corpus, works) -> None:  # type: ignore[no-untyped-def]
    """A page is made ahead, then a record changes (in the same second: the clock stands still):
    the request gets the page made again, as a request without read-ahead does."""

    def live(token: str) -> bytes:
        corpus.settings.oai_read_ahead = False
        try:
            return oai_get(verb="ListRecords", resumptionToken=token).http.content
        finally:
            corpus.settings.oai_read_ahead = True

    first = oai_get(verb="ListRecords", metadataPrefix="oai_dc")
    _pages(app).settle()
    corpus.edit(works[2], metadata={"titles": [{"value": "Otro título", "lang": "spa"}]})
    before = _outcomes()
    second = oai_get(verb="ListRecords", resumptionToken=first.token.text)
    assert _delta(before) == {"stale": 1}
    assert second.http.content == live(first.token.text)
    _pages(app).settle()
    corpus.withdraw(works[5])
    before = _outcomes()
    third = oai_get(verb="ListRecords", resumptionToken=second.token.text)
    assert _delta(before) == {"stale": 1}
    assert third.http.content == live(second.token.text)
    # (the edited record went to the end of the list, its datestamp being the list's until)
    assert "Otro título" in third.http.text and identifier(works[2]) in third.identifiers


def test_a_page_made_in_another_second_is_not_served(oai_get: OAIClient, app, works, clock) -> None:  # type: ignore[no-untyped-def]
    first = oai_get(verb="ListRecords", metadataPrefix="oai_dc")
    _pages(app).settle()
    clock.advance(seconds=1)
    before = _outcomes()
    second = oai_get(verb="ListRecords", resumptionToken=first.token.text)
    assert _delta(before) == {"stale": 1}
    assert second.response_date == clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def test_every_committed_change_of_a_record_raises_the_generation(corpus, works, database) -> None:  # type: ignore[no-untyped-def]
    def generation() -> int:
        with database.session() as session:
            return int(session.scalar(sa.select(Generation.value)))

    seen = [generation()]
    corpus.edit(works[0], metadata={"titles": [{"value": "Otro", "lang": "spa"}]})
    seen.append(generation())
    corpus.withdraw(works[1])
    seen.append(generation())
    draft = corpus.work("Borrador", publish=False)  # not a record: nothing served changes
    seen.append(generation())
    corpus.publish(draft)
    seen.append(generation())
    assert seen[0] < seen[1] < seen[2] == seen[3] < seen[4]


def test_a_page_served_ahead_costs_its_request_one_query(oai_get: OAIClient, app, works) -> None:  # type: ignore[no-untyped-def]
    first = oai_get(verb="ListRecords", metadataPrefix="oai_dc", set="type:book")  # 3 books: 2 pages
    _pages(app).settle()
    with statements(app) as seen:
        second = oai_get(verb="ListRecords", resumptionToken=first.token.text)
    assert second.identifiers == [identifier(works[5])] and second.token.text is None
    assert len(seen) == 1 and "oai_generation" in seen[0]


def test_a_page_that_would_write_is_not_made_ahead(client, app, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    """An embargo ended a moment ago and nothing lifted it yet: the live request lifts it (a
    write), the read-ahead refuses to."""
    end = (clock.now() + timedelta(days=3)).date()
    for n in range(3):
        corpus.work(f"Obra {n}")
    corpus.work("Embargada", access_right="embargoed", embargo_end=end.isoformat())
    corpus.settings.oai_page_size = 2
    _drain(corpus)
    clock.set(datetime.combine(end, time(0), tzinfo=UTC) + timedelta(seconds=5))
    provider = service.Provider.of(app.state)
    with statements(app) as seen:
        made = endpoints._made_ahead(provider, pairs_from_query("verb=ListRecords&metadataPrefix=oai_dc"), None)
    assert made is None and writes(seen) == []
    with statements(app) as seen:  # the same page, asked for: lifted, then read
        live = endpoints._first(provider, pairs_from_query("verb=ListRecords&metadataPrefix=oai_dc"), None)
    assert live[3] and writes(seen)
