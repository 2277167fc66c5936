"""A deterministic synthetic corpus for tests and benchmarks (``repo demo --synthetic N --seed S``).

Realistic works of every type with Spanish, Portuguese, English and French metadata, spread over
member centres and nested collections (created when absent), about 2 % withdrawn and 5 % under
embargo, OAI datestamps spread over ten years. The fields the harvesting formats need appear in
their share of works: host journals with print and electronic ISSNs and ISSN-Ls (articles and
most reviews), chapters with their host books and editors, theses with supervisors and granting
institutions, conferences (papers and lectures, some in proceedings), funders with Crossref
Funder IDs or ROR ids and awards, subjects from schemes with URIs, related identifiers. The same seed gives the same works (embargo ends are
counted from the day of generation, so they are always in the future).

Speed matters (a million works for the OAI benchmark), so works are written with bulk inserts
(``executemany``) in the caller's transaction, not through the deposit service one by one: there
are no revisions and no search outbox rows — run ``repo reindex`` to index a synthetic corpus.
Every metadata document is valid :class:`repo.works.schemas.Metadata` (identifiers carry real
check digits).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from functools import lru_cache
from itertools import accumulate
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from stdnum import isbn as stdnum_isbn
from stdnum.iso7064 import mod_11_2

from repo.centres.models import Collection, MemberCentre
from repo.context import Context
from repo.oai import tracking
from repo.ingest import matching
from repo.works import counts, identifiers
from repo.works.models import Work, work_collections
from repo.works.schemas import linking_issn
from repo.works.vocabularies import SUBJECT_SCHEMES, WorkType

BATCH = 5000
SPAN_START = datetime(2016, 1, 1, tzinfo=UTC)
SPAN_END = datetime(2026, 1, 1, tzinfo=UTC)

CENTRES = [
    ("flacso-ar", "Facultad Latinoamericana de Ciencias Sociales, Argentina", "AR"),
    ("cebrap", "Centro Brasileiro de Análise e Planejamento", "BR"),
    ("colmex", "El Colegio de México", "MX"),
    ("iep", "Instituto de Estudios Peruanos", "PE"),
    ("ird-fr", "Institut de recherche pour le développement", "FR"),
    ("cides-bo", "Postgrado en Ciencias del Desarrollo, Universidad Mayor de San Andrés", "BO"),
    ("clacso-cl", "Centro de Estudios Públicos de Chile", "CL"),
    ("cinep-co", "Centro de Investigación y Educación Popular", "CO"),
    ("flacso-ec", "Facultad Latinoamericana de Ciencias Sociales, Ecuador", "EC"),
    ("ciesu-uy", "Centro de Informaciones y Estudios del Uruguay", "UY"),
    ("cedla-nl", "Centre for Latin American Research and Documentation", "NL"),
    ("ipea-br", "Instituto de Pesquisa Econômica Aplicada", "BR"),
]

COLLECTIONS = [  # slug, name, parent slug
    ("biblioteca", "Biblioteca Virtual", None),
    ("libros", "Libros", "biblioteca"),
    ("colecciones-clacso", "Colecciones CLACSO", "libros"),
    ("documentos-trabajo", "Documentos de trabajo", "biblioteca"),
    ("revistas", "Revistas", "biblioteca"),
    ("critica-juridica", "Crítica Jurídica", "revistas"),
    ("cuadernos-sociales", "Cuadernos de Ciencias Sociales", "revistas"),
    ("multimedia", "Colecciones audiovisuales", None),
    ("conferencias", "Conferencias magistrales", "multimedia"),
    ("fotografia", "Archivo fotográfico", "multimedia"),
    ("tesis", "Tesis de posgrado", None),
    ("tesis-doctorales", "Tesis doctorales", "tesis"),
]

# (language, weight, title heads, topics, connectors, given names, family names, subjects, sentences)
LANGUAGES: dict[str, dict[str, Any]] = {
    "spa": {
        "weight": 45,
        "heads": ["Desigualdad y", "Políticas públicas de", "Movimientos sociales y", "Historia de",
                  "Estado y", "Memoria y", "Democracia y", "Economía política de", "Territorio y"],
        "topics": ["vivienda", "educación popular", "trabajo informal", "pueblos indígenas", "migración",
                   "salud pública", "género", "violencia política", "reforma agraria", "medio ambiente"],
        "places": ["en América Latina", "en el Cono Sur", "en México", "en los Andes", "en Centroamérica",
                   "en la Argentina contemporánea", "en el Caribe"],
        "given": ["María", "José", "Lucía", "Carlos", "Ana", "Jorge", "Rosa", "Diego", "Elena", "Martín"],
        "family": ["García", "Rodríguez", "Pérez", "Quispe", "Fernández", "López", "Mamani", "Torres",
                   "Ramírez", "Núñez", "Gutiérrez", "Sánchez"],
        "sentence": ["Este trabajo analiza {t} {p}.", "Se examinan las transformaciones recientes de {t}.",
                     "El estudio combina métodos cualitativos y cuantitativos.",
                     "Se discuten las implicaciones para la política social."],
    },
    "por": {
        "weight": 30,
        "heads": ["Desigualdade e", "Políticas de", "Movimentos sociais e", "História de", "Estado e",
                  "Trabalho e", "Democracia e"],
        "topics": ["moradia", "educação", "saúde indígena", "sindicalismo", "agricultura familiar",
                   "orçamento participativo", "violência urbana", "migração"],
        "places": ["no Brasil", "na Amazônia", "em São Paulo", "no Nordeste", "na América Latina"],
        "given": ["João", "Maria", "Ana", "Paulo", "Fernanda", "Lucas", "Beatriz", "Rafael"],
        "family": ["Silva", "Souza", "Oliveira", "Santos", "Pereira", "Costa", "Almeida", "Ribeiro"],
        "sentence": ["Este artigo analisa {t} {p}.", "Discutem-se as transformações recentes de {t}.",
                     "A pesquisa baseia-se em entrevistas e dados censitários."],
    },
    "eng": {
        "weight": 15,
        "heads": ["Inequality and", "The politics of", "Social movements and", "A history of",
                  "State capacity and", "Labour and"],
        "topics": ["housing", "popular education", "informal work", "indigenous rights", "migration",
                   "public health", "climate adaptation", "land reform"],
        "places": ["in Latin America", "in the Andes", "in Brazil", "in Mexico", "in the Southern Cone"],
        "given": ["John", "Sarah", "Michael", "Emily", "David", "Laura"],
        "family": ["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin"],
        "sentence": ["This paper examines {t} {p}.", "We review recent changes in {t}.",
                     "The study draws on survey data and fieldwork."],
    },
    "fra": {
        "weight": 10,
        "heads": ["Inégalités et", "Politiques de", "Mouvements sociaux et", "Histoire de", "État et"],
        "topics": ["logement", "éducation populaire", "travail informel", "droits autochtones", "migrations",
                   "santé publique"],
        "places": ["en Amérique latine", "dans les Andes", "au Brésil", "en Haïti", "au Mexique"],
        "given": ["Marie", "Jean", "Sophie", "Pierre", "Claire", "Luc"],
        "family": ["Martin", "Bernard", "Dubois", "Durand", "Lefebvre", "Moreau"],
        "sentence": ["Cet article analyse {t} {p}.", "Nous étudions les transformations récentes de {t}.",
                     "L'enquête repose sur des entretiens et des archives."],
    },
}
LANGUAGE_CODES = list(LANGUAGES)
LANGUAGE_WEIGHTS = list(accumulate(LANGUAGES[code]["weight"] for code in LANGUAGE_CODES))  # cumulative
TYPES = list(WorkType)
TYPE_WEIGHTS = list(accumulate([8, 5, 12, 20, 3, 5, 6, 4, 4, 3, 3, 4, 2, 2, 2, 2]))  # cumulative
ACCESS = ["open", "restricted", "metadata_only"]
ACCESS_WEIGHTS = list(accumulate([90, 5, 5]))
LICENCES = ["https://creativecommons.org/licenses/by/4.0/", "https://creativecommons.org/licenses/by-nc/4.0/",
            "https://creativecommons.org/licenses/by-nc-sa/4.0/", "https://creativecommons.org/licenses/by-nc-nd/4.0/",
            "https://creativecommons.org/licenses/by-sa/4.0/"]
COUNTRIES = ["AR", "BR", "MX", "PE", "BO", "CL", "CO", "EC", "UY", "PY", "VE", "CU", "HT", "FR", "ES"]
# title, ISSN (print), eISSN, ISSN-L when the journal declares one
JOURNALS = [("Crítica Jurídica", "0188-7653", None, None),
            ("Novos Estudos CEBRAP", "0101-3300", "1980-5403", "0101-3300"),
            ("Cuadernos de Ciencias Sociales", None, "1669-9084", None),
            ("Revista Andina", "0325-1837", "2007-8471", "2007-8471")]
VERSIONS = ["VoR", "AM", "SMUR", "AO"]
FUNDERS = [  # name, identifier (Crossref Funder ID or ROR), funding stream
    ("Agencia Nacional de Promoción Científica y Tecnológica", "10.13039/501100003074", "PICT"),
    ("Conselho Nacional de Desenvolvimento Científico e Tecnológico", "10.13039/501100003593", None),
    ("Agence Nationale de la Recherche", "https://ror.org/00rbzpz17", "AAPG"),
    ("European Commission", "10.13039/501100000780", "Horizon Europe"),
]
SCHEMES = [  # (scheme, code or term, value URI) for classified subjects
    ("JEL", "O54", None), ("JEL", "I32", None), ("JEL", "J46", None),
    ("UNESCO", "Educación popular", "http://vocabularies.unesco.org/thesaurus/concept4474"),
    ("LCSH", "Social movements", "http://id.loc.gov/authorities/subjects/sh85123405"),
    ("DDC", "305.8", None),
]
CONFERENCES = [  # name, acronym, place, country
    ("Conferencia Latinoamericana y Caribeña de Ciencias Sociales", "CLACSO", "Ciudad de México", "MX"),
    ("Congresso Brasileiro de Sociologia", "SBS", "Belém", "BR"),
    ("Congreso de la Asociación Latinoamericana de Sociología", "ALAS", "Lima", "PE"),
]
RELATIONS = [  # relation, identifier type, value pattern (work id)
    ("IsSupplementedBy", "DOI", "10.5555/data.{id}"), ("IsVersionOf", "Handle", "20.500.12345/{id}"),
    ("References", "URL", "https://example.org/fuentes/{id}"), ("IsPartOf", "ISBN", None),
]


@lru_cache(maxsize=1)
def _isbn_pool() -> tuple[str, ...]:
    """Valid ISBN-13s in the canonical hyphenated form the deposit service stores (hyphenating
    is slow, so a fixed pool is drawn from)."""
    rng, pool = random.Random(978), []
    for _ in range(997):
        digits = "978" + "".join(str(rng.randrange(10)) for _ in range(9))
        check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
        pool.append(str(stdnum_isbn.format(digits + str(check))))
    return tuple(pool)


def _isbn(rng: random.Random) -> str:
    return rng.choice(_isbn_pool())


def _orcid(rng: random.Random) -> str:
    digits = "0000000" + "".join(str(rng.randrange(10)) for _ in range(8))
    full = digits + mod_11_2.calc_check_digit(digits)
    return "-".join(full[i:i + 4] for i in range(0, 16, 4))


def _person(rng: random.Random, words: dict[str, Any], role: str = "author") -> dict[str, Any]:
    person: dict[str, Any] = {"family": rng.choice(words["family"]), "given": rng.choice(words["given"])}
    if rng.random() < 0.3:
        person["orcid"] = _orcid(rng)
    person["affiliations"] = []
    person["role"] = role
    return person


def metadata(rng: random.Random, work_type: WorkType, work_id: int) -> dict[str, Any]:
    """One valid metadata document (``Metadata``-shaped, ``exclude_none``)."""
    lang = rng.choices(LANGUAGE_CODES, cum_weights=LANGUAGE_WEIGHTS)[0]
    words = LANGUAGES[lang]
    topic, place = rng.choice(words["topics"]), rng.choice(words["places"])
    doc: dict[str, Any] = {
        "titles": [{"value": f"{rng.choice(words['heads'])} {topic} {place}", "lang": lang, "type": "main"}],
        "creators": [_person(rng, words, "speaker" if work_type == WorkType.lecture else "author")
                     for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4)))],
        "subjects": [{"value": t, "lang": lang} for t in rng.sample(words["topics"], rng.randint(1, 3))],
        "languages": [lang],
    }
    if lang != "eng" and rng.random() < 0.3:
        other = LANGUAGES["eng"]
        doc["titles"].append({"value": f"{rng.choice(other['heads'])} {rng.choice(other['topics'])}",
                              "lang": "eng", "type": "translated"})
    sentences = [s.format(t=topic, p=place) for s in rng.sample(words["sentence"], min(3, len(words["sentence"])))]
    doc["abstracts"] = [{"value": " ".join(sentences), "lang": lang}]
    year = rng.randint(1965, 2025)
    shape = rng.random()
    doc["publication_date"] = (str(year) if shape < 0.5 else f"{year}-{rng.randint(1, 12):02d}" if shape < 0.8
                               else f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
    if rng.random() < 0.8:
        doc["license"] = rng.choice(LICENCES)
    if rng.random() < 0.5:
        doc["countries"] = rng.sample(COUNTRIES, rng.randint(1, 3))
    if work_type == WorkType.journal_article or (work_type == WorkType.review and rng.random() < 0.8):
        title, issn, eissn, issn_l = rng.choice(JOURNALS)
        start = rng.randint(1, 300)
        journal = {"title": title, "issn": issn, "eissn": eissn, "issn_l": issn_l, "volume": str(rng.randint(1, 40)),
                   "issue": str(rng.randint(1, 4)), "pages": {"start": str(start), "end": str(start + rng.randint(5, 30))}}
        doc["journal"] = {key: value for key, value in journal.items() if value is not None}
        doc["version"] = rng.choice(VERSIONS)
        if rng.random() < 0.6:
            doc["doi"] = f"10.5555/syn.{work_id}"
    elif work_type in (WorkType.book, WorkType.book_part):
        doc["publisher"] = rng.choice(["CLACSO", "Siglo XXI", "IRD Éditions", "Editora FGV", "IEP"])
        doc["place"] = rng.choice(["Buenos Aires", "Ciudad de México", "Lima", "São Paulo", "Marseille"])
        if work_type == WorkType.book:
            doc["isbn"] = [_isbn(rng)]
            doc["extent"] = {"pages": rng.randint(80, 600)}
            if rng.random() < 0.2:
                doc["edition"] = rng.choice(["2a ed.", "2nd ed.", "3a ed. revisada"])
        else:
            start = rng.randint(1, 300)
            editors = [_person(rng, words, "editor") for _ in range(rng.choice((0, 1, 2)))]
            doc["book"] = {"title": f"{rng.choice(words['heads'])} {rng.choice(words['topics'])}",
                           "isbn": _isbn(rng), "editors": editors,
                           "pages": {"start": str(start), "end": str(start + rng.randint(10, 40))}}
    elif work_type == WorkType.working_paper:
        doc["series"] = {"title": "Documentos de trabajo", "number": str(rng.randint(1, 400))}
    elif work_type in (WorkType.lecture, WorkType.sound, WorkType.video):
        doc["extent"] = {"duration": f"PT{rng.randint(0, 2)}H{rng.randint(1, 59)}M"}
    elif work_type in (WorkType.doctoral_thesis, WorkType.master_thesis, WorkType.bachelor_thesis):
        doc["contributors"] = [_person(rng, words, "supervisor")]
        doc["publisher"] = rng.choice(["FLACSO Argentina", "Universidade de São Paulo", "El Colegio de México"])
    elif work_type == WorkType.preprint and rng.random() < 0.7:
        doc["version"] = rng.choice(["AO", "SMUR"])
    if work_type in (WorkType.conference_paper, WorkType.lecture) and rng.random() < 0.8:
        name, acronym, city, country_code = rng.choice(CONFERENCES)
        start_day = date(min(year, 2025), rng.randint(1, 12), rng.randint(1, 25))
        doc["conference"] = {"name": name, "acronym": acronym, "number": str(rng.randint(1, 30)), "place": city,
                             "country": country_code, "start": start_day.isoformat(),
                             "end": (start_day + timedelta(days=rng.randint(0, 3))).isoformat()}
        if work_type == WorkType.conference_paper and rng.random() < 0.4:
            doc["book"] = {"title": f"Actas: {name}", "isbn": _isbn(rng), "editors": [],
                           "pages": {"start": str(rng.randint(1, 200))}}
    if rng.random() < 0.1:
        funder, funder_id, stream = rng.choice(FUNDERS)
        award = f"{stream or 'PROJ'}-{year}-{rng.randint(1000, 9999)}"
        funding = {"funder": funder, "funder_id": identifiers.funder(funder_id), "funding_stream": stream,
                   "award_number": award, "award_title": f"{topic.capitalize()} {place}" if rng.random() < 0.5 else None}
        doc["funding"] = [{key: value for key, value in funding.items() if value is not None}]
    if rng.random() < 0.15:
        scheme, value, value_uri = rng.choice(SCHEMES)
        known = SUBJECT_SCHEMES[scheme.lower()]
        subject = {"value": value, "scheme": known.name, "scheme_uri": known.uri}
        doc["subjects"].append(subject | ({"uri": value_uri} if value_uri else {}))
    if rng.random() < 0.08:
        relation, kind, pattern = rng.choice(RELATIONS)
        doc["related_identifiers"] = [{"identifier": pattern.format(id=work_id) if pattern else _isbn(rng),
                                       "type": kind, "relation": relation}]
    # exactly the shape the deposit service stores (model_dump(mode="json", exclude_none=True))
    return {key: doc.get(key, []) for key in _LISTS} | {k: v for k, v in doc.items() if k not in _LISTS}


_LISTS = ("titles", "abstracts", "creators", "contributors", "subjects", "languages", "isbn", "urls",
          "related_identifiers", "funding", "countries")


def _ensure_structure(ctx: Context) -> tuple[list[int], list[int]]:
    """Centre and collection ids, creating the synthetic ones that are missing."""
    session, now = ctx.session, ctx.now
    for slug, name, country in CENTRES:
        if session.scalar(sa.select(MemberCentre.id).where(MemberCentre.slug == slug)) is None:
            session.add(MemberCentre(slug=slug, name=name, country=country, created_at=now, updated_at=now))
    session.flush()
    for slug, name, parent in COLLECTIONS:
        if session.scalar(sa.select(Collection.id).where(Collection.slug == slug)) is None:
            parent_row = session.scalar(sa.select(Collection).where(Collection.slug == parent)) if parent else None
            path = f"{parent_row.path}:{slug}" if parent_row else slug
            session.add(Collection(slug=slug, path=path, name=name, parent_id=parent_row.id if parent_row else None,
                                   created_at=now, updated_at=now))
            session.flush()
    centre_ids = list(session.scalars(sa.select(MemberCentre.id).where(
        MemberCentre.slug.in_([c[0] for c in CENTRES])).order_by(MemberCentre.slug)))
    collection_ids = list(session.scalars(sa.select(Collection.id).where(
        Collection.slug.in_([c[0] for c in COLLECTIONS])).order_by(Collection.slug)))
    return centre_ids, collection_ids


def _rows(rng: random.Random, count: int, first_id: int, centre_ids: list[int], collection_ids: list[int],
          now: datetime) -> Iterator[tuple[dict[str, Any], list[int]]]:
    end = min(SPAN_END, now)
    span = max(1, int((end - SPAN_START).total_seconds()))
    today = now.date()
    for offset in range(count):
        work_id = first_id + offset
        work_type = rng.choices(TYPES, cum_weights=TYPE_WEIGHTS)[0]
        doc = metadata(rng, work_type, work_id)
        datestamp = SPAN_START + timedelta(seconds=rng.randrange(span))
        created = datestamp - timedelta(days=rng.randint(0, 60))
        fate = rng.random()
        access, embargo_end = rng.choices(ACCESS, cum_weights=ACCESS_WEIGHTS)[0], None
        if fate < 0.05:
            access, embargo_end = "embargoed", today + timedelta(days=rng.randint(30, 3 * 365))
        withdrawn = 0.05 <= fate < 0.07
        row = {
            "id": work_id, "status": "withdrawn" if withdrawn else "published", "type": work_type.value,
            "centre_id": rng.choice(centre_ids), "access_right": access, "embargo_end": embargo_end,
            "embargo_pending": embargo_end is not None, "publication_year": int(doc["publication_date"][:4]),
            "metadata": doc, "issn_l": linking_issn(doc.get("journal")), "main_file": None,
            "version": 2, "created_at": created, "updated_at": datestamp,
            "published_at": datestamp if not withdrawn else created, "withdrawn_at": datestamp if withdrawn else None,
            "withdrawal_reason": "Duplicate deposit." if withdrawn else None, "datestamp": datestamp,
        }
        memberships = rng.sample(collection_ids, rng.choice((0, 1, 1, 1, 2)))
        yield row, memberships


def generate(ctx: Context, count: int, *, seed: int = 1, console: Any = None) -> int:
    """Insert ``count`` synthetic works in ``ctx.session`` (not committed here); return ``count``."""
    if count < 0:
        raise ValueError("count must be >= 0")
    session = ctx.session
    centre_ids, collection_ids = _ensure_structure(ctx)
    first_id = (session.scalar(sa.select(sa.func.max(Work.id))) or 0) + 1
    rng = random.Random(seed)
    progress = None
    if console is not None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        progress = Progress(TextColumn("synthetic works"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=console, transient=False)
        progress.start()
        task = progress.add_task("works", total=count)
    try:
        works: list[dict[str, Any]] = []
        links: list[dict[str, int]] = []
        for row, memberships in _rows(rng, count, first_id, centre_ids, collection_ids, ctx.now):
            works.append(row)
            links.extend({"work_id": row["id"], "collection_id": c} for c in memberships)
            if len(works) >= BATCH:
                _flush(session, works, links)
                if progress is not None:
                    progress.advance(task, len(works))
                works, links = [], []
        if works:
            _flush(session, works, links)
            if progress is not None:
                progress.advance(task, len(works))
    finally:
        if progress is not None:
            progress.stop()
    if session.get_bind().dialect.name == "postgresql":
        # Explicit ids do not move the sequence: move it past them, or the next deposit collides.
        session.execute(sa.text("SELECT setval(pg_get_serial_sequence('works', 'id'), "
                                "(SELECT coalesce(max(id), 1) FROM works))"))
    counts.recount(session)  # the rows went in by Core, past the ORM listeners that keep them
    tracking.recount(session)
    matching.rebuild(session)  # likewise the identifier index of duplicate matching
    return count


def _flush(session: Any, works: list[dict[str, Any]], links: list[dict[str, int]]) -> None:
    session.execute(sa.insert(Work.__table__), works)  # Core executemany: no ORM bookkeeping
    if links:
        session.execute(sa.insert(work_collections), links)


__all__ = ["generate", "metadata", "date"]
