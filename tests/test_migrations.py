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
