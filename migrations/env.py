"""Alembic environment: the URL comes from the config that ``repo.db.alembic_config`` builds."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from repo.db import create_engine
from repo.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration rebuilds a table (copy, drop, rename): with foreign keys on, dropping
        # the old table would cascade to every row that refers to it. The pragma only takes
        # effect outside a transaction; the keys are checked once the migrations are done.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    before = context.get_context().get_current_heads()
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        connection.commit()
        # Only after a migration ran: the check reads every row that has a foreign key (a quarter
        # of a second at 100,000 works), and every command starts with an upgrade.
        ran = context.get_context().get_current_heads() != before
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() if ran else []
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
        if broken:
            raise RuntimeError(f"foreign keys broken by a migration: {broken[:10]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
