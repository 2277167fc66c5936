"""The deposit record: pydantic models of a work's descriptive metadata and of the API payloads.

The JSON Schema of ``WorkIn`` is published as ``schemas/deposit-record.schema.json``
(``repo schema`` writes it; a test keeps it in sync). Drafts may be incomplete: what publishing
requires is checked by :func:`missing_for_publication`, which lists every gap at once.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
    model_validator,
)

from repo.works import identifiers
from repo.works.vocabularies import (
    SUBJECT_SCHEMES,
    AccessRight,
    IdentifierType,
    RelationType,
    Role,
    Status,
    Version,
    WorkType,
    country,
    language,
    normalise_licence,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def clean_text(value: str) -> str:
    """NFC, no control characters (they break XML and PostgreSQL), trimmed."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", value)).strip()


def _partial_date(value: str) -> str:
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value)
    if not match:
        raise ValueError("must be YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(g) if g else None for g in match.groups())
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"month {month:02d} does not exist")
    if day is not None and not 1 <= day <= calendar.monthrange(year, month)[1]:  # type: ignore[arg-type]
        raise ValueError(f"{value} is not a calendar date")
    if not 1000 <= year <= 2999:
        raise ValueError("year out of range")
    return value


Text = Annotated[str, BeforeValidator(lambda v: clean_text(v) if isinstance(v, str) else v), Field(min_length=1, max_length=2000)]
LongText = Annotated[str, BeforeValidator(lambda v: clean_text(v) if isinstance(v, str) else v), Field(min_length=1, max_length=100_000)]
Lang = Annotated[str, Field(description="ISO 639-3 code (ISO 639-1 accepted and converted)"), AfterValidator(language)]
Country = Annotated[str, Field(description="ISO 3166-1 alpha-2 code"), AfterValidator(country)]
PartialDate = Annotated[str, Field(description="YYYY, YYYY-MM or YYYY-MM-DD"), AfterValidator(_partial_date)]
ISBN = Annotated[str, AfterValidator(identifiers.isbn)]
ISSN = Annotated[str, AfterValidator(identifiers.issn)]
ORCID = Annotated[str, AfterValidator(identifiers.orcid)]
DOI = Annotated[str, AfterValidator(identifiers.doi)]
ROR = Annotated[str, AfterValidator(identifiers.ror)]
Handle = Annotated[str, AfterValidator(identifiers.handle)]
FunderId = Annotated[str, Field(description="ROR id or Crossref Funder ID (10.13039/…)"),
                     AfterValidator(identifiers.funder)]
Licence = Annotated[str, Field(description="Creative Commons licence URI"), AfterValidator(normalise_licence)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Title(Model):
    value: Text
    lang: Lang | None = None
    type: Literal["main", "alternative", "translated", "subtitle"] = "main"


class Abstract(Model):
    value: LongText
    lang: Lang | None = None


class Affiliation(Model):
    name: Text
    ror: ROR | None = None
    country: Country | None = None


class Person(Model):
    """A person (family/given names) or an organisation (``name`` only)."""

    family: Text | None = None
    given: Text | None = None
    name: Text | None = Field(None, description="Organisation name, or a name that has no parts")
    orcid: ORCID | None = None
    affiliations: list[Affiliation] = Field(default_factory=list, max_length=20)
    role: Role = Role.author

    @model_validator(mode="after")
    def _named(self) -> "Person":
        if not (self.family or self.name):
            raise ValueError("a person needs a family name or a name")
        return self

    @property
    def display(self) -> str:
        if self.family:
            return f"{self.family}, {self.given}" if self.given else self.family
        return self.name or ""


class Subject(Model):
    value: Text
    lang: Lang | None = None
    scheme: Text | None = Field(None, description="e.g. UNESCO, LCSH, JEL, DDC; none for a free keyword")
    scheme_uri: HttpUrl | None = Field(None, validate_default=True,
                                       description="URI of the scheme (filled in for well-known schemes)")
    uri: HttpUrl | None = Field(None, description="URI of the term in its scheme")

    @field_validator("scheme")
    @classmethod
    def _canonical_scheme(cls, value: str | None) -> str | None:
        known = SUBJECT_SCHEMES.get(value.lower()) if value else None
        return known.name if known else value

    @field_validator("scheme_uri")
    @classmethod
    def _scheme_uri(cls, value: HttpUrl | None, info: ValidationInfo) -> HttpUrl | None:
        """A well-known scheme gets its URI unless one is given; a URI needs its scheme's name."""
        scheme = info.data.get("scheme")
        if value is None and scheme and (known := SUBJECT_SCHEMES.get(scheme.lower())):
            return HttpUrl(known.uri)
        if value is not None and not scheme:
            raise ValueError("a scheme URI needs the scheme's name in 'scheme'")
        return value


class Series(Model):
    title: Text
    number: Text | None = None
    issn: ISSN | None = None


class Pages(Model):
    start: Text | None = None
    end: Text | None = None


class HostJournal(Model):
    title: Text
    issn: ISSN | None = Field(None, description="ISSN of the print edition (or the only one)")
    eissn: ISSN | None = Field(None, description="ISSN of the electronic edition")
    issn_l: ISSN | None = Field(None, description="Linking ISSN; by default the ISSN, else the eISSN")
    volume: Text | None = None
    issue: Text | None = None
    pages: Pages | None = None

    @property
    def linking_issn(self) -> str | None:
        return linking_issn(self.model_dump())


def linking_issn(journal: Any) -> str | None:
    """The ISSN-L of a host journal (a stored ``journal`` document): the one given, else the
    ISSN (the print one, which the ISSN Centre usually designates), else the eISSN. It names the
    journal's OAI set ``journal:<ISSN-L>``."""
    if not isinstance(journal, dict):
        return None
    for key in ("issn_l", "issn", "eissn"):
        value = journal.get(key)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{3}[\dX]", value):
            return value
    return None


class HostBook(Model):
    title: Text
    isbn: ISBN | None = None
    editors: list[Person] = Field(default_factory=list, max_length=50)
    pages: Pages | None = None


class Funding(Model):
    funder: Text
    funder_id: FunderId | None = None
    funding_stream: Text | None = Field(None, description="Programme, e.g. Horizon Europe")
    award_number: Text | None = None
    award_uri: HttpUrl | None = None
    award_title: Text | None = None


class Conference(Model):
    """The event a conference paper (or a lecture) was presented at."""

    name: Text
    acronym: Text | None = None
    number: Text | None = Field(None, description="e.g. 10 (the tenth conference)")
    place: Text | None = Field(None, description="City, e.g. Buenos Aires")
    country: Country | None = None
    start: date | None = None
    end: date | None = None

    @field_validator("end")
    @classmethod
    def _ends_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is not None:
            start = info.data.get("start")
            if start is None and "start" not in info.data:
                return value  # the start itself was refused: one error is enough
            if start is None:
                raise ValueError("a conference end date needs its start date")
            if value < start:
                raise ValueError("the conference ends before it starts")
        return value


def _vocabulary(enum: type) -> Any:
    """Accept a vocabulary term in any case (``isPartOf``, ``doi``) and store its canonical form."""
    canonical = {member.value.lower(): member.value for member in enum}  # type: ignore[attr-defined]
    return BeforeValidator(lambda v: canonical.get(v.strip().lower(), v) if isinstance(v, str) else v)


class RelatedIdentifier(Model):
    """Another resource this work relates to: a version, a dataset, the work it reviews…"""

    type: Annotated[IdentifierType, _vocabulary(IdentifierType)] = Field(description="DataCite relatedIdentifierType")
    relation: Annotated[RelationType, _vocabulary(RelationType)] = Field(description="DataCite relationType, e.g. IsPartOf")
    identifier: Annotated[str, Field(min_length=1, max_length=2000)]

    @field_validator("identifier")
    @classmethod
    def _canonical(cls, value: str, info: ValidationInfo) -> str:
        """Checked and normalised by the rules of its scheme (DOI, ISBN, ISSN, handle, URL…)."""
        scheme = info.data.get("type")
        return identifiers.related(scheme, clean_text(value)) if scheme else clean_text(value)


class Extent(Model):
    pages: int | None = Field(None, ge=1, le=100_000)
    duration: str | None = Field(None, pattern=r"^PT(?:\d+H)?(?:\d+M)?(?:\d+S)?$", description="ISO 8601, e.g. PT1H20M")


class Metadata(Model):
    """Descriptive metadata of a work, in as many languages as the depositor gives."""

    titles: list[Title] = Field(default_factory=list, max_length=50)
    abstracts: list[Abstract] = Field(default_factory=list, max_length=20)
    creators: list[Person] = Field(default_factory=list, max_length=1000)
    contributors: list[Person] = Field(default_factory=list, max_length=1000)
    subjects: list[Subject] = Field(default_factory=list, max_length=200)
    languages: list[Lang] = Field(default_factory=list, max_length=20)
    publication_date: PartialDate | None = None
    publisher: Text | None = None
    place: Text | None = None
    edition: Text | None = None
    series: Series | None = None
    journal: HostJournal | None = None
    book: HostBook | None = None
    conference: Conference | None = None
    isbn: list[ISBN] = Field(default_factory=list, max_length=20)
    doi: DOI | None = None
    handle: Handle | None = None
    urls: list[HttpUrl] = Field(default_factory=list, max_length=20)
    related_identifiers: list[RelatedIdentifier] = Field(default_factory=list, max_length=100)
    license: Licence | None = None
    version: Version | None = None
    funding: list[Funding] = Field(default_factory=list, max_length=50)
    countries: list[Country] = Field(default_factory=list, max_length=50)
    extent: Extent | None = None
    notes: LongText | None = None

    @model_validator(mode="after")
    def _one_main_title(self) -> "Metadata":
        if sum(t.type == "main" for t in self.titles) > 1:
            raise ValueError("titles: only one title may have type 'main'")
        return self

    @property
    def main_title(self) -> Title | None:
        return next((t for t in self.titles if t.type == "main"), self.titles[0] if self.titles else None)

    @property
    def publication_year(self) -> int | None:
        return int(self.publication_date[:4]) if self.publication_date else None


class WorkIn(Model):
    """A work as an editor deposits it (create and full replace)."""

    type: WorkType | None = None
    centre: Slug = Field(description="Slug of the member centre that owns the work")
    collections: list[Slug] = Field(default_factory=list, max_length=50)
    access_right: AccessRight | None = None
    embargo_end: date | None = Field(None, description="Required when access_right is 'embargoed'")
    main_file: Annotated[str, Field(min_length=1, max_length=1024)] | None = Field(
        None, description="Name of the work's main file (its full text); by default the first PDF by name")
    metadata: Metadata = Field(default_factory=Metadata)

    @model_validator(mode="after")
    def _embargo(self) -> "WorkIn":
        if self.access_right == AccessRight.embargoed and self.embargo_end is None:
            raise ValueError("embargo_end is required when access_right is 'embargoed'")
        if self.access_right != AccessRight.embargoed and self.embargo_end is not None:
            raise ValueError("embargo_end is only allowed when access_right is 'embargoed'")
        return self


class WithdrawIn(Model):
    reason: Text


class Withdrawal(BaseModel):
    at: datetime
    reason: str


class Links(BaseModel):
    self: str
    html: str
    oai: str | None = None
    revisions: str


class WorkSource(BaseModel):
    """Where a work that did not come through the deposit API came from (a harvest: the source's
    base URL, the record's OAI identifier and datestamp, the metadata prefix, the harvest time),
    and the source's values that did not fit the deposit record (kept, never dropped)."""

    kind: str
    base_url: str | None = None
    identifier: str | None = None
    datestamp: str | None = None
    metadata_prefix: str | None = None
    harvested_at: str | None = None
    read_only: bool = True
    unmapped: list[dict[str, Any]] = Field(default_factory=list)


class WorkOut(BaseModel):
    """A work as the API returns it."""

    id: int
    status: Status
    type: WorkType | None
    centre: str
    collections: list[str]
    access_right: AccessRight | None
    embargo_end: date | None
    main_file: str | None = None
    metadata: dict[str, Any]
    created: datetime
    updated: datetime
    published: datetime | None
    withdrawal: Withdrawal | None
    version: int
    source: WorkSource | None = None
    links: Links


class WorkPage(BaseModel):
    items: list[WorkOut]
    next_cursor: str | None
    links: dict[str, str]


class RevisionOut(BaseModel):
    version: int
    at: datetime
    actor: str
    action: str
    changes: list[dict[str, Any]]


def missing_for_publication(work: WorkIn) -> list[tuple[str, str]]:
    """Every field publishing requires and the work lacks, as ``(field, message)``."""
    missing: list[tuple[str, str]] = []
    m = work.metadata
    if not m.titles:
        missing.append(("metadata.titles", "a title is required to publish"))
    if not m.creators:
        missing.append(("metadata.creators", "a creator is required to publish"))
    if work.type is None:
        missing.append(("type", "a type is required to publish"))
    if not m.publication_date:
        missing.append(("metadata.publication_date", "a publication date is required to publish"))
    if not m.languages:
        missing.append(("metadata.languages", "a language is required to publish"))
    if work.access_right is None:
        missing.append(("access_right", "an access right is required to publish"))
    return missing
