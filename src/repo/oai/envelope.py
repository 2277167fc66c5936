"""The one envelope builder of every OAI-PMH response (OAI-PMH §3.2).

``<OAI-PMH>`` with ``responseDate``, ``request`` and then either the verb's element or the
``<error>`` elements. The body is written incrementally with :class:`lxml.etree.xmlfile`: each
item (a record, a header, a set) is an lxml element serialized on its own (or the bytes of one
serialized earlier: a stored record) and handed out as bytes, so a ListRecords response never exists whole in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from lxml import etree

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
SCHEMA_LOCATION = f"{{{XSI_NS}}}schemaLocation"
NSMAP = {None: OAI_NS}
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
FLUSH_BYTES = 64 * 1024

_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def text(value: object) -> str:
    """``value`` as text lxml accepts: XML 1.0-illegal characters (controls, lone surrogates,
    U+FFFE/U+FFFF) removed, whatever was stored (§3.2: the response must be well-formed)."""
    return _XML_ILLEGAL.sub("", value if isinstance(value, str) else str(value))


def datestamp(value: datetime) -> str:
    """UTC at seconds granularity with ``Z`` (§3.3.2)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def oai(tag: str, value: str | None = None, attrib: dict[str, str] | None = None,
        parent: etree._Element | None = None) -> etree._Element:
    """An element in the OAI-PMH namespace (a child of ``parent`` when given)."""
    name = f"{{{OAI_NS}}}{tag}"
    element = (etree.SubElement(parent, name, attrib or {}) if parent is not None
               else etree.Element(name, attrib or {}, nsmap=NSMAP))
    if value is not None:
        element.text = text(value)
    return element


def error(code: str, message: str) -> etree._Element:
    return oai("error", message, {"code": code})


class _Sink:
    """The file xmlfile writes to: collects bytes until the generator hands them out."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return data


def render(
    *,
    response_date: datetime,
    base_url: str,
    arguments: dict[str, str] | None,
    verb: str | None,
    items: Iterable[etree._Element | bytes],
) -> Iterator[bytes]:
    """The response as a stream of UTF-8 chunks.

    ``arguments`` become the attributes of ``<request>``; pass ``None`` after badVerb or
    badArgument (§3.2: "Attributes must not be provided in these cases"). With ``verb`` the items
    are the children of the verb's element; without it they are ``<error>`` elements.
    """
    sink = _Sink()
    sink.write(DECLARATION)
    with etree.xmlfile(sink, encoding="UTF-8") as xf:
        with xf.element(f"{{{OAI_NS}}}OAI-PMH", {SCHEMA_LOCATION: f"{OAI_NS} {OAI_SCHEMA}"},
                        nsmap={None: OAI_NS, "xsi": XSI_NS}):
            xf.write(oai("responseDate", datestamp(response_date)))
            xf.write(oai("request", base_url, {k: text(v) for k, v in (arguments or {}).items()}))
            if verb is None:
                yield from _write(xf, sink, items)
            else:
                with xf.element(f"{{{OAI_NS}}}{verb}"):
                    yield from _write(xf, sink, items)
        xf.flush()
    yield sink.drain()


def _write(xf: Any, sink: _Sink, items: Iterable[etree._Element | bytes]) -> Iterator[bytes]:
    for item in items:
        if item.__class__ is bytes:
            # An element serialized earlier by lxml (a stored record): flush what xmlfile
            # holds, then append the bytes in order.
            xf.flush()
            sink.write(item)  # type: ignore[arg-type]
        else:
            xf.write(item)
        if sink.size >= FLUSH_BYTES:
            xf.flush()
            yield sink.drain()
