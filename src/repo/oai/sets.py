"""OAI sets (OAI-PMH §2.6, §2.7.2): what each setSpec contains, as SQL and as a header predicate.

* ``centre`` / ``centre:<slug>``: the works of a member centre (``centre`` alone: all records).
* ``collection`` / ``collection:<path>``: a collection and all its descendants (``path`` is the
  colon-joined slugs, so ``collection:a`` includes ``collection:a:b``).
* ``type`` / ``type:<work type>``: by work type (COAR-mapped keys such as ``journal_article``).
* ``journal`` / ``journal:<ISSN-L>``: the works published in one journal, identified by its linking
  ISSN (``works.issn_l``), so a journal portal harvests one journal; the set's name is the journal's
  title as its latest deposit gives it.
* ``openaire`` and ``driver`` (the DRIVER / OpenAIRE-3 harvesting sets): published works whose
  *work-level* effective access is open at this moment (``open``, or an embargo that has ended),
  whether or not a file is attached (open-access metadata where no file exists), plus every deleted
  record, so harvesters of the set see withdrawals. An embargo that ends brings the work into the
  set with a new datestamp (see ``lift_embargoes``), so incremental set harvests pick it up.

The same rule is written three times: as SQL (:func:`condition`), on a loaded record (:func:`specs`),
so a header lists exactly the sets whose list contains it, and as the counting keys of a work
(:func:`count_keys`), which keep each set's size in ``oai_set_counts`` (:mod:`repo.oai.tracking`).
The keys read the open sets from the stored embargo state (``embargo_pending``), the twin of the
clock-based SQL rule once due embargoes are lifted, which every request that reads records
ensures first (:meth:`repo.oai.service.Provider.begin`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo.centres.models import Collection, MemberCentre
from repo.oai import envelope
from repo.works import repository, visibility
from repo.works.models import Work, work_collections
from repo.works.vocabularies import WORK_TYPES, AccessRight, Status, WorkType

if TYPE_CHECKING:  # records imports works.service, which must not be imported while works.models loads
    from repo.oai.records import Disseminated

RECORD_STATUSES = (Status.published, Status.withdrawn)  # twin of visibility.public_or_tombstone

OPEN_SETS = {
    "openaire": ("OpenAIRE", "Open-access works (OpenAIRE Guidelines for Literature Repositories 3) and deletions."),
    "driver": ("DRIVER", "Open-access works (DRIVER Guidelines 2.0) and deletions."),
}


def _open_condition(now: datetime) -> sa.ColumnElement[bool]:
    """The open sets as of ``now``; the day is a parameter named ``today`` (a query built once
    for the set binds the day of each execution)."""
    today = sa.bindparam("today", now.date(), type_=sa.Date)
    return sa.or_(
        Work.status == Status.withdrawn,
        sa.and_(Work.status == Status.published, visibility.content_open(today)),
    )


def in_open_sets(work: Disseminated, now: datetime) -> bool:
    return work.deleted or visibility.is_open(work.access_right, work.embargo_end, now)


def condition(session: Session | sa.Connection, spec: str, now: datetime) -> sa.ColumnElement[bool] | None:
    """SQL for the records of set ``spec``; ``None`` when no such set exists."""
    head, _, tail = spec.partition(":")
    if spec in OPEN_SETS:
        return _open_condition(now)
    if head == "centre":
        if not tail:
            return sa.true()
        centre_id = session.scalar(sa.select(MemberCentre.id).where(MemberCentre.slug == tail))
        return None if centre_id is None else Work.centre_id == centre_id
    if head == "collection":
        if not tail:
            return Work.id.in_(sa.select(work_collections.c.work_id))
        exists = session.scalar(sa.select(Collection.id).where(Collection.path == tail))
        return None if exists is None else repository.in_collection_tree(tail)
    if head == "type":
        if not tail:
            return Work.type.is_not(None)
        return Work.type == tail if tail in WorkType.__members__ else None
    if head == "journal":
        if not tail:
            return Work.issn_l.is_not(None)
        if not _ISSN.fullmatch(tail):
            return None
        # A journal exists while a work names it (one index lookup): like an unknown centre, an
        # ISSN-L of no work is no set, so the conditions kept per set stay as few as the journals.
        known = session.scalar(sa.select(Work.id).where(Work.issn_l == tail).limit(1))
        return None if known is None else Work.issn_l == tail
    return None


_ISSN = re.compile(r"\d{4}-\d{3}[\dX]")


def specs(work: Disseminated, now: datetime) -> list[str]:
    """The setSpecs of a record's header (the most specific node of each hierarchy)."""
    found = [f"centre:{work.centre}"] if work.centre else []
    found.extend(f"collection:{path}" for path in work.collections)
    if work.type in WorkType.__members__:
        found.append(f"type:{work.type}")
    if work.issn_l is not None:
        found.append(f"journal:{work.issn_l}")
    if in_open_sets(work, now):
        found.extend(OPEN_SETS)
    return found


CountKey = tuple[str, str]  # (dimension, key) of oai_set_counts


def _ancestors(path: str) -> list[str]:
    parts = path.split(":")
    return [":".join(parts[:n]) for n in range(1, len(parts) + 1)]


def count_keys(status: str | None, type_: str | None, centre_id: int | None, paths: Iterable[str],
               access_right: str | None, embargo_end: date | None, embargo_pending: bool | None,
               issn_l: str | None = None) -> set[CountKey]:
    """The counting keys of a work in this state: every set whose list holds it (none unless it
    is a record). The open sets read the stored embargo state: an embargo counts as ended once
    lifted (``embargo_pending`` cleared), which happens before any request reads records."""
    if status not in RECORD_STATUSES:
        return set()
    keys: set[CountKey] = {("all", "")}
    if issn_l is not None:
        keys.update({("journal", ""), ("journal", issn_l)})
    if centre_id is not None:
        keys.add(("centre", str(centre_id)))
    found = {p for path in paths for p in _ancestors(path)}
    if found:
        keys.add(("collection", ""))
        keys.update(("collection", p) for p in found)
    if type_ is not None:
        keys.update({("type", ""), ("type", type_)})
    opened = access_right == AccessRight.open or (
        access_right == AccessRight.embargoed and embargo_end is not None and not embargo_pending)
    if status == Status.withdrawn or opened:
        keys.add(("open", ""))
    return keys


def count_key(session: Session | sa.Connection, spec: str | None) -> CountKey | None:
    """The counting key of a set's list (``None``: the whole repository); ``None`` when no such set."""
    if spec is None:
        return ("all", "")
    head, _, tail = spec.partition(":")
    if spec in OPEN_SETS:
        return ("open", "")
    if head == "centre":
        if not tail:
            return ("all", "")  # every record has a centre
        centre_id = session.scalar(sa.select(MemberCentre.id).where(MemberCentre.slug == tail))
        return None if centre_id is None else ("centre", str(centre_id))
    if head in ("collection", "type", "journal"):
        return (head, tail)
    return None


@dataclass(frozen=True)
class SetInfo:
    spec: str
    name: str
    description: str | None = None


def all_sets(session: Session | sa.Connection) -> Iterator[SetInfo]:
    """Every set, parents before children (ListSets)."""
    for spec, (name, description) in OPEN_SETS.items():
        yield SetInfo(spec, name, description)
    yield SetInfo("centre", "Member centres", "Works grouped by the member centre that deposited them.")
    for slug, name, description in session.execute(
        sa.select(MemberCentre.slug, MemberCentre.name, MemberCentre.description).order_by(MemberCentre.slug)
    ):
        yield SetInfo(f"centre:{slug}", name, description)
    yield SetInfo("collection", "Collections", "Works grouped by collection; a collection includes its sub-collections.")
    for path, name, description in session.execute(
        sa.select(Collection.path, Collection.name, Collection.description).order_by(Collection.path)
    ):
        yield SetInfo(f"collection:{path}", name, description)
    yield SetInfo("type", "Work types", "Works grouped by COAR resource type.")
    for key, info in WORK_TYPES.items():
        yield SetInfo(f"type:{key}", info.label.capitalize(), f"Works of type {info.label} ({info.coar_uri}).")
    yield SetInfo("journal", "Journals", "Works grouped by the journal they were published in (by ISSN-L).")
    for issn_l, title in journal_titles(session):
        yield SetInfo(f"journal:{issn_l}", title, f"Works published in {title} (ISSN-L {issn_l}).")


def journal_titles(session: Session) -> list[tuple[str, str]]:
    """``(ISSN-L, title)`` of every journal with a record, the title as its latest deposit gives it."""
    latest = session.execute(
        sa.select(Work.issn_l, sa.func.max(Work.id))
        .where(Work.issn_l.is_not(None), visibility.public_or_tombstone()).group_by(Work.issn_l)
    ).all()
    docs: dict[int, Any] = dict(session.execute(
        sa.select(Work.id, Work.doc).where(Work.id.in_([i for _, i in latest]))).all())
    found: list[tuple[str, str]] = []
    for issn_l, work_id in sorted(latest):
        journal = (docs.get(work_id) or {}).get("journal")
        title = journal.get("title") if isinstance(journal, dict) else None
        name = envelope.text(title).strip() if isinstance(title, str) else ""
        found.append((str(issn_l), name or f"ISSN {issn_l}"))
    return found
