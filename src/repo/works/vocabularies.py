"""Controlled vocabularies: COAR resource types and access rights, COAR versions, roles, licences.

Each work type maps to its COAR resource type (OpenAIRE 4) and to its DRIVER / OpenAIRE 3
``info:eu-repo/semantics/*`` term, so every crosswalk reads one table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import pycountry

COAR_TYPE = "http://purl.org/coar/resource_type/"
COAR_ACCESS = "http://purl.org/coar/access_right/"
COAR_VERSION = "http://purl.org/coar/version/"
EU_REPO = "info:eu-repo/semantics/"


@dataclass(frozen=True)
class WorkTypeInfo:
    key: str
    label: str
    coar: str  # COAR resource type id
    driver: str  # info:eu-repo/semantics term
    general: str  # OpenAIRE 4 resourceTypeGeneral

    @property
    def coar_uri(self) -> str:
        return COAR_TYPE + self.coar

    @property
    def driver_uri(self) -> str:
        return EU_REPO + self.driver


class WorkType(StrEnum):
    book = "book"
    book_part = "book_part"
    working_paper = "working_paper"
    journal_article = "journal_article"
    lecture = "lecture"
    conference_paper = "conference_paper"
    report = "report"
    doctoral_thesis = "doctoral_thesis"
    master_thesis = "master_thesis"
    bachelor_thesis = "bachelor_thesis"
    review = "review"
    preprint = "preprint"
    sound = "sound"
    video = "video"
    image = "image"
    other = "other"

    @property
    def info(self) -> WorkTypeInfo:
        return WORK_TYPES[self]


WORK_TYPES: dict[WorkType, WorkTypeInfo] = {
    t.key: t  # type: ignore[misc]
    for t in (
        WorkTypeInfo("book", "book", "c_2f33", "book", "literature"),
        WorkTypeInfo("book_part", "book part", "c_3248", "bookPart", "literature"),
        WorkTypeInfo("working_paper", "working paper", "c_8042", "workingPaper", "literature"),
        WorkTypeInfo("journal_article", "journal article", "c_6501", "article", "literature"),
        WorkTypeInfo("lecture", "lecture", "c_8544", "lecture", "literature"),
        WorkTypeInfo("conference_paper", "conference paper", "c_5794", "conferenceObject", "literature"),
        WorkTypeInfo("report", "report", "c_93fc", "report", "literature"),
        WorkTypeInfo("doctoral_thesis", "doctoral thesis", "c_db06", "doctoralThesis", "literature"),
        WorkTypeInfo("master_thesis", "master thesis", "c_bdcc", "masterThesis", "literature"),
        WorkTypeInfo("bachelor_thesis", "bachelor thesis", "c_7a1f", "bachelorThesis", "literature"),
        WorkTypeInfo("review", "review", "c_efa0", "review", "literature"),
        WorkTypeInfo("preprint", "preprint", "c_816b", "preprint", "literature"),
        WorkTypeInfo("sound", "sound", "c_18cc", "other", "other research product"),
        WorkTypeInfo("video", "video", "c_12ce", "other", "other research product"),
        WorkTypeInfo("image", "image", "c_c513", "other", "other research product"),
        WorkTypeInfo("other", "other", "c_1843", "other", "other research product"),
    )
}


@dataclass(frozen=True)
class AccessRightInfo:
    key: str
    label: str
    coar: str
    driver: str

    @property
    def coar_uri(self) -> str:
        return COAR_ACCESS + self.coar

    @property
    def driver_uri(self) -> str:
        return EU_REPO + self.driver


class AccessRight(StrEnum):
    open = "open"
    embargoed = "embargoed"
    restricted = "restricted"
    metadata_only = "metadata_only"

    @property
    def info(self) -> AccessRightInfo:
        return ACCESS_RIGHTS[self]


ACCESS_RIGHTS: dict[AccessRight, AccessRightInfo] = {
    AccessRight.open: AccessRightInfo("open", "open access", "c_abf2", "openAccess"),
    AccessRight.embargoed: AccessRightInfo("embargoed", "embargoed access", "c_f1cf", "embargoedAccess"),
    AccessRight.restricted: AccessRightInfo("restricted", "restricted access", "c_16ec", "restrictedAccess"),
    AccessRight.metadata_only: AccessRightInfo("metadata_only", "metadata only access", "c_14cb", "closedAccess"),
}


class Version(StrEnum):
    """COAR version types, with the DRIVER term each maps to."""

    AO = "AO"  # author's original
    SMUR = "SMUR"  # submitted manuscript under review
    AM = "AM"  # accepted manuscript
    P = "P"  # proof
    VoR = "VoR"  # version of record
    CVoR = "CVoR"  # corrected version of record
    EVoR = "EVoR"  # enhanced version of record
    NA = "NA"  # not applicable


VERSIONS: dict[Version, tuple[str, str, str | None]] = {
    # key: (COAR id, label, info:eu-repo term)
    Version.AO: ("c_b1a7d7d4d402bcce", "author's original", "draft"),
    Version.SMUR: ("c_71e4c1898caa6e32", "submitted manuscript under review", "submittedVersion"),
    Version.AM: ("c_ab4af688f83e57aa", "accepted manuscript", "acceptedVersion"),
    Version.P: ("c_fa2ee174bc00049f", "proof", "publishedVersion"),
    Version.VoR: ("c_970fb48d4fbd8a85", "version of record", "publishedVersion"),
    Version.CVoR: ("c_e19f295774971610", "corrected version of record", "updatedVersion"),
    Version.EVoR: ("c_dc82b40f9837b551", "enhanced version of record", "updatedVersion"),
    Version.NA: ("c_be7fb7dd8ff6fe43", "not applicable (or unknown)", None),
}


def effective_version(work_type: str | None, version: object) -> Version:
    """The version every format disseminates: the depositor's, else the repository's default.

    LA Referencia (and OpenAIRE for articles and preprints) needs exactly one version on every
    record. What a member centre deposits without saying otherwise is what it published itself,
    the version of record; a preprint is by definition the author's original.
    """
    if isinstance(version, str) and version in Version.__members__:
        return Version(version)
    return Version.AO if work_type == "preprint" else Version.VoR


def driver_version(work_type: str | None, version: object) -> str:
    """The ``info:eu-repo/semantics`` version term of :func:`effective_version` (exactly one).

    ``NA`` (not applicable: recordings, photographs) has no DRIVER term; such a work is what the
    repository made public, so it reads ``publishedVersion``.
    """
    term = VERSIONS[effective_version(work_type, version)][2]
    return EU_REPO + (term or "publishedVersion")


class RelationType(StrEnum):
    """How a work relates to another resource: the DataCite relation types OpenAIRE 4 accepts."""

    IsCitedBy = "IsCitedBy"
    Cites = "Cites"
    IsSupplementTo = "IsSupplementTo"
    IsSupplementedBy = "IsSupplementedBy"
    IsContinuedBy = "IsContinuedBy"
    Continues = "Continues"
    IsDescribedBy = "IsDescribedBy"
    Describes = "Describes"
    HasMetadata = "HasMetadata"
    IsMetadataFor = "IsMetadataFor"
    HasVersion = "HasVersion"
    IsVersionOf = "IsVersionOf"
    IsNewVersionOf = "IsNewVersionOf"
    IsPreviousVersionOf = "IsPreviousVersionOf"
    IsPartOf = "IsPartOf"
    HasPart = "HasPart"
    IsReferencedBy = "IsReferencedBy"
    References = "References"
    IsDocumentedBy = "IsDocumentedBy"
    Documents = "Documents"
    IsCompiledBy = "IsCompiledBy"
    Compiles = "Compiles"
    IsVariantFormOf = "IsVariantFormOf"
    IsOriginalFormOf = "IsOriginalFormOf"
    IsIdenticalTo = "IsIdenticalTo"
    IsReviewedBy = "IsReviewedBy"
    Reviews = "Reviews"
    IsDerivedFrom = "IsDerivedFrom"
    IsSourceOf = "IsSourceOf"
    IsRequiredBy = "IsRequiredBy"
    Requires = "Requires"


class IdentifierType(StrEnum):
    """Schemes of related identifiers: the DataCite list both OpenAIRE 4 and DataCite 4 accept."""

    ARK = "ARK"
    arXiv = "arXiv"
    bibcode = "bibcode"
    DOI = "DOI"
    EAN13 = "EAN13"
    EISSN = "EISSN"
    Handle = "Handle"
    IGSN = "IGSN"
    ISBN = "ISBN"
    ISSN = "ISSN"
    ISTC = "ISTC"
    LISSN = "LISSN"
    LSID = "LSID"
    PMID = "PMID"
    PURL = "PURL"
    UPC = "UPC"
    URL = "URL"
    URN = "URN"


@dataclass(frozen=True)
class SubjectScheme:
    name: str  # as DataCite's subjectScheme and MODS's authority read it
    uri: str  # the scheme's URI (DataCite schemeURI, MODS authorityURI)
    marc: str | None  # MARC subject heading source code ($2), None for the LCSH/MeSH indicators


#: Well-known subject schemes: a deposit naming one (any case) gets its canonical name and URI.
SUBJECT_SCHEMES: dict[str, SubjectScheme] = {s.name.lower(): s for s in (
    SubjectScheme("LCSH", "http://id.loc.gov/authorities/subjects", "lcsh"),
    SubjectScheme("MeSH", "http://id.nlm.nih.gov/mesh", "mesh"),
    SubjectScheme("UNESCO", "http://vocabularies.unesco.org/thesaurus", "unescot"),
    SubjectScheme("JEL", "https://www.aeaweb.org/econlit/jelCodes.php", None),
    SubjectScheme("DDC", "http://dewey.info/", "ddc"),
    SubjectScheme("FOS", "http://www.oecd.org/science/inno/38235147.pdf", None),
    SubjectScheme("Wikidata", "http://www.wikidata.org/entity/", "wikidata"),
)}


class Role(StrEnum):
    """Creator and contributor roles (a subset of DataCite contributorType plus author)."""

    author = "author"
    editor = "editor"
    translator = "translator"
    compiler = "compiler"
    interviewer = "interviewer"
    interviewee = "interviewee"
    speaker = "speaker"
    photographer = "photographer"
    director = "director"
    producer = "producer"
    supervisor = "supervisor"
    other = "other"


class Status(StrEnum):
    draft = "draft"
    published = "published"
    withdrawn = "withdrawn"


# -- licences -------------------------------------------------------------------------------------

_CC = re.compile(
    r"^https?://creativecommons\.org/"
    r"(?:licenses/(?P<kind>by|by-sa|by-nd|by-nc|by-nc-sa|by-nc-nd)/(?P<ver>1\.0|2\.0|2\.5|3\.0|4\.0)"
    r"(?:/(?P<port>[a-z]{2}(?:-[a-z]{2})?))?"
    r"|publicdomain/(?P<pd>zero|mark)/1\.0)/?(?:legalcode(?:\.[a-z]{2,3})?)?$"
)


def normalise_licence(uri: str) -> str:
    """A Creative Commons licence URI in canonical form; ``ValueError`` for anything else."""
    match = _CC.match(uri.strip())
    if not match:
        raise ValueError("must be a Creative Commons licence URI, e.g. https://creativecommons.org/licenses/by/4.0/")
    if match["pd"]:
        return f"https://creativecommons.org/publicdomain/{match['pd']}/1.0/"
    port = f"{match['port']}/" if match["port"] else ""
    return f"https://creativecommons.org/licenses/{match['kind']}/{match['ver']}/{port}"


def licence_label(uri: str) -> str:
    match = _CC.match(uri)
    if not match:
        return uri
    if match["pd"]:
        return "CC0 1.0" if match["pd"] == "zero" else "Public Domain Mark 1.0"
    return f"CC {match['kind'].upper()} {match['ver']}"


# -- languages (ISO 639-3) and countries (ISO 3166-1) -----------------------------------------------


@lru_cache(maxsize=4096)
def language(code: str) -> str:
    """A valid ISO 639-3 code (lower case); also accepts ISO 639-1 (``es`` → ``spa``)."""
    code = code.strip().lower()
    found = None
    if len(code) == 3:
        found = pycountry.languages.get(alpha_3=code)
    elif len(code) == 2:
        found = pycountry.languages.get(alpha_2=code)
    if found is None:
        raise ValueError(f"'{code}' is not an ISO 639-3 language code")
    return str(found.alpha_3)


@lru_cache(maxsize=4096)
def language_name(code: str) -> str:
    found = pycountry.languages.get(alpha_3=code)
    return str(found.name) if found else code


@lru_cache(maxsize=1024)
def country(code: str) -> str:
    """A valid ISO 3166-1 alpha-2 code (upper case); also accepts alpha-3."""
    code = code.strip().upper()
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if found is None and len(code) == 3:
        found = pycountry.countries.get(alpha_3=code)
    if found is None:
        raise ValueError(f"'{code}' is not an ISO 3166-1 country code")
    return str(found.alpha_2)


@lru_cache(maxsize=1024)
def country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code)
    return str(found.name) if found else code
