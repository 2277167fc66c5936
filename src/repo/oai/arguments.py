"""Parsing and validating the arguments of an OAI-PMH request (OAI-PMH §3.1.1, §3.6, §4).

The raw query string (GET) or form body (POST) is read as a list of ``(key, value)`` pairs, so a
repeated argument is seen even when both values are equal (a dict would hide it). Then:

1. exactly one legal ``verb`` or :class:`BadVerb`;
2. no repeated argument, no argument unknown to the verb, ``resumptionToken`` exclusive, values
   free of XML-illegal characters, or :class:`BadArgument`;
3. one pydantic model per verb checks required arguments and value syntax (metadataPrefix and
   setSpec patterns, UTC dates of one granularity with ``from`` ≤ ``until``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, model_validator

from repo.oai.errors import BadArgument, BadVerb

VERBS = ("GetRecord", "Identify", "ListIdentifiers", "ListMetadataFormats", "ListRecords", "ListSets")

# OAI-PMH.xsd: metadataPrefixType and setSpecType.
PREFIX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
SET_SPEC = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(?::[A-Za-z0-9\-_.!~*'()]+)*")
# §3.3.1: the only legal formats; both must be supported for a seconds-granularity repository.
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SECONDS = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class UTCBound:
    """A ``from``/``until`` value: the instant, and whether it was given at day granularity."""

    raw: str
    value: datetime
    day: bool


def parse_utc(raw: Any) -> UTCBound:
    """Parse ``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm:ssZ`` (nothing else: §3.3.1)."""
    if not isinstance(raw, str):
        raise ValueError("must be a UTC date")
    if match := _DAY.fullmatch(raw):
        try:
            day = date(*(int(g) for g in match.groups()))
        except ValueError:
            raise ValueError(f"'{raw}' is not a calendar date") from None
        return UTCBound(raw, datetime.combine(day, time(0), tzinfo=UTC), True)
    if match := _SECONDS.fullmatch(raw):
        try:
            value = datetime(*(int(g) for g in match.groups()), tzinfo=UTC)  # type: ignore[misc]
        except ValueError:
            raise ValueError(f"'{raw}' is not a valid UTC datetime") from None
        return UTCBound(raw, value, False)
    raise ValueError(f"'{raw}' is neither YYYY-MM-DD nor YYYY-MM-DDThh:mm:ssZ")


def _pattern(regex: re.Pattern[str], what: str) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise ValueError(f"illegal {what} syntax")
        return value

    return PlainValidator(check)


Prefix = Annotated[str, _pattern(PREFIX, "metadataPrefix")]
SetSpec = Annotated[str, _pattern(SET_SPEC, "setSpec")]
Stamp = Annotated[UTCBound, PlainValidator(parse_utc)]
Identifier = Annotated[str, Field(min_length=1)]


class VerbArguments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IdentifyArguments(VerbArguments):
    verb: Literal["Identify"]


class ListMetadataFormatsArguments(VerbArguments):
    verb: Literal["ListMetadataFormats"]
    identifier: Identifier | None = None


class ListSetsArguments(VerbArguments):
    verb: Literal["ListSets"]
    resumptionToken: str | None = None


class GetRecordArguments(VerbArguments):
    verb: Literal["GetRecord"]
    identifier: Identifier
    metadataPrefix: Prefix


class ListArguments(VerbArguments):
    """ListIdentifiers and ListRecords (§4.3, §4.5)."""

    verb: Literal["ListIdentifiers", "ListRecords"]
    metadataPrefix: Prefix | None = None
    from_: Stamp | None = Field(None, alias="from")
    until: Stamp | None = None
    set: SetSpec | None = None
    resumptionToken: str | None = None

    @model_validator(mode="after")
    def _rules(self) -> "ListArguments":
        if self.resumptionToken is None and self.metadataPrefix is None:
            raise ValueError("metadataPrefix is required (unless resumptionToken is given)")
        if self.from_ is not None and self.until is not None:
            if self.from_.day != self.until.day:
                # §3.3.1: "Both arguments must have the same granularity."
                raise ValueError("from and until must have the same granularity")
            if self.from_.value > self.until.value:
                # §2.7.1: from must be less than or equal to until.
                raise ValueError("from must be less than or equal to until")
        return self

    @property
    def lower(self) -> datetime | None:
        return self.from_.value if self.from_ else None

    @property
    def upper(self) -> datetime | None:
        """Inclusive upper bound; a day-granularity ``until`` covers the whole day (§2.7.1)."""
        if self.until is None:
            return None
        if self.until.day:
            return self.until.value.replace(hour=23, minute=59, second=59)
        return self.until.value


MODELS: dict[str, type[VerbArguments]] = {
    "Identify": IdentifyArguments,
    "ListMetadataFormats": ListMetadataFormatsArguments,
    "ListSets": ListSetsArguments,
    "GetRecord": GetRecordArguments,
    "ListIdentifiers": ListArguments,
    "ListRecords": ListArguments,
}


@dataclass(frozen=True)
class ParsedRequest:
    verb: str
    arguments: VerbArguments
    echo: dict[str, str]  # the request's key=value pairs, for <request> (§3.2)


def pairs_from_query(raw: str) -> list[tuple[str, str]]:
    """All ``key=value`` pairs of a query string or form body, repeats and blanks kept."""
    return parse_qsl(raw, keep_blank_values=True, errors="replace", max_num_fields=None)


def parse(pairs: list[tuple[str, str]] | None) -> ParsedRequest:
    """Validate a request's pairs; raise :class:`BadVerb` or :class:`BadArgument` (``None``: a
    request too large to be an OAI-PMH request, which the endpoint did not read whole)."""
    if pairs is None:
        raise BadArgument("The request is far larger than any OAI-PMH request; it was not read.")
    verbs = [value for key, value in pairs if key == "verb"]
    if not verbs:
        raise BadVerb("The verb argument is missing.")
    if len(verbs) > 1:
        raise BadVerb("The verb argument is repeated.")
    verb = verbs[0]
    if verb not in VERBS:
        raise BadVerb("The value of the verb argument is not a legal OAI-PMH verb.")
    seen: dict[str, str] = {}
    for key, value in pairs:
        if key in seen:
            raise BadArgument(f"The argument {_show(key)} is repeated.")
        if _XML_ILLEGAL.search(key) or _XML_ILLEGAL.search(value):
            raise BadArgument("An argument contains characters that are not allowed in XML.")
        seen[key] = value
    if "resumptionToken" in seen and len(seen) > 2:
        others = sorted(set(seen) - {"verb", "resumptionToken"})
        raise BadArgument(f"resumptionToken is an exclusive argument; remove {', '.join(map(_show, others))}.")
    try:
        arguments = MODELS[verb].model_validate(seen)
    except ValidationError as exc:
        raise BadArgument(_describe(exc)) from None
    return ParsedRequest(verb, arguments, seen)


def _show(key: str) -> str:
    return repr(key[:40] + ("…" if len(key) > 40 else ""))


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            problems.append(f"{_show(where)} is not an argument of this verb")
        elif error["type"] == "missing":
            problems.append(f"the required argument {where} is missing")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)[:2000] + "."
