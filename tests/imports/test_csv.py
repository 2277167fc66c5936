"""CSV files as spreadsheets write them (LibreOffice: BOM, ``;``, quoted line breaks; Excel on
Windows: Windows-1252, CRLF), and rows that fail alone with a clear reason in the report."""

from __future__ import annotations

import csv

import pytest

from repo.db import Database

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # parsing: one database is enough

HEADER = ("external_id;type;status;titles;titles.type;creators.family;creators.given;creators.affiliations.name;"
          "abstracts;languages;publication_date;access_right;doi;collections")
LIBREOFFICE = ("\ufeff" + HEADER + "\r\n"
               'lo-1;book;published;Educación popular@spa||Popular education@eng;main||translated;Freire||Souza;'
               'Paulo||Ana;CLACSO|UBA||USP;"Primera línea;\r\nsegunda ""citada""@spa";spa||eng;1970;open;'
               '10.1234/lo.1;libros\r\n'
               ';;;;;;;;;;;;;\r\n'  # an empty row, as spreadsheets save them: not a record
               'lo-2;report;draft;Informe@spa;;Pérez;Juan;;;spa;2020;open;;\r\n').encode("utf-8")
EXCEL = ("external_id,type,status,titles,creators.family,languages,publication_date,access_right\r\n"
         "xl-1,working_paper,published,Política pública@spa,Núñez,spa,2019,open\r\n").encode("cp1252")


def _works(database: Database) -> dict[str, dict]:  # type: ignore[type-arg]
    import sqlalchemy as sa

    from repo.ingest.models import IngestRecord
    from repo.works.models import Work

    with database.session() as session:
        found = session.execute(sa.select(IngestRecord.external_id, Work.status, Work.doc)
                                .join(Work, Work.id == IngestRecord.work_id)).all()
        return {external_id: {"status": status, **doc} for external_id, status, doc in found}


def test_libreoffice_and_excel_files(cli, database, tmp_path):
    cli.setup()
    (tmp_path / "lo.csv").write_bytes(LIBREOFFICE)
    (tmp_path / "xl.csv").write_bytes(EXCEL)
    dry = cli("import", str(tmp_path / "lo.csv"), "--centre", "centre-a", "--dry-run")
    assert "created 2" in dry and "failed 0" in dry and _works(database) == {}
    assert "created 2" in cli("import", str(tmp_path / "lo.csv"), "--centre", "centre-a")
    output = cli("import", str(tmp_path / "xl.csv"), "--centre", "centre-a")
    assert "created 1" in output and "Windows-1252" in output
    works = _works(database)
    lo = works["lo-1"]
    assert [(t["value"], t["lang"], t["type"]) for t in lo["titles"]] == [
        ("Educación popular", "spa", "main"), ("Popular education", "eng", "translated")]
    assert [(c["family"], [a["name"] for a in c["affiliations"]]) for c in lo["creators"]] == [
        ("Freire", ["CLACSO", "UBA"]), ("Souza", ["USP"])]
    assert lo["abstracts"][0]["value"] == 'Primera línea;\nsegunda "citada"' and lo["languages"] == ["spa", "eng"]
    assert works["lo-2"]["status"] == "draft" and lo["status"] == "published"
    assert works["xl-1"]["titles"][0]["value"] == "Política pública" and works["xl-1"]["creators"][0]["family"] == "Núñez"


def test_bad_rows_fail_alone_with_the_column_and_the_reason(cli, database, tmp_path):
    cli.setup()
    rows = [
        "external_id,type,titles,creators.family,languages,publication_date,access_right,colour",
        "ok,book,Bueno@spa,Freire,spa,2001,open,",
        'formula,book,"=HYPERLINK(""http://evil"",""x"")",Freire,spa,2001,open,',
        "unknown,book,Color@spa,Freire,spa,2001,open,rojo",
        "ragged,book,Largo@spa,Freire,spa,2001,open,,extra",
        f"long,book,{'x' * 10_000}@spa,Freire,spa,2001,open,",
        "bad-lang,book,Malo@spa,Freire,klingon-x,2001,open,",
        "'=text,book,Apóstrofo@spa,Freire,spa,2001,open,",
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows) + "\n" + "not-utf8,book,Caf\xe9@spa,Freire,spa,2001,open,\n", encoding="utf-8")
    path.write_bytes(path.read_bytes().replace("Café".encode(), b"Caf\xe9"))
    report = tmp_path / "report.csv"
    output = cli("import", str(path), "--centre", "centre-a", "--publish", "--report", str(report), code=1)
    assert "created 2" in output and "failed 6" in output
    lines = report.read_text(encoding="utf-8").splitlines()
    by_row = {}
    for line in lines[1:]:
        row, external_id, kind, field, message, _ = next(csv.reader([line]))
        by_row.setdefault(int(row), []).append((field, message))
    assert by_row[3][0][0] == "titles" and "formula" in by_row[3][0][1]
    assert by_row[4] == [("colour", "not a column of the import layout")]
    assert by_row[5][0][0] == "row" and "9 cells" in by_row[5][0][1]
    assert by_row[6][0][0] == "titles (value 1)" and "2000" in by_row[6][0][1]
    assert by_row[7][0][0] == "languages (value 1)"
    assert by_row[9][0][0] == "titles" and "0xE9" in by_row[9][0][1]
    assert sorted(by_row) == [3, 4, 5, 6, 7, 9]
    works = _works(database)
    assert sorted(works) == ["=text", "ok"]  # the apostrophe that makes a formula text is taken away
