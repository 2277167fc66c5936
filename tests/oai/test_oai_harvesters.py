"""Real harvesting clients (sickle, oaipmh-scythe) over real HTTP against uvicorn, 1,000 works,
page size 37, on SQLite and PostgreSQL; and a harvest while another thread changes works.

Every response the live server sends is validated against the official XSDs (``live_server``).
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from lxml import etree

from oai_harness import NS, Corpus, LiveServer, identifier
from repo.clock import Clock
from repo.works import repository
from repo.works.models import Work
from repo.works.vocabularies import Status

pytestmark = pytest.mark.slow
PAGE = 37
WORKS = 1000


@pytest.fixture
def server(database, settings, live_server) -> LiveServer:  # type: ignore[no-untyped-def]
    Corpus(database, settings, Clock()).synthetic(WORKS, seed=11)
    return live_server(oai_page_size=PAGE)  # type: ignore[no-any-return]


def _expected(server: LiveServer, *conditions: Any) -> list[tuple[str, bool]]:
    """(identifier, deleted) of the records SQL says a list must hold, in datestamp order."""
    with server.database.session() as session:
        rows = session.execute(
            sa.select(Work.id, Work.status).where(Work.status.in_([Status.published, Status.withdrawn]), *conditions)
            .order_by(Work.datestamp, Work.id)
        ).all()
    return [(identifier(row.id), row.status == Status.withdrawn) for row in rows]


def _complete_list_size(server: LiveServer, **params: str) -> int:
    page = etree.fromstring(httpx.get(server.oai, params={"verb": "ListIdentifiers", **params}).content)
    return int(page.xpath("string(//o:resumptionToken/@completeListSize)", namespaces=NS))


def test_sickle_harvests_everything(server: LiveServer) -> None:
    from sickle import Sickle

    expected = _expected(server)
    assert len(expected) == WORKS and 5 < sum(d for _, d in expected) < 50  # ~2 % deletions
    sickle = Sickle(server.oai)
    headers = [(h.identifier, h.deleted) for h in sickle.ListIdentifiers(metadataPrefix="oai_dc")]
    assert len(headers) == _complete_list_size(server, metadataPrefix="oai_dc") == WORKS
    assert headers == expected  # no duplicates, none missing, deletions seen as deleted
    records = list(sickle.ListRecords(metadataPrefix="oai_dc"))
    assert [(r.header.identifier, r.deleted) for r in records] == expected
    live = [r for r in records if not r.deleted]
    assert all(r.metadata["title"] and r.metadata["type"][0].startswith("info:eu-repo/semantics/") for r in live)
    # a set and a window
    collection = "collection:biblioteca"
    with server.database.session() as session:
        path = session.scalar(sa.select(repository.Collection.path).where(repository.Collection.slug == "biblioteca"))
    in_set = [(h.identifier, h.deleted) for h in sickle.ListIdentifiers(metadataPrefix="oai_dc", set=collection)]
    assert in_set == _expected(server, repository.in_collection_tree(path)) and len(in_set) > PAGE


def test_scythe_harvests_everything(server: LiveServer) -> None:
    from oaipmh_scythe import HTTPConfig, Scythe

    expected = _expected(server)
    with Scythe(server.oai) as scythe:
        records = list(scythe.list_records(metadata_prefix="oai_dc"))
        assert [(r.header.identifier, r.deleted) for r in records] == expected
        assert len(records) == _complete_list_size(server, metadataPrefix="oai_dc")
        assert all(r.metadata.get("title") for r in records if not r.deleted)
        # a from/until window cut through the middle of the list, at seconds granularity
        with server.database.session() as session:
            stamps = session.scalars(sa.select(Work.datestamp).order_by(Work.datestamp, Work.id)).all()
        low, high = stamps[300], stamps[700]
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        window = [(h.identifier, h.deleted) for h in scythe.list_identifiers(
            from_=low.strftime(fmt), until=high.strftime(fmt), metadata_prefix="oai_dc")]
        assert window == _expected(server, Work.datestamp >= low, Work.datestamp <= high)
        assert len(window) >= 401
    # and a day-granularity window, with POST
    with Scythe(server.oai, http_config=HTTPConfig(http_method="POST")) as scythe:
        day = [h.identifier for h in scythe.list_identifiers(
            from_=low.strftime("%Y-%m-%d"), until=high.strftime("%Y-%m-%d"), metadata_prefix="oai_dc")]
    start = datetime.combine(low.date(), datetime.min.time(), low.tzinfo)
    assert day == [i for i, _ in _expected(server, Work.datestamp >= start,
                                           Work.datestamp < start + timedelta(days=(high.date() - low.date()).days + 1))]
    assert server.validated[0] > WORKS // PAGE  # the live server checked every page it sent


def test_100_kb_requests(server: LiveServer) -> None:
    """A 60 KB query string gets its OAI-PMH answer; a GET URL past 64 KiB a transport-level 414
    (no harvester sends one); the same 100 KB arguments as a POST body the OAI-PMH answer; a POST
    body far beyond any OAI-PMH request badArgument (HTTP 200), unread."""
    def ask(method: str, target: str, body: bytes | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        result = response.status, response.read()
        connection.close()
        return result

    arguments = "verb=GetRecord&metadataPrefix=oai_dc&identifier="
    status, body = ask("GET", "/oai?" + arguments + "y" * 60_000)
    assert status == 200 and b'code="idDoesNotExist"' in body  # validated by the live server too
    status, body = ask("GET", "/oai?" + arguments + "y" * 100_000)
    assert status == 414 and b"POST" in body
    status, body = ask("POST", "/oai", (arguments + "y" * 100_000).encode())
    assert status == 200 and b'code="idDoesNotExist"' in body
    status, body = ask("POST", "/oai", (arguments + "y" * 3_000_000).encode())
    assert status == 200 and b'code="badArgument"' in body
    status, body = ask("GET", "/oai?verb=Identify", None)
    assert status == 200 and b"<Identify " in body


def test_harvest_under_churn(server: LiveServer) -> None:
    """ListIdentifiers pages while another thread publishes, edits and withdraws works: no work that
    stayed unchanged is missed, and an incremental harvest from the first responseDate returns every
    work changed meanwhile."""
    corpus = Corpus(server.database, server.settings, Clock())
    with server.database.session() as session:
        published = session.scalars(sa.select(Work.id).where(Work.status == Status.published)
                                    .order_by(Work.id)).all()
    before = {i for i, _ in _expected(server)}
    rng = random.Random(5)
    targets = rng.sample(list(published), 60)
    changed: set[str] = set()
    failures: list[BaseException] = []
    done = threading.Event()

    def churn() -> None:
        try:
            for n, work_id in enumerate(targets):
                if n % 3 == 0:
                    corpus.withdraw(work_id, "Retirada durante la cosecha.")
                else:
                    corpus.edit(work_id, metadata={"notes": f"Revisión {n} durante la cosecha."})
                changed.add(identifier(work_id))
                if n % 10 == 0:
                    changed.add(identifier(corpus.work(f"Nueva obra {n}", centre="flacso-ar")))
                time.sleep(0.005)
        except BaseException as exc:  # surfaced by the assertion below
            failures.append(exc)
        finally:
            done.set()

    client = httpx.Client(base_url=server.url, timeout=60)
    page = etree.fromstring(client.get("/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}).content)
    first_response_date = page.xpath("string(//o:responseDate)", namespaces=NS)
    harvested = list(page.xpath("//o:header/o:identifier/text()", namespaces=NS))
    thread = threading.Thread(target=churn)
    thread.start()
    pages = 1
    while token := page.xpath("string(//o:resumptionToken)", namespaces=NS):
        page = etree.fromstring(client.get("/oai", params={"verb": "ListIdentifiers", "resumptionToken": token}).content)
        harvested += page.xpath("//o:header/o:identifier/text()", namespaces=NS)
        pages += 1
        time.sleep(0.01)
    thread.join()
    assert done.is_set() and not failures, failures
    assert len(changed) == len(targets) + len(targets) // 10 and pages >= WORKS // PAGE
    unchanged = before - changed
    assert unchanged <= set(harvested), sorted(unchanged - set(harvested))[:10]
    # the harvester's next incremental harvest, from the first page's responseDate
    incremental: list[str] = []
    params: dict[str, str] = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": first_response_date}
    while True:
        page = etree.fromstring(client.get("/oai", params=params).content)
        incremental += page.xpath("//o:header/o:identifier/text()", namespaces=NS)
        token = page.xpath("string(//o:resumptionToken)", namespaces=NS)
        if not token:
            break
        params = {"verb": "ListIdentifiers", "resumptionToken": token}
    assert changed <= set(incremental), sorted(changed - set(incremental))[:10]
    client.close()
