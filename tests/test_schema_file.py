"""The published JSON Schema of the deposit record stays in sync with the model."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from helpers import sample
from repo.cli import deposit_schema
from repo.works.schemas import WorkIn

SCHEMA = Path(__file__).parents[1] / "schemas" / "deposit-record.schema.json"


def test_schema_file_matches_the_model():
    assert json.loads(SCHEMA.read_text()) == deposit_schema(WorkIn), "run `repo schema` to regenerate it"


def test_schema_accepts_a_real_deposit_and_refuses_unknown_fields():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(sample(), schema)
    try:
        jsonschema.validate(sample(colour="red"), schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("the schema accepted an unknown field")
