"""The synthetic corpus (``repo demo --synthetic N --seed S``): deterministic, realistic, valid."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from repo.centres.models import Collection
from repo.cli import app
from repo.db import Database
from repo.works.models import Work
from repo.works.schemas import Metadata, WorkIn, missing_for_publication


def _cli(settings, monkeypatch, *args: str) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REPO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("REPO_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("REPO_SECRET_KEY", "test-secret-key")
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return str(result.output)


def _works(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        rows = session.execute(sa.select(Work.__table__).order_by(Work.id)).mappings().all()
    return [dict(row) for row in rows]


def test_demo_synthetic_is_realistic_and_valid(settings, database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert "Loaded 2000 works" in _cli(settings, monkeypatch, "demo", "--synthetic", "2000", "--seed", "4")
    works = _works(database)
    assert len(works) == 2000
    status = Counter(w["status"] for w in works)
    assert 0.01 <= status["withdrawn"] / 2000 <= 0.035  # about 2 %
    embargoed = [w for w in works if w["access_right"] == "embargoed"]
    assert 0.035 <= len(embargoed) / 2000 <= 0.07  # about 5 %
    assert all(w["embargo_pending"] and w["embargo_end"] is not None for w in embargoed)
    assert len({w["type"] for w in works}) == 16  # every work type
    languages = Counter(w["metadata"]["languages"][0] for w in works)
    assert set(languages) == {"spa", "por", "eng", "fra"}
    years = {w["datestamp"].year for w in works}
    assert len(years) >= 8  # datestamps spread over years
    with database.session() as session:
        paths = session.scalars(sa.select(Collection.path)).all()
        members = session.scalar(sa.select(sa.func.count()).select_from(sa.table("work_collections")))
    assert any(path.count(":") >= 2 for path in paths) and members > 1000  # nested collections in use
    # valid metadata, stored exactly as the deposit service stores it; publishing would need nothing more
    for work in works[::10]:
        assert Metadata.model_validate(work["metadata"]).model_dump(mode="json", exclude_none=True) == work["metadata"]
        record = WorkIn.model_validate({"type": work["type"], "centre": "clacso", "access_right": work["access_right"],
                                        "embargo_end": work["embargo_end"], "metadata": work["metadata"]})
        assert missing_for_publication(record) == []


def test_same_seed_same_corpus(settings, database, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _cli(settings, monkeypatch, "demo", "--synthetic", "300", "--seed", "9")
    other = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'other.sqlite3'}"})
    _cli(other, monkeypatch, "demo", "--synthetic", "300", "--seed", "9")
    third = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'third.sqlite3'}"})
    _cli(third, monkeypatch, "demo", "--synthetic", "300", "--seed", "10")
    keys = ("id", "status", "type", "access_right", "embargo_end", "metadata", "datestamp")
    project = lambda rows: [tuple(r[k] for k in keys) for r in rows]  # noqa: E731
    databases = [Database(s.resolved_database_url) for s in (other, third)]
    try:
        first, second, different = project(_works(database)), project(_works(databases[0])), project(_works(databases[1]))
    finally:
        for db in databases:
            db.dispose()
    assert first == second
    assert first != different
