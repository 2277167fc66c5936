"""Migrations: upgrade from empty to head, and autogenerate finds no difference with the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from repo.db import alembic_config, create_engine, migrations_dir, upgrade
from repo.models import Base


def test_upgrade_from_empty_and_models_match_migrations(database_url):
    # database_url is a migrated copy; go down to nothing and up again to exercise both ways
    from alembic import command

    command.downgrade(alembic_config(database_url), "base")
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
    upgrade(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
        tables = set(sa.inspect(connection).get_table_names())
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


def test_migration_files_are_dated_and_form_one_line():
    script = ScriptDirectory(str(migrations_dir()))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    for path in (migrations_dir() / "versions").glob("*.py"):
        assert path.name[:15].replace("_", "").isdigit(), f"{path.name} is not dated YYYY_MM_DD_HHMM-"


def test_work_ids_migration_keeps_every_row_both_ways_and_ids_are_never_reused(database_url, client, auth, database):
    """0901 rebuilds SQLite's works table (AUTOINCREMENT) and widens PostgreSQL's work ids: with
    works, files, revisions, collections and outbox rows in the database, down and up again keep
    every row; afterwards the id of a deleted newest draft is not given again."""
    from alembic import command

    from helpers import pdf_bytes, sample, snapshot

    assert client.post("/api/collections", headers=auth.admin, json={"slug": "libros", "name": "Libros"}).status_code == 201
    ids = [client.post("/api/works", json=sample(collections=["libros"]), headers=auth.admin).json()["id"]
           for _ in range(3)]
    assert client.put(f"/api/works/{ids[0]}/files/a.pdf", content=pdf_bytes(),
                      headers={**auth.admin, "Content-Type": "application/pdf"}).status_code == 201
    assert client.post(f"/api/works/{ids[1]}/publish", headers=auth.admin).status_code == 200
    before = snapshot(database)
    database.engine.dispose()
    previous = ScriptDirectory(str(migrations_dir())).get_revision("0901").down_revision
    command.downgrade(alembic_config(database_url), str(previous))
    upgrade(database_url)
    after = snapshot(database)
    # (oai_generation, a counter, starts again at 0 when 1701 is applied again: only its row is kept)
    assert [row[0] for row in after.pop("oai_generation")] == [row[0] for row in before.pop("oai_generation")] == ["1"]
    assert after == before

    newest = max(ids)
    assert client.delete(f"/api/works/{newest}", headers=auth.admin).status_code == 204
    again = client.post("/api/works", json=sample(), headers=auth.admin).json()["id"]
    assert again > newest  # not the deleted draft's id


def test_work_ids_are_64_bit(database_url, client, auth, database):
    """Every id the API accepts (up to 2^63 - 1) fits the column: beyond the last id, 404."""
    from helpers import sample
    from repo.works.models import Revision, Work

    created = client.post("/api/works", json=sample(), headers=auth.admin).json()["id"]
    big = 2**40 + 7
    with database.session() as session:  # move the draft to an id past 2^31 (its revisions first)
        session.execute(sa.delete(Revision).where(Revision.work_id == created))
        session.execute(sa.update(Work).where(Work.id == created).values(id=big))
    assert client.post(f"/api/works/{big}/publish", headers=auth.admin).status_code == 200
    assert client.get(f"/api/works/{big}", headers=auth.admin).json()["id"] == big
    for path in ("", "/files", "/revisions"):
        for work_id in (2**31, 2**31 + 1, 2**63 - 1):
            assert client.get(f"/api/works/{work_id}{path}", headers=auth.admin).status_code == 404, (work_id, path)
    assert client.get(f"/works/{big}").status_code == 200
