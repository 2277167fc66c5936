"""Syntax and checksum validation of persistent identifiers, with canonical forms.

Each function returns the canonical form or raises ``ValueError`` with a message for the client.
"""

from __future__ import annotations

import re

from stdnum import isbn as _isbn
from stdnum import issn as _issn
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_11_2

_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])$", re.I)
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9}/[^\s]+)$", re.I)
_ROR = re.compile(r"^(?:https?://ror\.org/)?(0[a-hj-km-np-tv-z0-9]{6}\d{2})$")
_HANDLE = re.compile(r"^(?:https?://hdl\.handle\.net/)?(\d[\d.]*/\S+)$")


def isbn(value: str) -> str:
    try:
        return str(_isbn.format(_isbn.validate(value), convert=True))
    except ValidationError as exc:
        raise ValueError(f"'{value}' is not a valid ISBN ({exc.message})") from None


def issn(value: str) -> str:
    try:
        return str(_issn.format(_issn.validate(value)))
    except ValidationError as exc:
        raise ValueError(f"'{value}' is not a valid ISSN ({exc.message})") from None


def orcid(value: str) -> str:
    match = _ORCID.match(value.strip())
    if not match:
        raise ValueError(f"'{value}' is not an ORCID iD (0000-0002-1825-0097)")
    digits = "".join(match.groups()).upper()
    if not mod_11_2.is_valid(digits):
        raise ValueError(f"'{value}' is not a valid ORCID iD (bad check digit)")
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def doi(value: str) -> str:
    match = _DOI.match(value.strip())
    if not match:
        raise ValueError(f"'{value}' is not a DOI (10.NNNN/suffix)")
    return match[1]


def ror(value: str) -> str:
    match = _ROR.match(value.strip())
    if not match:
        raise ValueError(f"'{value}' is not a ROR id (https://ror.org/0abcdef12)")
    return f"https://ror.org/{match[1]}"


def handle(value: str) -> str:
    match = _HANDLE.match(value.strip())
    if not match:
        raise ValueError(f"'{value}' is not a handle (prefix/suffix)")
    return match[1]


_FUNDREF = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.13039/\S+)$", re.I)


def funder(value: str) -> str:
    """A funder identifier: a ROR id or a Crossref Funder ID (``10.13039/…``), as a URL."""
    match = _FUNDREF.match(value.strip())
    if match:
        return f"https://doi.org/{match[1]}"
    try:
        return ror(value)
    except ValueError:
        raise ValueError(f"'{value}' is neither a ROR id (https://ror.org/0abcdef12) nor a Crossref "
                         "Funder ID (10.13039/501100000780)") from None


def funder_scheme(value: str) -> str:
    """``ROR`` or ``Crossref Funder ID`` (DataCite's funderIdentifierType) of a canonical funder id."""
    return "Crossref Funder ID" if value.startswith("https://doi.org/") else "ROR"


_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)
_PATTERNS = {
    "arXiv": (re.compile(r"^(?:arXiv:)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)$", re.I),
              "an arXiv id (2101.01234)"),
    "PMID": (re.compile(r"^(\d{1,9})$"), "a PubMed id (digits)"),
    "URN": (re.compile(r"^(urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$", re.I), "a URN (urn:nbn:…)"),
    "ARK": (re.compile(r"^(?:https?://\S+/)?(ark:/?\d{5,}/\S+)$", re.I), "an ARK (ark:/12345/x)"),
}


def related(scheme: str, value: str) -> str:
    """A related identifier in the canonical form of its scheme (DataCite relatedIdentifierType)."""
    value = value.strip()
    if scheme == "DOI":
        return doi(value)
    if scheme in ("ISSN", "EISSN", "LISSN"):
        return issn(value)
    if scheme == "ISBN":
        return isbn(value)
    if scheme == "Handle":
        return handle(value)
    if scheme in ("URL", "PURL"):
        if not _URL.match(value):
            raise ValueError(f"'{value}' is not an http(s) URL")
        return value
    if scheme in _PATTERNS:
        pattern, what = _PATTERNS[scheme]
        match = pattern.match(value)
        if not match:
            raise ValueError(f"'{value}' is not {what}")
        return match[1]
    if any(c.isspace() for c in value):
        raise ValueError(f"'{value}' is not a {scheme} identifier (no spaces)")
    return value
