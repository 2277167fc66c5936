"""The ``repo`` command: serve, migrate, tokens, centres, collections, demo data.

Each command builds its settings and database here (never at import) and runs in one unit of
work as the ``cli`` administrator.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import anyio
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from repo.clock import Clock
from repo.config import Settings
from repo.context import Context
from repo.db import Database, upgrade
from repo.deposit.auth import Principal, TokenRole
from repo.errors import ProblemError
from repo.files.cli import app as files_app
from repo.oai.cli import app as oai_app
from repo.ingest.cli import app as harvest_app, check as oai_check
from repo.imports.cli import export_command, import_command
from repo.search.cli import index_app, reindex as reindex_command
from repo.operations.cli import backup as backup_command, restore as restore_command
from repo.worker.cli import worker as worker_command

app = typer.Typer(help="repo: open-access repository service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
centre_app = typer.Typer(help="Member centres.", no_args_is_help=True)
collection_app = typer.Typer(help="Collections.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(centre_app, name="centre")
app.add_typer(collection_app, name="collection")
app.add_typer(index_app, name="index")
app.add_typer(files_app, name="files")
app.add_typer(oai_app, name="oai")
app.add_typer(harvest_app, name="harvest")
oai_app.command("check")(oai_check)  # what a harvester would say of an endpoint (repo.ingest.check)
app.command("reindex")(reindex_command)
app.command("worker")(worker_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.command("import")(import_command)  # works from CSV, JSON Lines, BibTeX, RIS (repo.imports)
app.command("export")(export_command)
console = Console()
err_console = Console(stderr=True)
CLI = Principal(token_id=0, name="cli", role=TokenRole.admin)


@contextmanager
def unit_of_work(migrate: bool = True) -> Iterator[Context]:
    """Settings, an up-to-date database and a committed-on-success context for one command."""
    from repo.app import open_file_store

    settings = Settings()
    if migrate:
        upgrade(settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    try:
        with database.session() as session:
            clock = Clock()
            yield Context(session, CLI, clock.now(), settings, clock, open_file_store(settings))
    except ProblemError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}")
        for error in exc.errors:
            err_console.print(f"  {error['field']}: {error['message']}")
        raise typer.Exit(1) from None
    finally:
        database.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the repository (the embedded SQLite database migrates itself)."""
    import tempfile

    import uvicorn

    from repo.operations import logs, metrics, preflight

    if not os.environ.get("REPO_BASE_URL"):  # links follow this address (the workers inherit it)
        os.environ["REPO_LISTEN_URL"] = listen_url(host, port)
    settings = preflight.load_settings()
    preflight.check_or_exit(settings)  # a misconfiguration: one line and exit status 2
    if settings.is_sqlite:
        upgrade(settings.resolved_database_url)
    if workers > 1 and metrics.MULTIPROCESS_ENV not in os.environ:  # /metrics sums every worker
        metrics.prepare_multiprocess(tempfile.mkdtemp(prefix="repo-metrics-"))
    console.print(f"Serving {settings.repository_name} on http://{host}:{port} (API docs: /api/docs, OAI-PMH: /oai)")
    if not os.environ.get("REPO_BASE_URL") and host in WILDCARDS:
        console.print(f"Links name {settings.base_url}: set REPO_BASE_URL to the address readers use.", style="yellow")
    uvicorn.run("repo.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level, proxy_headers=True, **UVICORN_HTTP,
                log_config=logs.config(settings.log_level, settings.log_format, settings.access_log), access_log=False,
                server_header=False,  # no "server: uvicorn" on every response: it tells clients nothing they need
                # uvicorn restarts a worker that does not answer its supervisor's ping in time: 5 s
                # (the default) killed healthy workers on a loaded machine (bench/load.py).
                timeout_worker_healthcheck=30)


WILDCARDS = ("0.0.0.0", "::", "")


def listen_url(host: str, port: int) -> str:
    """The base URL of a server bound to ``host``:``port`` (a wildcard address reads as loopback)."""
    if host in WILDCARDS:
        host = "127.0.0.1" if host != "::" else "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# httptools (C) rather than h11 (pure Python): less server time on every request. Its request
# head is bounded at 1 MiB (431) and a URL past 64 KiB gets 414 (repo.transport); header fields
# past the app's own limit (64 KiB, repo.middleware.HeaderLimit) get its 431.
UVICORN_HTTP = {"http": "repo.transport:HTTPProtocol"}


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (production: run before starting new code)."""
    settings = Settings()
    upgrade(settings.resolved_database_url, revision)
    console.print(f"Database at {revision}.")


@db_app.command("recount")
def db_recount() -> None:
    """Rebuild the reading room's browse counts and the OAI set sizes from the works (after loading
    works by plain SQL)."""
    from repo.oai import tracking
    from repo.works import counts

    from repo.ingest import matching

    with unit_of_work() as ctx:
        counts.recount(ctx.session)
        tracking.recount(ctx.session)
        matching.rebuild(ctx.session)  # the identifier index duplicates are matched against
        console.print(f"Browse counts rebuilt: {counts.read(ctx.session, 'total').get('', 0):,} public works.")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the migration does")],
    rev_id: Annotated[str, typer.Option(help="Short revision id, e.g. 0006")],
) -> None:
    """Autogenerate a dated migration from the difference between models and database."""
    from alembic import command

    from repo.db import alembic_config

    settings = Settings()
    upgrade(settings.resolved_database_url)
    command.revision(alembic_config(settings.resolved_database_url), message=message, autogenerate=True,
                     rev_id=rev_id)


@token_app.command("create")
def token_create(
    role: Annotated[TokenRole, typer.Option(help="admin or editor")],
    centre: Annotated[Optional[list[str]], typer.Option(help="Centre slug (repeatable) for editors")] = None,
    name: Annotated[str, typer.Option(help="Who holds the token")] = "",
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from repo.deposit.auth import create_token

    with unit_of_work() as ctx:
        raw, token = create_token(ctx.session, name=name or f"{role}-{'-'.join(centre or [])}".rstrip("-"),
                                  role=role, centre_slugs=centre or [], now=ctx.now)
        ctx.session.flush()
        console.print(f"Token {token.id} ({role}) created. It is shown only now:", style="green")
        print(raw)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token by its number."""
    from repo.deposit.auth import revoke_token

    with unit_of_work() as ctx:
        revoke_token(ctx.session, token_id, ctx.now)
        console.print(f"Token {token_id} revoked.")


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their values)."""
    from repo.deposit.models import ApiToken

    with unit_of_work() as ctx:
        table = Table("id", "name", "role", "centres", "created", "revoked")
        for t in ctx.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
            table.add_row(str(t.id), t.name, t.role, ", ".join(c.slug for c in t.centres),
                          f"{t.created_at:%Y-%m-%d %H:%M}", f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "")
        console.print(table)


@centre_app.command("add")
def centre_add(
    slug: str,
    name: str,
    country: Annotated[Optional[str], typer.Option(help="ISO 3166-1 code")] = None,
    ror: Annotated[Optional[str], typer.Option(help="ROR id")] = None,
) -> None:
    """Add a member centre."""
    from repo.centres import service
    from repo.centres.schemas import CentreIn

    with unit_of_work() as ctx:
        service.create_centre(ctx, _validated(CentreIn, slug=slug, name=name, country=country, ror=ror))
        console.print(f"Centre {slug} added.")


@centre_app.command("list")
def centre_list() -> None:
    """List member centres."""
    from repo.centres import service

    with unit_of_work() as ctx:
        table = Table("slug", "name", "country", "ror")
        for c in service.list_centres(ctx):
            table.add_row(c.slug, c.name, c.country or "", c.ror or "")
        console.print(table)


@collection_app.command("add")
def collection_add(
    slug: str,
    name: str,
    parent: Annotated[Optional[str], typer.Option(help="Parent collection slug")] = None,
    centre: Annotated[Optional[str], typer.Option(help="Owning centre slug")] = None,
    description: Annotated[Optional[str], typer.Option()] = None,
) -> None:
    """Add a collection (nested under --parent)."""
    from repo.centres import service
    from repo.centres.schemas import CollectionIn

    with unit_of_work() as ctx:
        service.create_collection(ctx, _validated(CollectionIn, slug=slug, name=name, parent=parent,
                                                  centre=centre, description=description))
        console.print(f"Collection {slug} added.")


@collection_app.command("list")
def collection_list() -> None:
    """List collections with their OAI setSpecs."""
    from repo.centres import service

    with unit_of_work() as ctx:
        table = Table("slug", "setSpec", "name", "centre")
        for c in service.list_collections(ctx):
            table.add_row(c.slug, f"collection:{c.path}", c.name, c.centre.slug if c.centre else "")
        console.print(table)


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Only when the database has no works")] = False,
    synthetic: Annotated[Optional[int], typer.Option(help="Generate N synthetic works instead")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic corpus")] = 1,
) -> None:
    """Load the demo collection (about 40 works), or a synthetic corpus of N works."""
    from repo import demo as demo_data
    from repo.oai import cache

    cache.pin()  # (renders its records: see repo.oai.cache.pin)
    from repo.works.models import Work

    with unit_of_work() as ctx:
        if if_empty and ctx.session.scalar(sa.select(sa.func.count()).select_from(Work)):
            console.print("The database has works already; demo not loaded.")
            return
        files = 0
        if synthetic is not None:
            count = demo_data.load_synthetic(ctx, synthetic, seed=seed, console=console)
        else:
            count = demo_data.load(ctx)
            files = anyio.run(demo_data.attach_files, ctx)
        console.print(f"Loaded {count} works" + (f" and {files} files." if files else "."), style="green")
    if synthetic is not None:  # bulk inserts queue nothing: render them all now, so harvests read stored bytes
        from repo.oai.cli import render_everything

        settings = Settings()
        database = Database(settings.resolved_database_url)
        try:
            render_everything(settings, database)
        finally:
            database.dispose()
    if files:
        from repo.files.cli import extract

        extract()  # their text for full-text search, their first pages as thumbnails


@app.command()
def schema(out: Annotated[Path, typer.Option(help="Where to write it")] = Path("schemas/deposit-record.schema.json")) -> None:
    """Write the JSON Schema of the deposit record."""
    from repo.works.schemas import WorkIn

    out.write_text(json.dumps(deposit_schema(WorkIn), indent=2, ensure_ascii=False) + "\n")
    console.print(f"Wrote {out}.")


def deposit_schema(model: type) -> dict[str, object]:
    schema: dict[str, object] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://repo.example.org/schemas/deposit-record.schema.json",
        **model.model_json_schema(),  # type: ignore[attr-defined]
    }
    return schema


def _validated(model: type, **values: object):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from repo.errors import Unprocessable, validation_errors

    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise Unprocessable("Invalid values.", errors=validation_errors(exc.errors())) from None
