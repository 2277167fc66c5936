"""The production profile for one minute (``bench/load.py``, fewer actors): PostgreSQL, osmem-server,
moto's S3 server, two ``repo serve --workers 2`` with ``REPO_WORKER=external``, two ``repo worker``;
harvesters, depositors, searchers and readers; kill -9 of a worker and of a web server, a PostgreSQL
restart, the search server away — and every check of the benchmark must hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_one_minute_of_the_production_profile_under_faults(tmp_path: Path, postgres_server: str,
                                                           osmem_installed: None) -> None:
    # (the fixtures only prove the components are there, or skip/fail as everywhere else; moto is a
    # test dependency)
    out = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--minutes", "1", "--works", "200",
         "--harvesters", "4", "--depositors", "3", "--searchers", "6", "--readers", "2",
         "--search-outage", "10", "--json", str(out)],
        capture_output=True, text=True, timeout=900)
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    failed = [name for name, ok in results["checks"].items() if not ok]
    assert not failed, (failed, results["bad_responses"], results["anomalies"], results["lost"],
                        results["harvests"], results["index_check"], done.stdout[-3000:])
    assert done.returncode == 0
    kinds = results["kinds"]
    assert {"harvest", "deposit.create", "deposit.publish", "search.api", "read.landing"} <= set(kinds)
    assert results["harvests"]["complete"] >= 1 and results["deposited_works"] >= 1
    # the faults happened, and each was recovered from
    faults = " | ".join(results["faults"])
    for fault in ("kill -9 worker1", "worker1 started again", "kill -9 web2", "web2 serving again",
                  "PostgreSQL restarting", "PostgreSQL back", "search server unreachable", "search server reachable again"):
        assert fault in faults, faults
    # the outages were seen as 503 with Retry-After by somebody, not hidden
    assert sum(kind.get("statuses", {}).get("503", 0) for kind in kinds.values()) > 0


@pytest.fixture(scope="session")
def osmem_installed() -> None:
    """osmem-server is installed (bench/load.py starts its own)."""
    import importlib.util
    import os

    if importlib.util.find_spec("osmem_server") is None:
        if os.environ.get("REPO_REQUIRE_OPENSEARCH", "").lower() in ("1", "true", "yes"):
            pytest.fail("REPO_REQUIRE_OPENSEARCH=1 but osmem-server is not installed")
        pytest.skip("osmem-server not installed: pip install osmem-server")
