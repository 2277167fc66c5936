"""oai_repo (MSU Libraries, from PyPI) serving a fixed oai_dc corpus over a real socket, driven
as ``shared/peers/serve_oai_repo.py`` drives it (a DataInterface; wsgiref instead of gunicorn)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from lxml import etree

NS = {"o": "http://www.openarchives.org/OAI/2.0/", "dc": "http://purl.org/dc/elements/1.1/"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

CORPUS = [  # a fixed corpus: (identifier, datestamp, [(element, value, xml:lang)])
    (f"oai:peer.example.org:{n}", datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=n),
     [("title", f"Título {n}", "es"), ("creator", f"Pérez, Juan {n}", None), ("date", f"20{10 + n % 10}", None),
      ("type", "info:eu-repo/semantics/" + ("article" if n % 2 else "book"), None), ("language", "spa", None),
      ("rights", "info:eu-repo/semantics/openAccess", None), ("identifier", f"https://peer.example.org/{n}", None)])
    for n in range(1, 24)
]


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _oai_repo_app(rows: list, base_url: str):  # type: ignore[no-untyped-def]
    """oai_repo driven as shared/peers/serve_oai_repo.py drives it, over an in-memory corpus."""
    import oai_repo
    from oai_repo.exceptions import OAIErrorNoSetHierarchy

    OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"

    def element(fields):  # type: ignore[no-untyped-def]
        root = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": NS["dc"]})
        for name, value, lang in fields:
            child = etree.SubElement(root, f"{{{NS['dc']}}}{name}")
            child.text = value
            if lang:
                child.set(XML_LANG, lang)
        return root

    class Data(oai_repo.DataInterface):
        limit = 10

        def __init__(self) -> None:
            self.rows = rows

        def get_identify(self):  # type: ignore[no-untyped-def]
            return oai_repo.Identify(repository_name="oai_repo peer", base_url=base_url,
                                     admin_email=["a@peer.example.org"], earliest_datestamp="2023-01-01T00:00:00Z",
                                     deleted_record="no", granularity="YYYY-MM-DDThh:mm:ssZ")

        def is_valid_identifier(self, identifier):  # type: ignore[no-untyped-def]
            return any(r[0] == identifier for r in self.rows)

        def get_metadata_formats(self, identifier=None):  # type: ignore[no-untyped-def]
            return [oai_repo.MetadataFormat("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC)]

        def _row(self, identifier):  # type: ignore[no-untyped-def]
            return next(r for r in self.rows if r[0] == identifier)

        def get_record_header(self, identifier):  # type: ignore[no-untyped-def]
            return oai_repo.RecordHeader(identifier=identifier,
                                         datestamp=self._row(identifier)[1].strftime("%Y-%m-%dT%H:%M:%SZ"))

        def get_record_metadata(self, identifier, metadataprefix):  # type: ignore[no-untyped-def]
            return element(self._row(identifier)[2])

        def get_record_abouts(self, identifier):  # type: ignore[no-untyped-def]
            return []

        def list_set_specs(self, identifier=None, cursor=0):  # type: ignore[no-untyped-def]
            return None, None, None

        def get_set(self, setspec):  # type: ignore[no-untyped-def]
            return None

        def list_identifiers(self, metadataprefix, filter_from=None, filter_until=None, filter_set=None,
                             cursor=0):  # type: ignore[no-untyped-def]
            if filter_set:
                raise OAIErrorNoSetHierarchy("no sets")
            chosen = sorted((r for r in self.rows if (not filter_from or r[1] >= filter_from.replace(tzinfo=UTC))
                             and (not filter_until or r[1] <= filter_until.replace(tzinfo=UTC))), key=lambda r: r[1])
            return [r[0] for r in chosen[cursor:cursor + self.limit]], len(chosen), None

    repository = oai_repo.OAIRepository(Data())

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        from urllib.parse import parse_qsl

        query = environ.get("QUERY_STRING", "")
        if environ.get("REQUEST_METHOD") == "POST":  # as shared/peers/_wsgi.py: the form body
            query = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
        body = bytes(repository.process(dict(parse_qsl(query))))
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    return app


@pytest.fixture
def oai_repo_server():  # type: ignore[no-untyped-def]
    rows = [list(r) for r in CORPUS]
    server = make_server("127.0.0.1", 0, lambda e, s: None, server_class=_Threaded, handler_class=_Quiet)
    url = f"http://127.0.0.1:{server.server_port}/oai"
    server.set_app(_oai_repo_app(rows, url))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url, rows
    server.shutdown()
    server.server_close()
