"""Browse counts (counter rows): exact after every change made through the API, on both databases.

The expected counts are computed here from the works themselves, independently of
``repo.works.counts``; the maintained rows, :func:`counts.recount` and the migration that fills
the table from existing works must all agree with them.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from typing import Any

import sqlalchemy as sa
from alembic import command

from helpers import sample
from repo.db import Database, alembic_config, upgrade
from repo.works import counts
from repo.works.models import BrowseCount, Work

DIMENSIONS = ("total", "type", "year", "centre", "collection")
TYPES = ["journal_article", "book", "working_paper", "report"]
TREE = [("libros", None), ("ensayos", "libros"), ("clasicos", "ensayos"), ("revistas", None), ("tesis", None)]


def expected(database: Database) -> dict[str, dict[str, int]]:
    """The counts by brute force: every published work, each collection ancestor once per work."""
    out: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    with database.session() as session:
        for work in session.scalars(sa.select(Work).where(Work.status == "published")):
            out["total"][""] += 1
            out["type"][work.type] += 1
            out["year"][str(work.publication_year)] += 1
            out["centre"][str(work.centre_id)] += 1
            paths = {c.path for c in work.collections}
            out["collection"].update({":".join(p.split(":")[:n]) for p in paths for n in range(1, p.count(":") + 2)})
    return {d: dict(c) for d, c in out.items()}


PEOPLE = [{"family": "Álvarez", "given": "Ana"}, {"family": "alvarez", "given": "Ana"}, {"name": "CLACSO"},
          {"family": "Ñandú", "given": "Zoe"}, {"family": "Gohn", "given": "Maria da Glória"}, {"name": "1968 Colectivo"}]
SUBJECTS = ["educación", "Educación", "trabalho", "économie", "  vivienda  social "]


def _folded(text: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def expected_terms(database: Database) -> dict[tuple[str, str], int]:
    """Authors and subjects of the published works by brute force: (kind, folded label) → works."""
    out: Counter[tuple[str, str]] = Counter()
    with database.session() as session:
        for work in session.scalars(sa.select(Work).where(Work.status == "published")):
            people = {p.get("family") and f"{p['family']}, {p['given']}" or p.get("name") for p in work.doc.get("creators", [])}
            subjects = {s["value"] for s in work.doc.get("subjects", [])}
            out.update({("author", " ".join(label.split())) for label in people})
            out.update({("subject", " ".join(label.split())) for label in subjects})
    return dict(out)


def stored_terms(database: Database) -> dict[tuple[str, str], int]:
    with database.session() as session:
        rows = session.execute(sa.select(BrowseCount).where(
            sa.or_(BrowseCount.dimension.startswith("author:"), BrowseCount.dimension.startswith("subject:")),
            BrowseCount.count > 0)).scalars().all()
        found: dict[tuple[str, str], int] = {}
        for row in rows:
            kind, _, letter = row.dimension.partition(":")
            folded, _, label = row.key.partition("\x1f")
            assert folded == _folded(label) and letter == (folded[0] if "a" <= folded[0] <= "z" else "#"), row.key
            found[(kind, label)] = row.count
        return found


def stored(database: Database) -> dict[str, dict[str, int]]:
    with database.session() as session:
        return {d: counts.read(session, d) for d in DIMENSIONS}


def _record(rng: random.Random) -> dict[str, Any]:
    return sample(type=rng.choice(TYPES), centre=rng.choice(["centre-a", "centre-b"]),
                  collections=rng.sample([slug for slug, _ in TREE], rng.randint(0, 3)),
                  metadata__publication_date=str(rng.randint(2018, 2024)),
                  metadata__creators=rng.sample(PEOPLE, rng.randint(1, 3)),
                  metadata__subjects=[{"value": v} for v in rng.sample(SUBJECTS, rng.randint(0, 3))])


def test_counts_stay_exact_through_every_kind_of_change(client: Any, auth: Any, database: Database) -> None:
    for slug, parent in TREE:
        body = {"slug": slug, "name": slug.title(), **({"parent": parent} if parent else {})}
        assert client.post("/api/collections", json=body, headers=auth.admin).status_code == 201
    rng = random.Random(7)
    drafts: list[int] = []
    published: list[int] = []
    seen = Counter[str]()
    for _ in range(60):
        action = rng.choice(["create", "create", "publish", "publish", "replace", "patch", "withdraw", "delete",
                             "refused"])
        if action == "create" or (action in {"publish", "delete"} and not drafts):
            response = client.post("/api/works", json=_record(rng), headers=auth.admin)
            drafts.append(response.json()["id"])
        elif action == "publish":
            work = drafts.pop(rng.randrange(len(drafts)))
            assert client.post(f"/api/works/{work}/publish", headers=auth.admin).status_code == 200
            published.append(work)
        elif action == "delete":
            work = drafts.pop(rng.randrange(len(drafts)))
            assert client.delete(f"/api/works/{work}", headers=auth.admin).status_code == 204
        elif not published:
            continue
        elif action == "replace":  # type, year, centre and collections may all move
            response = client.put(f"/api/works/{rng.choice(published)}", json=_record(rng), headers=auth.admin)
            assert response.status_code == 200, response.text
        elif action == "patch":
            change = rng.choice([{"type": rng.choice(TYPES)}, {"collections": ["clasicos", "ensayos"]},
                                 {"metadata": {"publication_date": "2010"}}, {"centre": "centre-b"},
                                 {"metadata": {"creators": rng.sample(PEOPLE, 2)}},
                                 {"metadata": {"subjects": [{"value": rng.choice(SUBJECTS)}]}}])
            response = client.patch(f"/api/works/{rng.choice(published)}", json=change, headers=auth.admin)
            assert response.status_code == 200, response.text
        elif action == "withdraw":
            work = published.pop(rng.randrange(len(published)))
            response = client.post(f"/api/works/{work}/withdraw", json={"reason": "duplicate"}, headers=auth.admin)
            assert response.status_code == 200
        else:  # a refused change (an unknown collection) leaves the counts as they were
            before = stored(database)
            record = {**_record(rng), "collections": ["nowhere"]}
            assert client.put(f"/api/works/{rng.choice(published)}", json=record, headers=auth.admin).status_code == 422
            assert stored(database) == before
        seen[action] += 1
        assert stored(database) == expected(database), f"after {action}"
        assert stored_terms(database) == expected_terms(database), f"after {action}"
    assert min(seen[a] for a in ("create", "publish", "replace", "patch", "withdraw", "delete", "refused")) > 0, seen
    truth = expected(database)
    assert truth["collection"]["libros"] >= truth["collection"].get("libros:ensayos:clasicos", 0) > 0  # subtrees
    terms = expected_terms(database)
    assert {("author", "Álvarez, Ana"), ("author", "alvarez, Ana")} <= set(terms)  # spellings kept apart
    with database.session() as session:
        counts.recount(session)
    assert stored(database) == truth
    assert stored_terms(database) == terms


def test_the_migration_fills_the_counts_of_existing_works(client: Any, auth: Any, database: Database,
                                                          database_url: str) -> None:
    for slug, parent in TREE:
        body = {"slug": slug, "name": slug.title(), **({"parent": parent} if parent else {})}
        client.post("/api/collections", json=body, headers=auth.admin)
    rng = random.Random(3)
    twice = sample(collections=["ensayos", "clasicos"])  # two filings under one ancestor: counted once
    for record in [twice] + [_record(rng) for _ in range(12)]:
        work = client.post("/api/works", json=record, headers=auth.admin).json()["id"]
        if record is twice or rng.random() < 0.8:
            assert client.post(f"/api/works/{work}/publish", headers=auth.admin).status_code == 200
    truth = expected(database)
    assert truth["total"][""] > 0
    database.dispose()
    command.downgrade(alembic_config(database_url), "0701")  # before browse_counts existed
    upgrade(database_url)
    assert stored(database) == truth
    assert stored_terms(database) == expected_terms(database)  # authors and subjects too (migration 1502)
