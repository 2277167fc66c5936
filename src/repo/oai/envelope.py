"""The one envelope builder of every OAI-PMH response (OAI-PMH §3.2).

``<OAI-PMH>`` with ``responseDate``, ``request`` and then either the verb's element or the
``<error>`` elements. The body is handed out in chunks as its items come: each item (a record, a
header, a set) is an lxml element serialized on its own, or the bytes of one serialized earlier (a
stored record), so a ListRecords response never exists whole in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime

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


_MARK = "oai-pmh-items-go-here"  # XML text no escaping produces twice; split at its last occurrence


def render(
    *,
    response_date: datetime,
    base_url: str,
    arguments: dict[str, str] | None,
    verb: str | None,
    items: Iterable[etree._Element | bytes],
) -> Iterator[bytes]:
    """The response as a stream of UTF-8 chunks of about :data:`FLUSH_BYTES`.

    ``arguments`` become the attributes of ``<request>``; pass ``None`` after badVerb or
    badArgument (§3.2: "Attributes must not be provided in these cases"). With ``verb`` the items
    are the children of the verb's element; without it they follow ``<request>`` directly.

    The envelope is one small lxml tree, serialized once and cut where the items go (after
    everything the request's arguments could put in it); each item is an element serialized on
    its own, or the bytes of one serialized earlier (a stored record), spliced in order.
    """
    root = etree.Element(_ROOT, _ROOT_ATTRIBUTES, nsmap=_ROOT_NSMAP)
    etree.SubElement(root, _RESPONSE_DATE).text = datestamp(response_date)
    request = etree.SubElement(root, _REQUEST, {k: text(v) for k, v in (arguments or {}).items()})
    request.text = text(base_url)
    if verb is None:
        request.tail = _MARK
    else:
        etree.SubElement(root, f"{{{OAI_NS}}}{verb}").text = _MARK
    head, tail = etree.tostring(root, encoding="UTF-8").rsplit(_MARK.encode(), 1)
    parts, size = [DECLARATION, head], len(head)
    for item in items:
        data = item if item.__class__ is bytes else etree.tostring(item, encoding="UTF-8")
        parts.append(data)
        size += len(data)
        if size >= FLUSH_BYTES:
            yield b"".join(parts)
            parts, size = [], 0
    parts.append(tail)
    yield b"".join(parts)


_ROOT, _RESPONSE_DATE, _REQUEST = (f"{{{OAI_NS}}}{tag}" for tag in ("OAI-PMH", "responseDate", "request"))
_ROOT_ATTRIBUTES = {SCHEMA_LOCATION: f"{OAI_NS} {OAI_SCHEMA}"}
_ROOT_NSMAP = {None: OAI_NS, "xsi": XSI_NS}
