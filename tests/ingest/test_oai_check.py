"""``repo oai check URL`` against real endpoints: this repository passes; oai_repo's known flaw
(it accepts from and until at different granularities, OAI-PMH.md D1) and a broken provider's
faults are what an aggregator would complain about."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest_support import Peer
from oai_source import Faults, dc_item
from typer.testing import CliRunner

from repo.config import Settings
from repo.ingest.check import Checker

SCHEMAS = Path(os.environ.get("REPO_OFFICIAL_SCHEMAS") or Path(__file__).parents[3] / "shared" / "schemas")


def _findings(url: str, **options: object) -> dict[str, list[str]]:
    report = Checker(url, Settings(data_dir=Path("/nonexistent")), schemas=SCHEMAS, **options).run()  # type: ignore[arg-type]
    found: dict[str, list[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.level, []).append(f"{finding.check}: {finding.message}")
    return found


def test_this_repository_passes_the_check(peer: Peer, schemas) -> None:  # type: ignore[no-untyped-def]
    for n in range(9):
        peer.corpus.work(f"Obra {n}", doi=f"10.1234/check.{n}")
    runner = CliRunner()
    from repo.cli import app

    result = runner.invoke(app, ["oai", "check", peer.oai, "--full", "--schemas", str(SCHEMAS)])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output and "9 record(s) in the whole list" in result.output


def test_an_independent_server_librarys_flaw_is_reported(oai_repo_server, schemas) -> None:  # type: ignore[no-untyped-def]
    url, _ = oai_repo_server
    found = _findings(url, full=True)
    assert found.get("error") == ["dates: from and until at different granularities are accepted (D1: badArgument)"]
    assert any("deletedRecord=no" in w for w in found["warning"])


def test_a_broken_provider_gets_the_complaints_of_an_aggregator(oai_source, schemas) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    items = [dc_item(n, start + timedelta(hours=n)) for n in range(1, 13)]
    items[3].header_datestamp = "2024-01-01 04:00:00"  # not UTC with Z
    items.append(items[0])  # the same record twice in the list
    source = oai_source(items, page_size=5, faults=Faults(error_status_for_oai_errors=400))
    errors = "\n".join(_findings(source.url, full=True)["error"])
    for expected in ("HTTP 400", "not valid against the official schemas", "datestamps not at the declared granularity",
                     "returned twice"):
        assert expected in errors, (expected, errors)
