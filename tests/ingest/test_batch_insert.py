"""db.insert_many, the batch insert of ingest (works, revisions, outbox rows…): it stores exactly
what SQLAlchemy's own insert stores, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from repo.centres.models import MemberCentre
from repo.db import Database, insert_many
from repo.works.models import Work
from repo.works.vocabularies import Status


def test_insert_many_stores_what_an_insert_stores(database: Database) -> None:
    now = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    with database.session() as session:
        centre = MemberCentre(slug="c", name="C", created_at=now, updated_at=now)
        session.add(centre)
        session.flush()
        rows = [{"status": status, "type": "book", "centre_id": centre.id, "access_right": access,
                 "embargo_end": embargo, "embargo_pending": pending, "publication_year": 2001 + n,
                 "issn_l": None, "metadata": doc, "version": 1, "created_at": now, "updated_at": now,
                 "published_at": None if status == Status.draft else now, "datestamp": now, "origin": origin}
                for n, (status, access, embargo, pending, doc, origin) in enumerate([
                    (Status.published, "open", None, False,
                     {"titles": [{"value": "Educação «popular» — 教育 \u2028 \"x\" \\ ü", "lang": "por"}],
                      "languages": ["por"], "extent": {"pages": 12}, "empty": [], "none": None},
                     {"kind": "oai", "identifier": "oai:x:1", "unmapped": [{"field": "a", "value": "ñ"}]}),
                    (Status.draft, "embargoed", date(2030, 1, 31), True, {"titles": [{"value": "b"}]}, None),
                    (Status.published, None, None, False, {}, {}),
                ])]
        session.execute(sa.insert(Work.__table__), rows)
        reordered = [rows[0], dict(reversed(list(rows[1].items()))), rows[2]]  # keys in another order
        insert_many(session, Work.__table__, reordered)  # type: ignore[arg-type]
    columns = [c for c in Work.__table__.c if c.name != "id"]
    # as stored (text: a time or a date stored in another form would compare and sort differently in
    # SQL even where it reads back equal), and as read; JSON as read (SQLite's text differs in escapes)
    as_text = [c if isinstance(c.type, sa.JSON) else sa.cast(c, sa.Text) for c in columns]
    with database.session() as session:
        stored = [tuple(row) for row in session.execute(sa.select(*columns).order_by(Work.id))]
        texts = [tuple(row) for row in session.execute(sa.select(*as_text).order_by(Work.id))]
    assert len(stored) == 6
    assert stored[3:] == stored[:3]
    assert texts[3:] == texts[:3]
    assert stored[0][columns.index(Work.__table__.c.metadata)]["titles"][0]["value"].startswith("Educação «popular»")
    assert stored[1][columns.index(Work.__table__.c.origin)] is None
    assert stored[1][columns.index(Work.__table__.c.embargo_end)] == date(2030, 1, 31)
    assert stored[0][columns.index(Work.__table__.c.created_at)] == now
