"""Property-based fuzzing of ``/api`` with schemathesis, from its own OpenAPI document: every
operation, with an admin and an editor token, on SQLite and PostgreSQL. The check: no 5xx, and
every response matches the schema the API declares.

The app is called in-process (ASGI), so a server error surfaces with its traceback. The example
budget is fixed and the generation derandomized (the same cases every run) to keep CI's time
predictable; raise ``REPO_FUZZ_EXAMPLES`` locally to search harder.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.checks import not_a_server_error

EXAMPLES = int(os.environ.get("REPO_FUZZ_EXAMPLES", "8"))  # per operation and mode


@pytest.fixture
def api(app: Any, client: Any, auth: Any) -> Any:
    """The API's schema bound to the running app (``client`` ran its lifespan), with a work, a
    file and a collection in place for the generated requests to meet."""
    from helpers import sample

    assert client.post("/api/collections", headers=auth.admin, json={"slug": "libros", "name": "Libros"}).status_code == 201
    work = client.post("/api/works", json=sample(collections=["libros"]), headers=auth.admin).json()["id"]
    assert client.put(f"/api/works/{work}/files/a.txt", content=b"texto\n",
                      headers={**auth.admin, "Content-Type": "text/plain"}).status_code == 201
    return schemathesis.openapi.from_asgi("/api/openapi.json", app).include(path_regex="^/api/")


def test_api_never_errs_and_matches_its_schema(api: Any, auth: Any, database: Any) -> None:
    """Valid and invalid requests for every operation (schemathesis' positive and negative
    generation), each sent as an admin and as an editor."""
    checks = [not_a_server_error, response_schema_conformance]
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def fuzz(case: Any) -> None:
                for token in (auth.admin, auth.editor_a):
                    case.call_and_validate(headers=dict(token), checks=checks)

            try:
                fuzz()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to make invalid
            except Exception as exc:  # every operation runs; all failures are reported together
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    assert operations >= 20  # the whole API was fuzzed (works, files, centres, collections, search)
    assert not failures, "\n\n".join(failures)
