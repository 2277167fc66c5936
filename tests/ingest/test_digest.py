"""A record's digest (what tells an update from a record seen again) is stored with every harvested
and imported work: the quicker way it is computed must give the same bytes as the model's own JSON,
or every stored record would look changed at the next run."""

from __future__ import annotations

from datetime import date

import pytest

from repo import demo
from repo.ingest import pipeline
from repo.works import service as works
from repo.works.schemas import WorkIn


@pytest.mark.parametrize("n", range(len(demo.WORKS)))
def test_the_digest_json_is_the_models_own(n: int) -> None:
    centre, collections, type_, access, metadata, lifecycle = demo.WORKS[n]
    embargoed = lifecycle == "embargoed"
    data = WorkIn.model_validate({"centre": centre, "collections": collections, "type": type_,
                                  "access_right": "embargoed" if embargoed else access,
                                  "embargo_end": date(2031, 1, 1) if embargoed else None, "metadata": metadata})
    assert pipeline.model_json(data, works.Planned.of(data).doc) == data.model_dump_json(exclude_none=True).encode()
