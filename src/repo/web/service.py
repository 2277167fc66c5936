"""Page data of the reading room, assembled from SQL (never from the search index).

Every query goes through the public-record rule of :mod:`repo.works.visibility`: drafts do not
exist for readers, withdrawn works are tombstones. Lists are built with a fixed number of
queries whatever their length (no N+1), on indexed columns.
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from repo.centres.models import Collection, MemberCentre
from repo.context import Context
from repo.errors import Gone, NotFound
from repo.files.models import File
from repo.web import exports
from repo.web.cache import data_version
from repo.web.record import Record, build
from repo.works import counts, repository, visibility
from repo.works.models import Work, work_collections
from repo.works.vocabularies import Status

PAGE_SIZE = 20
FEED_SIZE = 50  # entries of an Atom feed
MAX_ID = repository.MAX_ID  # work ids are 64-bit
MAX_PAGE = 10_000
LATEST = 10


class WorkWithdrawn(Gone):
    """410 with the tombstone page: what was withdrawn (its citation), when and why."""

    def __init__(self, work: Work, url: str, record: Record) -> None:
        super().__init__(f"This work was withdrawn: {work.withdrawal_reason}",
                         headers={"Link": exports.link_header(exports.tombstone_signposting(url))})
        self.page_context = {"tombstone": work, "url": url, "record": record}


def parse_id(raw: str) -> int | None:
    """A work id from a URL segment; None for anything that is not one (→ 404, never 500)."""
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_ID:
        return None  # beyond the id column (64-bit) nothing can exist
    return int(raw)


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def parse_slug(raw: str, what: str) -> str:
    """A centre or collection slug from a URL segment; 404 for anything that cannot be one."""
    if not _SLUG.match(raw):
        raise NotFound(f"No {what} '{raw[:64]}'.")
    return raw


def parse_page(raw: str | None) -> int:
    """A page number from the query string: garbage or < 1 reads as 1; capped far above any list."""
    try:
        page = int(raw) if raw is not None else 1
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


# -- landing page ---------------------------------------------------------------------------------


def record(ctx: Context, raw_id: str) -> Record:
    """The public record of a work: 404 for unknown ids and drafts, 410 for withdrawn works."""
    work_id = parse_id(raw_id)
    work = ctx.session.scalar(sa.select(Work).where(Work.id == work_id)) if work_id is not None else None
    if work is None or work.status == Status.draft:
        raise NotFound(f"No work {raw_id[:40]}.")
    url = f"{ctx.settings.base_url}/works/{work.id}"
    if work.status == Status.withdrawn:  # the tombstone cites what was withdrawn, and links to no file
        raise WorkWithdrawn(work, url, build(work, [], ctx.settings.base_url, ctx.now))
    files = ctx.session.scalars(sa.select(File).options(sa.orm.defer(File.text))  # the text can be megabytes
                                .where(File.work_id == work.id).order_by(File.name)).all()
    return build(work, list(files), ctx.settings.base_url, ctx.now)


# -- lists ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """One line of a list of works, in the reader's language where the metadata allows."""

    id: int
    title: str
    title_lang: str | None
    authors: list[str]
    more_authors: bool
    year: int | None
    type: str | None
    centre: str
    access: str | None
    embargo_end: Any
    thumbnail: str | None = None


def title_in(doc: dict[str, Any], lang3: str) -> tuple[str | None, str | None]:
    """(title, its language): the title in ``lang3`` when the record has one, else the main title."""
    titles = [t for t in (doc or {}).get("titles", []) if isinstance(t, dict)]
    chosen = next((t for t in titles if t.get("lang") == lang3), None) or next(
        (t for t in titles if t.get("type", "main") == "main"), titles[0] if titles else {})
    value = chosen.get("value")
    return (str(value) if value else None), chosen.get("lang")


def summary(work: Work, lang3: str, ctx: Context, thumbnail: str | None = None) -> Summary:
    doc = work.doc or {}
    title, title_lang = title_in(doc, lang3)
    creators = [c for c in doc.get("creators", []) if isinstance(c, dict)]
    names = [c.get("family") and (f"{c['family']}, {c['given']}" if c.get("given") else c["family"]) or
             c.get("name", "") for c in creators[:3]]
    return Summary(
        id=work.id, title=title or f"#{work.id}", title_lang=title_lang,
        authors=names, more_authors=len(creators) > 3, year=work.publication_year, type=work.type,
        centre=work.centre.name, access=visibility.effective_access(work.access_right, work.embargo_end, ctx.now),
        embargo_end=work.embargo_end, thumbnail=thumbnail,
    )


def thumbnails(ctx: Context, works: list[Work]) -> dict[int, str]:
    """A small picture for each listed work that has one the public may see now (one query for
    the whole list): the thumbnail derived from its main or first file that has one (a PDF's first
    page, a picture made small by extraction). Never a picture itself: no list ships a photograph's
    megabytes, nor a picture extraction has not read (a decompression bomb)."""
    by_id = {w.id: w for w in works}
    if not by_id:
        return {}
    rows = ctx.session.scalars(sa.select(File).options(sa.orm.load_only(
        File.work_id, File.name, File.media_type, File.size, File.has_thumbnail, File.access_right,
        File.embargo_end)).where(File.work_id.in_(by_id), File.has_thumbnail).order_by(File.work_id, File.name)).all()
    found: dict[int, str] = {}
    for file in rows:
        work = by_id[file.work_id]
        main = getattr(work, "main_file", None)
        if (file.work_id in found and file.name != main) or not visibility.file_is_open(work, file, ctx.now):
            continue
        found[file.work_id] = f"{ctx.settings.base_url}/works/{work.id}/files/{quote(file.name, safe='')}/thumbnail"
    return found


def summaries(ctx: Context, works: list[Work], lang3: str) -> list[Summary]:
    pictures = thumbnails(ctx, works)
    return [summary(w, lang3, ctx, pictures.get(w.id)) for w in works]


def _newest(query: sa.Select[Any]) -> sa.Select[Any]:
    return query.order_by(Work.published_at.desc(), Work.id.desc())


def latest(ctx: Context, lang3: str, limit: int = LATEST, condition: Any = None) -> list[Summary]:
    query = sa.select(Work).where(visibility.public_record())
    if condition is not None:
        query = query.where(condition)
    works = ctx.session.scalars(_newest(query).limit(limit)).all()
    return summaries(ctx, list(works), lang3)


@dataclass
class Listing:
    items: list[Summary]
    total: int
    page: int
    pages: int


def listing(ctx: Context, condition: Any, lang3: str, raw_page: str | None, *, total: int | None = None) -> Listing:
    """A numbered page of the public works matching ``condition``, newest first (``total``: the
    number of matches when the caller knows it from the memoised counts)."""
    page = parse_page(raw_page)
    base = sa.select(Work).where(visibility.public_record(), condition)
    if total is None:
        total = ctx.session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:
        raise NotFound(f"There is no page {page}; the last is {pages}.")
    works = ctx.session.scalars(_newest(base).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return Listing(summaries(ctx, list(works), lang3), total, page, pages)


# -- home ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CentreCount:
    slug: str
    name: str
    country: str | None
    count: int


@dataclass(frozen=True)
class CollectionCount:
    slug: str
    name: str
    path: str
    depth: int
    count: int


@dataclass
class Home:
    total: int
    latest: list[Summary]
    centres: list[CentreCount]
    collections: list[CollectionCount]
    types: list[tuple[str, int]]
    years: list[tuple[int, int]]


def _all_collection_counts(ctx: Context) -> list[CollectionCount]:
    """Every collection with its number of public works, each work counted once however deep in
    its subtree it sits (counter rows kept by :mod:`repo.works.counts`)."""
    totals = counts.read(ctx.session, "collection")
    rows = ctx.session.execute(sa.select(Collection.slug, Collection.name, Collection.path)
                               .order_by(Collection.path)).all()
    return [CollectionCount(slug, name, path, path.count(":"), totals.get(path, 0)) for slug, name, path in rows]


def collection_counts(ctx: Context, root: Collection | None = None) -> list[CollectionCount]:
    """The counted collections under ``root`` (all of them without one), depth relative to it."""
    everything = _all_collection_counts(ctx)
    if root is None:
        return everything
    base = root.path.count(":") + 1
    return [CollectionCount(c.slug, c.name, c.path, c.depth - base, c.count)
            for c in everything if c.path.startswith(root.path + ":")]


def centre_counts(ctx: Context) -> list[CentreCount]:
    """Every member centre with its number of public works, by name."""
    totals = counts.read(ctx.session, "centre")
    rows = ctx.session.execute(sa.select(MemberCentre.id, MemberCentre.slug, MemberCentre.name,
                                         MemberCentre.country).order_by(MemberCentre.name)).all()
    return [CentreCount(slug, name, country, totals.get(str(id_), 0)) for id_, slug, name, country in rows]


YEARS_SHOWN = 12


def _facet_counts(ctx: Context) -> tuple[int, list[tuple[str, int]], list[tuple[int, int]]]:
    """(public works, works per type by count, works per year for the newest years)."""
    total = counts.read(ctx.session, "total").get("", 0)
    types = sorted(counts.read(ctx.session, "type").items(), key=lambda kv: (-kv[1], kv[0]))
    years = sorted(((int(y), n) for y, n in counts.read(ctx.session, "year").items()), reverse=True)
    return total, types, years[:YEARS_SHOWN]


def home(ctx: Context, lang3: str) -> Home:
    total, types, years = _facet_counts(ctx)
    centres = sorted((c for c in centre_counts(ctx) if c.count), key=lambda c: (-c.count, c.name))
    return Home(
        total=total,
        latest=latest(ctx, lang3),
        centres=centres,
        collections=[c for c in collection_counts(ctx) if c.count],
        types=types,
        years=years,
    )


# -- centres and collections ----------------------------------------------------------------------------


def centres(ctx: Context) -> list[CentreCount]:
    return centre_counts(ctx)


def centre(ctx: Context, slug: str, lang3: str, raw_page: str | None) -> dict[str, Any]:
    found = ctx.session.scalar(sa.select(MemberCentre).where(MemberCentre.slug == parse_slug(slug, "member centre")))
    if found is None:
        raise NotFound(f"No member centre '{slug[:64]}'.")
    collections = ctx.session.scalars(
        sa.select(Collection).where(Collection.centre_id == found.id).order_by(Collection.path)).all()
    total = next((c.count for c in centre_counts(ctx) if c.slug == found.slug), 0)
    return {"centre": found, "collections": collections,
            "listing": listing(ctx, Work.centre_id == found.id, lang3, raw_page, total=total)}


def collection_by_slug(ctx: Context, slug: str) -> Collection:
    found = ctx.session.scalar(sa.select(Collection).where(Collection.slug == parse_slug(slug, "collection")))
    if found is None:
        raise NotFound(f"No collection '{slug[:64]}'.")
    return found


def in_tree(ctx: Context, collection: Collection, rows: int, total: int | None = None) -> Any:
    """Works filed in ``collection`` or below it, for a page that needs the newest ``rows`` of
    them (``total``: how many public works the subtree holds, when the caller knows it).

    Two plans, chosen so that the cost follows the page, not the subtree:

    * a large subtree (a fair share of all works): walk the public works newest first on their
      index (status, published_at, id) and keep those with a membership row in the subtree — a
      correlated EXISTS answered by the membership's primary key (work_id, collection_id). The walk
      stops after about ``rows × all / total`` works: 40 for page 1 of a subtree holding half of
      them, where listing the subtree's 50,000 members first took 150 ms at 100,000 works;
    * a small subtree: its members first (the membership index by collection), then sorted —
      ``total`` rows, fewer than the walk would read.

    The subtree's ids are looked up first, so either plan sees a literal list (PostgreSQL chose a
    full scan for a nested subquery: 400 ms).
    """
    subtree = ctx.session.scalars(sa.select(Collection.id).where(sa.or_(
        Collection.id == collection.id, Collection.path.startswith(collection.path + ":", autoescape=True)))).all()
    if total is None:
        total = counts.read(ctx.session, "collection").get(collection.path, 0)
    everything = counts.read(ctx.session, "total").get("", 0)
    if rows * everything <= total * total:  # the walk reads fewer rows than the subtree holds
        return sa.exists().where(work_collections.c.work_id == Work.id,
                                 work_collections.c.collection_id.in_(subtree))
    members = sa.select(work_collections.c.work_id).where(work_collections.c.collection_id.in_(subtree))
    return Work.id.in_(members)


def collection(ctx: Context, slug: str, lang3: str, raw_page: str | None) -> dict[str, Any]:
    found = collection_by_slug(ctx, slug)
    slugs = found.path.split(":")[:-1]
    ancestors = {c.slug: c for c in ctx.session.scalars(sa.select(Collection).where(Collection.slug.in_(slugs)))}
    total = next((c.count for c in _all_collection_counts(ctx) if c.slug == found.slug), 0)
    rows = parse_page(raw_page) * PAGE_SIZE
    return {
        "collection": found,
        "ancestors": [ancestors[s] for s in slugs if s in ancestors],
        "children": [c for c in collection_counts(ctx, found) if c.depth == 0],
        "listing": listing(ctx, in_tree(ctx, found, rows, total), lang3, raw_page, total=total),
    }


def collection_works(ctx: Context, slug: str, lang3: str) -> tuple[Collection, list[Work]]:
    found = collection_by_slug(ctx, slug)
    return found, feed_works(ctx, in_tree(ctx, found, FEED_SIZE), limit=FEED_SIZE)


def feed_works(ctx: Context, condition: Any = None, limit: int = FEED_SIZE) -> list[Work]:
    query = sa.select(Work).where(visibility.public_record())
    if condition is not None:
        query = query.where(condition)
    return list(ctx.session.scalars(_newest(query).limit(limit)).all())


# -- search results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HitExtras:
    """What the results page shows of a hit beyond the search index: the title in the reader's
    language (as the landing page shows it) and a thumbnail."""

    title: str | None
    title_lang: str | None
    thumbnail: str | None


def hit_extras(ctx: Context, ids: list[int], lang3: str) -> dict[int, HitExtras]:
    """For one page of search hits (read from SQL, public records only: two indexed queries)."""
    if not ids:
        return {}
    works = list(ctx.session.scalars(sa.select(Work).where(Work.id.in_(ids), visibility.public_record())).all())
    pictures = thumbnails(ctx, works)
    return {w.id: HitExtras(*title_in(w.doc, lang3), pictures.get(w.id)) for w in works}


# -- validators of list pages ----------------------------------------------------------------------------


def site_version(ctx: Context) -> tuple[Any, ...]:
    """Changes whenever anything a list page shows changes: works (:func:`repo.web.cache.data_version`),
    member centres and collections (small tables), and the day (access badges follow the clock)."""
    centres = ctx.session.execute(sa.select(sa.func.max(MemberCentre.updated_at), sa.func.count())).one()
    collections = ctx.session.execute(sa.select(sa.func.max(Collection.updated_at), sa.func.count())).one()
    files = ctx.session.scalar(sa.select(sa.func.max(File.updated_at)))  # a new thumbnail (index lookup)
    return (*data_version(ctx.session), *centres, *collections, files, ctx.now.date())


def robots(base_url: str) -> str:
    """robots.txt: the API and search result pages (endless filter combinations, ``noindex``) are
    left to people; works are reached through the sitemap, centres and collections."""
    return ("User-agent: *\n"
            "Disallow: /api/\n"
            "Disallow: /search\n"
            "Allow: /\n"
            f"\nSitemap: {base_url}/sitemap.xml\n")


# -- browse by author and by subject ------------------------------------------------------------------------

INDEX_PAGE = 100
LETTERS = [*"abcdefghijklmnopqrstuvwxyz", "#"]


@dataclass
class Index:
    """One page of the alphabetical index of authors or subjects."""

    dimension: str  # author | subject
    field: str  # the search field its entries link to
    letter: str
    entries: list[tuple[str, int]]
    total: int
    page: int
    pages: int
    letters: list[str]


def browse(ctx: Context, dimension: str, raw_letter: str | None, raw_page: str | None) -> Index:
    """A letter of the index of authors (``author``) or subjects (``subject``), from counter rows."""
    letter = (raw_letter or "a").strip().lower()[:1] or "a"
    if letter not in LETTERS:
        letter = "#"
    page = parse_page(raw_page)
    entries, total = counts.index_page(ctx.session, dimension, letter, (page - 1) * INDEX_PAGE, INDEX_PAGE)
    pages = max(1, math.ceil(total / INDEX_PAGE))
    if page > pages:
        raise NotFound(f"There is no page {page}; the last is {pages}.")
    return Index(dimension, dimension, letter, entries, total, page, pages, LETTERS)
