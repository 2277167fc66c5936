"""What every mapping needs: the inverse of our vocabularies (DRIVER/info:eu-repo, COAR), dates,
names, languages, countries and identifiers as other repositories write them, and a place for the
values that do not fit (:class:`Draft`).

Each function takes a source string and returns our value or ``None``; nothing here raises on bad
input. What a mapping cannot place goes to :meth:`Draft.unmapped` with the reason, so it is kept in
the work's source metadata and never dropped silently.
"""

from __future__ import annotations

import calendar
import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pycountry

from repo.works import identifiers
from repo.works.vocabularies import (
    ACCESS_RIGHTS,
    COAR_ACCESS,
    COAR_TYPE,
    COAR_VERSION,
    EU_REPO,
    VERSIONS,
    WORK_TYPES,
    AccessRight,
    Version,
    WorkType,
    normalise_licence,
)
from repo.works.vocabularies import country as iso_country
from repo.works.vocabularies import language as iso_language

MAX_UNMAPPED = 200  # values kept per record (a hostile record could carry thousands)
MAX_VALUE = 2000  # characters kept of each


@dataclass
class Draft:
    """A record being mapped: the deposit-record fields found so far and what did not fit."""

    type: str | None = None
    access_right: str | None = None
    embargo_end: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    unmapped_values: list[dict[str, str]] = field(default_factory=list)

    def unmapped(self, name: str, value: str, reason: str) -> None:
        if len(self.unmapped_values) < MAX_UNMAPPED:
            self.unmapped_values.append({"field": name, "value": value[:MAX_VALUE], "reason": reason})

    def append(self, key: str, value: Any) -> None:
        self.metadata.setdefault(key, []).append(value)

    def record(self) -> dict[str, Any]:
        """The draft in the shape of ``WorkIn`` (without centre and collections)."""
        record: dict[str, Any] = {"metadata": self.metadata}
        for key in ("type", "access_right", "embargo_end"):
            if getattr(self, key) is not None:
                record[key] = getattr(self, key)
        return record


# -- text ------------------------------------------------------------------------------------------

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_HIDDEN = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_SPACE = re.compile(r"\s+")


def plain(value: str | None) -> tuple[str, bool]:
    """Text without markup: HTML tags removed (script and style with their content), HTML
    entities decoded, white space collapsed. Returns ``(text, changed)``: many repositories put
    ``<i>…</i>`` or ``&amp;eacute;`` in titles; we store plain text (and escape it on output)."""
    if not value:
        return "", False
    if "<" not in value and "&" not in value:  # the common case: nothing to take out
        return value.strip(), False
    text = value
    if "<" in text and _TAG.search(text):
        text = _TAG.sub(" ", _HIDDEN.sub(" ", text))
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    text = _SPACE.sub(" ", text).strip()
    return text, text != value.strip()


# -- dates -----------------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")


def partial_date(value: str) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` from a date as repositories write them (a time part
    is dropped); ``None`` for anything else, including dates that do not exist (2021-02-30)."""
    match = _DATE.fullmatch(value.strip())
    if not match:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    if not 1000 <= year <= 2999:  # type: ignore[operator]
        return None
    if month is not None and not 1 <= month <= 12:
        return None
    if day is not None and not 1 <= day <= calendar.monthrange(year, month)[1]:  # type: ignore[arg-type]
        return None
    return "-".join(g for g in match.groups() if g)


# -- vocabularies (the inverse of what our crosswalks write) ----------------------------------------

_DRIVER_TYPES: dict[str, WorkType] = {}
for _key, _info in WORK_TYPES.items():
    _DRIVER_TYPES.setdefault(_info.driver.lower(), _key)  # "other" maps to other (first of them)
_DRIVER_TYPES["other"] = WorkType.other
_DRIVER_TYPES.update({"doctoralthesis": WorkType.doctoral_thesis, "masterthesis": WorkType.master_thesis,
                      "bachelorthesis": WorkType.bachelor_thesis, "conferenceobject": WorkType.conference_paper,
                      "conferencepaper": WorkType.conference_paper, "contributiontoperiodical": WorkType.journal_article})
_COAR_TYPES = {info.coar: key for key, info in WORK_TYPES.items()}
_COAR_TYPES.update({"c_2df8fbb1": WorkType.journal_article, "c_dcae04bc": WorkType.review,
                    "c_ba08": WorkType.review, "c_f744": WorkType.conference_paper, "c_c94f": WorkType.conference_paper,
                    "c_46ec": WorkType.other})
# Plain words (English, Spanish, Portuguese, French) that repositories put in dc:type.
_TYPE_WORDS: dict[str, WorkType] = {
    **{w: WorkType.journal_article for w in ("article", "journal article", "artículo", "articulo", "artigo",
                                              "article de revue", "research article", "artículo de revista")},
    **{w: WorkType.book for w in ("book", "libro", "livro", "livre", "monograph", "monografía")},
    **{w: WorkType.book_part for w in ("book part", "book chapter", "chapter", "capítulo", "capítulo de libro",
                                        "capítulo de livro", "chapitre", "part of book")},
    **{w: WorkType.working_paper for w in ("working paper", "documento de trabajo", "documento de trabalho",
                                            "texto para discussão", "document de travail")},
    **{w: WorkType.report for w in ("report", "informe", "relatório", "rapport", "technical report")},
    **{w: WorkType.doctoral_thesis for w in ("doctoral thesis", "phd thesis", "tesis doctoral", "tese de doutorado",
                                              "tese", "thèse")},
    **{w: WorkType.master_thesis for w in ("master thesis", "masters thesis", "master's thesis", "tesis de maestría",
                                            "dissertação", "dissertação de mestrado", "mémoire")},
    **{w: WorkType.bachelor_thesis for w in ("bachelor thesis", "tesis de licenciatura", "trabajo de grado",
                                              "trabalho de conclusão de curso", "tcc")},
    **{w: WorkType.conference_paper for w in ("conference paper", "conference object", "ponencia", "comunicação",
                                               "proceedings paper", "conference proceedings")},
    **{w: WorkType.preprint for w in ("preprint", "pre-print")},
    **{w: WorkType.review for w in ("review", "book review", "reseña", "resenha", "compte rendu")},
    **{w: WorkType.lecture for w in ("lecture", "clase", "aula", "conferencia magistral")},
    **{w: WorkType.sound for w in ("sound", "audio", "podcast")},
    **{w: WorkType.video for w in ("video", "moving image", "vídeo", "film")},
    **{w: WorkType.image for w in ("image", "still image", "imagen", "imagem", "photograph", "fotografía")},
}
_DRIVER_VERSIONS = {"draft": Version.AO, "submittedversion": Version.SMUR, "acceptedversion": Version.AM,
                    "publishedversion": Version.VoR, "updatedversion": Version.CVoR}
_COAR_VERSIONS = {coar: key for key, (coar, _, _) in VERSIONS.items()}
_DRIVER_ACCESS = {info.driver.lower(): key for key, info in ACCESS_RIGHTS.items()}
_COAR_ACCESS = {info.coar: key for key, info in ACCESS_RIGHTS.items()}
_ACCESS_WORDS = {"open access": AccessRight.open, "acceso abierto": AccessRight.open,
                 "acesso aberto": AccessRight.open, "embargoed access": AccessRight.embargoed,
                 "restricted access": AccessRight.restricted, "closed access": AccessRight.metadata_only,
                 "metadata only access": AccessRight.metadata_only}


def _term(value: str, prefix: str) -> str | None:
    value = value.strip()
    return value[len(prefix):].strip("/").lower() if value.lower().startswith(prefix.lower()) else None


@lru_cache(maxsize=1024)
def work_type(value: str) -> WorkType | None:
    """A type from an ``info:eu-repo/semantics/*`` term, a COAR resource type URI or a plain word."""
    if (term := _term(value, EU_REPO)) is not None:
        return _DRIVER_TYPES.get(term)
    if (term := _term(value, COAR_TYPE)) is not None:
        return _COAR_TYPES.get(term)
    return _TYPE_WORDS.get(_SPACE.sub(" ", value.strip().lower()))


def version(value: str) -> Version | None:
    """A COAR version from an ``info:eu-repo/semantics/*Version`` term or a COAR version URI."""
    if (term := _term(value, EU_REPO)) is not None:
        return _DRIVER_VERSIONS.get(term)
    if (term := _term(value, COAR_VERSION)) is not None:
        return _COAR_VERSIONS.get(term)
    return None


@lru_cache(maxsize=1024)
def access_right(value: str) -> AccessRight | None:
    """An access right from an ``info:eu-repo/semantics/*Access`` term, a COAR URI or plain words."""
    if (term := _term(value, EU_REPO)) is not None:
        return _DRIVER_ACCESS.get(term)
    if (term := _term(value, COAR_ACCESS)) is not None:
        return _COAR_ACCESS.get(term)
    return _ACCESS_WORDS.get(value.strip().lower())


def licence(value: str) -> str | None:
    try:
        return normalise_licence(value)
    except ValueError:
        return None


EMBARGO_END = "info:eu-repo/date/embargoEnd/"


# -- names, languages, countries ---------------------------------------------------------------------

def person(value: str) -> dict[str, str] | None:
    """``Family, Given`` as name parts; anything without a comma as a name (often an organisation)."""
    text, _ = plain(value)
    if not text:
        return None
    family, comma, given = text.partition(",")
    if comma and family.strip():
        found = {"family": family.strip()[:2000]}
        if given.strip():
            found["given"] = given.strip()[:2000]
        return found
    return {"name": text[:2000]}


_LANGUAGE_NAMES = {
    "español": "spa", "espanol": "spa", "castellano": "spa", "spanish": "spa", "espanhol": "spa",
    "português": "por", "portugues": "por", "portugués": "por", "portuguese": "por",
    "english": "eng", "inglés": "eng", "ingles": "eng", "inglês": "eng", "anglais": "eng",
    "français": "fra", "francais": "fra", "francés": "fra", "frances": "fra", "francês": "fra", "french": "fra",
}


@lru_cache(maxsize=4096)
def language(value: str) -> str | None:
    """An ISO 639-3 code from ``spa``, ``es``, ``es_ES``, ``pt-BR``, ``Español``, ``Spanish``…"""
    text = value.strip()
    if not text:
        return None
    code = re.split(r"[-_]", text, maxsplit=1)[0]
    if code.isascii() and code.isalpha() and len(code) in (2, 3):
        try:
            return iso_language(code)
        except ValueError:
            return None
    if found := _LANGUAGE_NAMES.get(text.lower()):
        return found
    try:
        return str(pycountry.languages.lookup(text).alpha_3)
    except LookupError:
        return None


@lru_cache(maxsize=4096)
def country(value: str) -> str | None:
    """An ISO 3166-1 alpha-2 code from a code or a country name (``Argentina``, ``BRA``)."""
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isalpha() and len(text) in (2, 3):
        try:
            return iso_country(text)
        except ValueError:
            pass
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return _localised_countries().get(text.casefold())


@lru_cache(maxsize=1)
def _localised_countries() -> dict[str, str]:
    """Country names in Spanish, Portuguese and French (pycountry's translations) → alpha-2."""
    import gettext

    names: dict[str, str] = {}
    for locale in ("es", "pt", "pt_BR", "fr"):
        try:
            translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale])
        except OSError:
            continue
        for entry in pycountry.countries:
            for name in (entry.name, getattr(entry, "common_name", None), getattr(entry, "official_name", None)):
                if name:
                    names.setdefault(translation.gettext(name).casefold(), entry.alpha_2)
    return names


# -- identifiers -------------------------------------------------------------------------------------

_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?(10\.\d{4,9}/\S+)$", re.I)
_HANDLE = re.compile(r"^(?:https?://hdl\.handle\.net/|hdl:\s*)(\d[\d.]*/\S+)$", re.I)
_ISBN = re.compile(r"^(?:urn:isbn:|isbn:?\s*)([\dXx -]{10,17})$", re.I)
_ISSN = re.compile(r"^(?:urn:issn:|issn:?\s*)(\d{4}-?\d{3}[\dXx])$", re.I)
_URL = re.compile(r"^https?://[^\s<>\"]+$", re.I)


def classify_identifier(value: str) -> tuple[str, str] | None:
    """``(scheme, canonical value)`` for a DOI, handle, ISBN, ISSN or URL written any common way."""
    text = value.strip()
    for scheme, pattern, canonical in (("doi", _DOI, identifiers.doi), ("handle", _HANDLE, identifiers.handle),
                                       ("isbn", _ISBN, identifiers.isbn), ("issn", _ISSN, identifiers.issn)):
        if match := pattern.match(text):
            try:
                return scheme, canonical(match[1].strip())
            except ValueError:
                return None
    if _URL.match(text) and len(text) <= 2000:
        return "url", text
    return None


def canonical(scheme: str, value: str) -> str | None:
    """An identifier given with its scheme (``altIdentifier/isbn/…``) in canonical form."""
    check = {"doi": identifiers.doi, "handle": identifiers.handle, "isbn": identifiers.isbn,
             "issn": identifiers.issn, "eissn": identifiers.issn}.get(scheme)
    if check is None:
        return value if scheme == "url" and _URL.match(value) else None
    try:
        return check(value)
    except ValueError:
        return None


# -- citations (dc:source) -------------------------------------------------------------------------

_VOLUME = re.compile(r"^(?:Vol\.\s*(?P<volume>[^,]+?))?(?:,?\s*No\.\s*(?P<issue>.+?))?"
                     r"(?:\s*\((?P<year>\d{4})\))?(?::\s*(?P<pages>\S+))?$")
_TAIL = re.compile(r"^(?P<title>.+?)\s*\((?P<year>\d{4})\)(?::\s*(?P<pages>\S+))?$")


def pages(value: str | None) -> dict[str, str] | None:
    if not value:
        return None
    start, _, end = value.partition("-")
    found = {k: v.strip() for k, v in (("start", start), ("end", end)) if v.strip()}
    return found or None


def journal_citation(value: str) -> dict[str, Any] | None:
    """The host journal from a citation like ``Title; Vol. 18, No. 2 (2022): 45-71; ISSN 0188-7653``
    (what DRIVER's dc:source holds, and what our oai_dc writes)."""
    parts = [p.strip() for p in value.split(";")]
    title, journal = parts[0], {}
    if not title:
        return None
    issue_part = None
    for part in parts[1:]:
        upper = part.upper()
        if upper.startswith("EISSN "):
            journal["eissn"] = part[6:].strip()
        elif upper.startswith("ISSN "):
            journal["issn"] = part[5:].strip()
        elif issue_part is None and (match := _VOLUME.match(part)) and any(match.groupdict().values()):
            issue_part = match
        else:
            return None  # not a citation we can read
    if issue_part is None and (match := _TAIL.match(title)):
        title, issue_part = match["title"], match
    if issue_part is not None:
        groups = issue_part.groupdict()
        for key in ("volume", "issue"):
            if groups.get(key):
                journal[key] = groups[key].strip()
        if found := pages(groups.get("pages")):
            journal["pages"] = found
    journal["title"] = title
    if len(journal) == 1 and not any(w in value for w in ("Vol.", "No.", "ISSN")):
        return None  # a bare title: not enough to call it a journal
    return journal


def book_citation(value: str) -> dict[str, Any]:
    """The host book of a chapter from ``Book title: 12-30`` (our oai_dc's dc:source of a book part)."""
    title, sep, tail = value.rpartition(": ")
    if sep and re.fullmatch(r"\d+(?:-\d+)?", tail.strip()):
        book: dict[str, Any] = {"title": title.strip()}
        if found := pages(tail.strip()):
            book["pages"] = found
        return book
    return {"title": value.strip()}
