"""BibTeX and RIS files as Zotero exports them (written by hand from the formats' documentation:
BibTeX with ``@string``-free Zotero fields, LaTeX accents and a ``file`` field; RIS with ``L1``
attachments and Zotero's ``ID``), imported with their files from ``--files DIR``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import pdf_bytes
from repo.files.models import File
from repo.ingest.models import IngestRecord
from repo.works.models import Work

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # parsing: one database is enough
FIXTURES = Path(__file__).parent / "fixtures"


def _works(database) -> dict[str, tuple[str, dict, list[str]]]:  # type: ignore[no-untyped-def,type-arg]
    with database.session() as session:
        rows = session.execute(sa.select(IngestRecord.external_id, Work.id, Work.type, Work.doc)
                               .join(Work, Work.id == IngestRecord.work_id)).all()
        names = {}
        for work_id, name in session.execute(sa.select(File.work_id, File.name)):
            names.setdefault(work_id, []).append(name)
        return {key: (kind, doc, names.get(work_id, [])) for key, work_id, kind, doc in rows}


def test_zotero_bibtex_with_its_files(cli, database, tmp_path):
    cli.setup()
    files = tmp_path / "export"
    (files / "files" / "12").mkdir(parents=True)
    (files / "files" / "12" / "Freire - 1970 - Pedagogía.pdf").write_bytes(pdf_bytes())
    shutil.copy(FIXTURES / "zotero.bib", tmp_path / "library.bib")
    report = tmp_path / "report.csv"
    output = cli("import", str(tmp_path / "library.bib"), "--centre", "centre-a", "--files", str(files),
                 "--report", str(report), code=1)
    assert "created 3" in output and "failed 1" in output
    assert "33,broken" not in report.read_text() and report.read_text().splitlines()[1].startswith("33,")
    works = _works(database)
    kind, doc, names = works["freire_pedagogia_1970"]
    assert kind == "journal_article" and names == ["Freire - 1970 - Pedagogía.pdf"]
    assert doc["titles"][0] == {"value": "Pedagogía del oprimido", "lang": "spa", "type": "main"}
    assert [(c["family"], c.get("given")) for c in doc["creators"]] == [("Freire", "Paulo"), ("de Souza", "Ana Maria")]
    assert doc["publication_date"] == "1970-05" and doc["doi"] == "10.1234/freire.1970"
    assert doc["journal"]["pages"] == {"start": "10", "end": "20"} and doc["journal"]["issn"] == "0188-7653"
    kind, doc, _ = works["souza_capitulo_2019"]
    assert kind == "book_part" and doc["book"]["title"] == "Libro colectivo"
    assert doc["book"]["editors"][0]["family"] == "Pérez" and doc["isbn"] == ["978-0-306-40615-7"]
    assert works["otro_2001"][1]["creators"] == [{"name": "Colectivo Sur", "affiliations": [], "role": "author"}]
    again = cli("import", str(tmp_path / "library.bib"), "--centre", "centre-a", "--files", str(files), code=1)
    assert "created 0" in again and "unchanged 3" in again  # the citation key is the record's identity
    assert _works(database)["freire_pedagogia_1970"][2] == ["Freire - 1970 - Pedagogía.pdf"]


def test_zotero_ris(cli, database, tmp_path):
    cli.setup()
    report = tmp_path / "report.csv"
    output = cli("import", str(FIXTURES / "zotero.ris"), "--centre", "centre-a", "--report", str(report), code=1)
    assert "created 2" in output and "failed 2" in output  # a file named without --files; a record without TY
    lines = report.read_text(encoding="utf-8").splitlines()[1:]
    assert lines[0].startswith("1,3,failed,files") and "--files" in lines[0]
    assert lines[1].startswith("3,") and "TY" in lines[1]
    works = _works(database)
    assert set(works) == {"4", "5"}
    kind, doc, _ = works["4"]
    assert kind == "book_part" and doc["book"]["editors"][0]["family"] == "Pérez" and doc["place"] == "Buenos Aires"
    assert works["5"][0] == "master_thesis" and works["5"][1]["publisher"] == "Universidad de Buenos Aires"
    files = tmp_path / "export"
    (files / "files" / "3").mkdir(parents=True)
    (files / "files" / "3" / "freire.pdf").write_bytes(pdf_bytes())
    output = cli("import", str(FIXTURES / "zotero.ris"), "--centre", "centre-a", "--files", str(files), code=1)
    assert "created 1" in output and "unchanged 2" in output and "failed 1" in output
    kind, doc, names = _works(database)["3"]
    assert kind == "journal_article" and names == ["freire.pdf"] and doc["languages"] == ["spa"]
    assert doc["journal"] == {"title": "Revista Latinoamericana de Educación", "issn": "0188-7653", "volume": "3",
                              "issue": "1", "pages": {"start": "10", "end": "20"}}
