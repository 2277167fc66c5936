"""The CSV layout: generated from the deposit models, documented in the README as generated."""

from __future__ import annotations

from pathlib import Path

from repo.imports import layout
from repo.works.schemas import WorkIn

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_documents_every_column():
    assert layout.documentation() in README.read_text(encoding="utf-8")


def test_every_field_of_the_deposit_record_has_a_column():
    names = {c.name for c in layout.COLUMNS}
    for key in WorkIn.model_fields["metadata"].annotation.model_fields:  # type: ignore[union-attr]
        assert any(n == key or n.startswith(key + ".") for n in names), key


def test_cells_and_records_are_inverse_for_awkward_values():
    record = {"type": "book", "metadata": {
        "titles": [{"value": "a@b || c\\d", "lang": "spa"}, {"value": "sin idioma", "type": "translated"}],
        "creators": [{"family": "X|Y||Z\\", "affiliations": [{"name": "A"}, {"name": "B|C"}]}, {"name": "Org|"}],
        "isbn": ["1||2", "3|", "\\"], "journal": {"title": "a||b"}}}
    header = list(layout.COLUMNS)
    cells = layout.cells(record, header)
    assert layout.record_of(header, cells) == record


def test_the_json_lines_export_writes_what_the_json_module_writes():
    # the export writes its lines with pydantic-core (quicker): byte for byte json.dumps's compact form
    import json

    import pydantic_core

    record = {"id": 2**63 - 1, "text": "".join(map(chr, range(0x80))) + "\u2028\u2029\ufeff😀\"\\/é«»",
              "values": [True, False, None, 0, -5, {"nested": ["x"]}], "empty": {}}
    assert pydantic_core.to_json(record).decode() == json.dumps(record, ensure_ascii=False, separators=(",", ":"))
