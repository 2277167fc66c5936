"""The operator's CLI, run as a real subprocess-free typer invocation against both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from repo.cli import app
from repo.deposit.auth import hash_token
from repo.deposit.models import ApiToken
from repo.works.models import Work


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("REPO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("REPO_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("REPO_SECRET_KEY", "test-secret-key")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run.runner = runner  # type: ignore[attr-defined]
    return run


def test_centres_collections_and_tokens(cli, database):
    assert "Centre clacso added" in cli("centre", "add", "clacso", "Consejo Latinoamericano", "--country", "AR")
    cli("collection", "add", "libros", "Libros", "--centre", "clacso")
    cli("collection", "add", "ensayos", "Ensayos", "--parent", "libros")
    assert "collection:libros:ensayos" in cli("collection", "list")
    assert "clacso" in cli("centre", "list")
    output = cli("token", "create", "--role", "editor", "--centre", "clacso", "--name", "ana")
    raw = output.strip().splitlines()[-1]
    assert raw.startswith("repo_")
    with database.session() as session:
        token = session.scalar(sa.select(ApiToken))
        assert token.token_hash == hash_token(raw) and raw not in (token.name, token.token_hash)
        assert [c.slug for c in token.centres] == ["clacso"]
    listing = cli("token", "list")
    assert "ana" in listing and raw not in listing
    cli("token", "revoke", str(token.id))
    with database.session() as session:
        assert session.scalar(sa.select(ApiToken)).revoked_at is not None


def test_cli_errors_exit_non_zero_with_a_message(cli):
    runner = cli.runner
    result = runner.invoke(app, ["token", "create", "--role", "editor", "--centre", "nowhere"])
    assert result.exit_code == 1 and "nowhere" in result.output
    result = runner.invoke(app, ["centre", "add", "Bad Slug", "x"])
    assert result.exit_code == 1 and "slug" in result.output
    result = runner.invoke(app, ["token", "revoke", "999"])
    assert result.exit_code == 1


def test_demo_loads_every_type_and_language_once(cli, database):
    assert "Loaded 40 works" in cli("demo", "--if-empty")
    assert "not loaded" in cli("demo", "--if-empty")
    with database.session() as session:
        works = session.scalars(sa.select(Work)).all()
        statuses = {w.status for w in works}
        languages = {lang for w in works for lang in w.doc.get("languages", [])}
        types = {w.type for w in works}
    assert statuses == {"draft", "published", "withdrawn"}
    assert {"spa", "por", "eng", "fra"} <= languages
    assert len(types) == 16
    assert sum(w.access_right == "embargoed" for w in works) == 1
    assert sum(w.status == "withdrawn" for w in works) == 1


def test_demo_gives_each_published_text_a_pdf_with_its_text_extracted(cli, database):
    from repo.demo import TEXT_TYPES
    from repo.files.models import File

    assert "and 39 files" in cli("demo")  # 28 PDFs, and recordings, a captioned video, photographs
    with database.session() as session:
        texts = session.scalars(sa.select(Work).where(Work.status == "published", Work.type.in_(TEXT_TYPES))).all()
        pdfs = session.scalars(sa.select(File).where(File.media_type == "application/pdf")).all()
        files = {f.work_id: f for f in pdfs}
        assert set(files) == {w.id for w in texts} and len(texts) == 26
        assert len(pdfs) == 28  # a book's annex and a preprint's restricted data (demo._extra_files)
        media = session.execute(sa.select(Work.type, File.media_type).join(File, File.work_id == Work.id)
                                .where(File.media_type != "application/pdf")).all()
        assert {kind for _, kind in media} == {"audio/wav", "video/webm", "text/vtt", "image/png"}
        assert {work_type for work_type, _ in media} == {"sound", "lecture", "video", "image"}
        for work in texts:
            file = files[work.id]
            assert (file.media_type, file.text_state, file.has_thumbnail) == ("application/pdf", "done", True)
            assert work.doc["titles"][0]["value"].split()[0] in file.text  # the PDF carries the work's words
