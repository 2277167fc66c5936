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
