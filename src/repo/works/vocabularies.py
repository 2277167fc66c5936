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
