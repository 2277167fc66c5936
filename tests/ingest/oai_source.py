"""A small OAI-PMH data provider of our own that misbehaves on request, as real endpoints do.

It serves ``ListRecords`` (and Identify, ListMetadataFormats, ListSets) over a list of
:class:`Item` from a real socket (``http.server`` in a thread), with keyset tokens, and each fault
the harvester must survive switched on by a field of :class:`Faults`: 503 with Retry-After
(seconds or HTTP-date), dropped connections, tokens that expire, a token loop, endless tokens,
a malformed page, a slow answer, day granularity. The bench uses it too (a fast local source).
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from lxml import etree

OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass
class Item:
    identifier: str
    datestamp: datetime
    deleted: bool = False
    fields: list[tuple[str, str, str | None]] = field(default_factory=list)  # (dc element, value, xml:lang)
    raw: bytes | None = None  # the <metadata> payload as raw bytes (malformed and hostile records)
    header_datestamp: str | None = None  # a datestamp written as is (invalid dates)


def dc_item(n: int, datestamp: datetime, *, title: str | None = None, **extra: Any) -> Item:
    """A publishable oai_dc record ``oai:source.example.org:<n>``."""
    fields = [("title", title or f"Registro número {n}", "es"), ("creator", f"Autora{n}, Ana", None),
              ("date", "2020-05-01", None), ("type", "info:eu-repo/semantics/article", None),
              ("language", "spa", None), ("rights", "info:eu-repo/semantics/openAccess", None),
              ("identifier", f"https://source.example.org/items/{n}", None)]
    return Item(f"oai:source.example.org:{n}", datestamp, fields=fields + list(extra.get("more", [])))


@dataclass
class Faults:
    retry_after: str | None = None  # the Retry-After value of a 503 answer …
    unavailable_times: int = 0  # … given this many times (to the first requests of page 2)
    drop_times: int = 0  # close the connection without an answer this many times (page 2)
    expire_tokens: bool = False  # every token is refused the first time it is used (badResumptionToken)
    loop_at: int | None = None  # the page (0-based) whose token points back to the previous page
    endless: bool = False  # empty pages with new tokens, forever
    malformed_page: int | None = None  # the page whose XML is broken …
    malformed_times: int = 1_000_000  # … this many times
    slow_seconds: float = 0.0  # pause this long between chunks of every list answer
    page_delay: float = 0.0  # think this long before each list answer
    error_status_for_oai_errors: int = 200  # send OAI errors with this HTTP status


@dataclass
class Source:
    items: list[Item]
    page_size: int = 5
    granularity: str = "YYYY-MM-DDThh:mm:ssZ"
    deleted_record: str = "persistent"
    faults: Faults = field(default_factory=Faults)
    requests: list[dict[str, str]] = field(default_factory=list)
    earliest: datetime | None = None
    doctype: bytes = b""  # a DTD before the root element (entity tricks)
    url: str = ""
    _used_tokens: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- selection --------------------------------------------------------------------------------

    def _bound(self, value: str | None, upper: bool) -> datetime | None:
        if value is None:
            return None
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1) - timedelta(seconds=1) if upper else day
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def selected(self, lower: str | None, upper: str | None) -> list[Item]:
        low, high = self._bound(lower, False), self._bound(upper, True)
        stamped = sorted(self.items, key=lambda i: (i.datestamp, i.identifier))
        return [i for i in stamped if (low is None or i.datestamp >= low) and (high is None or i.datestamp <= high)]

    # -- XML ----------------------------------------------------------------------------------------

    def stamp(self, when: datetime) -> str:
        return when.strftime("%Y-%m-%d") if self.granularity == "YYYY-MM-DD" else when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def envelope(self, args: dict[str, str], body: bytes) -> bytes:
        request = "".join(f' {k}="{v}"' for k, v in args.items() if k.isalpha())
        return (b'<?xml version="1.0" encoding="UTF-8"?>\n' + self.doctype + b'<OAI-PMH xmlns="' + OAI.encode() + b'">'
                + b"<responseDate>" + datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode() + b"</responseDate>"
                + f"<request{request}>{self.url}</request>".encode() + body + b"</OAI-PMH>")

    def record(self, item: Item) -> bytes:
        datestamp = item.header_datestamp or self.stamp(item.datestamp)
        status = ' status="deleted"' if item.deleted else ""
        header = (f"<header{status}><identifier>{item.identifier}</identifier>"
                  f"<datestamp>{datestamp}</datestamp></header>").encode()
        if item.deleted:
            return b"<record>" + header + b"</record>"
        if item.raw is not None:
            payload = item.raw
        else:
            root = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC})
            for name, value, lang in item.fields:
                element = etree.SubElement(root, f"{{{DC}}}{name}")
                element.text = value
                if lang:
                    element.set(XML_LANG, lang)
            payload = etree.tostring(root)
        return b"<record>" + header + b"<metadata>" + payload + b"</metadata></record>"

    def error(self, args: dict[str, str], code: str, message: str) -> bytes:
        return self.envelope(args, f'<error code="{code}">{message}</error>'.encode())

    # -- verbs --------------------------------------------------------------------------------------

    def answer(self, args: dict[str, str]) -> tuple[int, dict[str, str], bytes | None, bool]:
        """(status, headers, body or None to drop the connection, slow)."""
        with self._lock:
            self.requests.append(dict(args))
        verb = args.get("verb")
        if verb == "Identify":
            earliest = self.earliest or min((i.datestamp for i in self.items), default=datetime.now(UTC))
            body = (f"<Identify><repositoryName>Fault source</repositoryName><baseURL>{self.url}</baseURL>"
                    "<protocolVersion>2.0</protocolVersion><adminEmail>a@example.org</adminEmail>"
                    f"<earliestDatestamp>{self.stamp(earliest)}</earliestDatestamp>"
                    f"<deletedRecord>{self.deleted_record}</deletedRecord>"
                    f"<granularity>{self.granularity}</granularity></Identify>")
            return 200, {}, self.envelope(args, body.encode()), False
        if verb == "ListMetadataFormats":
            body = (f"<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix>"
                    f"<schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>"
                    f"<metadataNamespace>{OAI_DC}</metadataNamespace></metadataFormat></ListMetadataFormats>")
            return 200, {}, self.envelope(args, body.encode()), False
        if verb == "ListSets":
            return 200, {}, self.error(args, "noSetHierarchy", "no sets"), False
        if verb != "ListRecords":
            return 200, {}, self.error({}, "badVerb", "bad verb"), False
        return self.list_records(args)

    def list_records(self, args: dict[str, str]) -> tuple[int, dict[str, str], bytes | None, bool]:
        faults = self.faults
        time.sleep(faults.page_delay)
        token = args.get("resumptionToken")
        if token is not None:
            try:
                lower, upper, page_text = token.split("|")
                page = int(page_text)
            except ValueError:
                return faults.error_status_for_oai_errors, {}, self.error(args, "badResumptionToken", "bad token"), False
            with self._lock:
                first_use = token not in self._used_tokens
                self._used_tokens.add(token)
            if faults.expire_tokens and first_use:
                return faults.error_status_for_oai_errors, {}, self.error(args, "badResumptionToken", "expired"), False
            lower_arg, upper_arg = lower or None, upper or None
        else:
            page, lower_arg, upper_arg = 0, args.get("from"), args.get("until")
        if page == 1:
            with self._lock:
                if faults.unavailable_times > 0:
                    faults.unavailable_times -= 1
                    return 503, {"Retry-After": faults.retry_after or "1"}, b"busy", False
                if faults.drop_times > 0:
                    faults.drop_times -= 1
                    return 0, {}, None, False
        if faults.endless and page >= 1:
            tail = f"<resumptionToken>|{upper_arg or ''}|{page + 1}</resumptionToken>"
            return 200, {}, self.envelope(args, f"<ListRecords>{tail}</ListRecords>".encode()), False
        chosen = self.selected(lower_arg, upper_arg)
        if not chosen:
            return faults.error_status_for_oai_errors, {}, self.error(args, "noRecordsMatch", "nothing"), False
        start = page * self.page_size
        records = chosen[start:start + self.page_size]
        more = start + self.page_size < len(chosen) or faults.endless
        next_page = page + 1
        if faults.loop_at is not None and page == faults.loop_at:
            next_page = page - 1 if page > 0 else page
        if more:
            tail = (f'<resumptionToken completeListSize="{len(chosen)}" cursor="{start}">'
                    f"{lower_arg or ''}|{upper_arg or ''}|{next_page}</resumptionToken>")
        else:
            tail = f'<resumptionToken completeListSize="{len(chosen)}" cursor="{start}"/>' if page else ""
        body = b"<ListRecords>" + b"".join(self.record(i) for i in records) + tail.encode() + b"</ListRecords>"
        if faults.malformed_page == page and faults.malformed_times > 0:
            with self._lock:
                faults.malformed_times -= 1
            body = body[: len(body) // 2]  # cut in the middle of an element: not well-formed
        return 200, {}, self.envelope(args, body), faults.slow_seconds > 0


class _Handler(BaseHTTPRequestHandler):
    source: Source

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        path, _, query = self.path.partition("?")
        if path != "/oai":  # anything else is a web page, not OAI-PMH
            body = b"<html><body>Not found</body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._reply(dict(parse_qsl(query, keep_blank_values=True)))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        self._reply(dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)))

    def _reply(self, args: dict[str, str]) -> None:
        try:
            self._send(*self.source.answer(args))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the harvester went away (killed, or out of time)

    def _send(self, status: int, headers: dict[str, str], body: bytes | None, slow: bool) -> None:
        if body is None:  # drop the connection without an answer
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not slow:
            self.wfile.write(body)
            return
        for start in range(0, len(body), 64):
            self.wfile.write(body[start:start + 64])
            self.wfile.flush()
            time.sleep(self.source.faults.slow_seconds)


def serve(source: Source) -> Iterator[Source]:
    """Serve ``source`` on a free loopback port until the generator is closed."""
    handler = type("Handler", (_Handler,), {"source": source})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    source.url = f"http://127.0.0.1:{server.server_address[1]}/oai"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield source
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def http_date(seconds_from_now: float) -> str:
    return email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)
