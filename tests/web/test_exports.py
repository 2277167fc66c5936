"""Citation exports parsed back by the field's libraries, and the formatted APA/ABNT citations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bibtexparser
import jsonschema
import pytest
import rispy
from lxml import html

from conftest import Room

# Rendering and parsing do not depend on the database: one (SQLite) is enough here; the SQL of the
# reading room runs on both databases in test_landing.py and test_browse.py.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CSL_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "csl-data.json").read_text())
KINDS = ["open_book", "article", "chapter", "thesis_embargoed", "translated"]


def _export(room: Room, work: int, name: str) -> Any:
    response = room.client.get(f"/works/{work}/export/{name}")
    assert response.status_code == 200, response.text
    return response


def test_bibtex_parses_back(room: Room) -> None:
    for kind in KINDS:
        response = _export(room, room[kind], "bibtex")
        assert response.headers["content-type"].startswith("application/x-bibtex")
        library = bibtexparser.parse_string(response.text)
        assert not library.failed_blocks
        assert len(library.entries) == 1
        entry = library.entries[0]
        assert entry.key == f"repo{room[kind]}"
        fields = {f.key: f.value for f in entry.fields}
        assert fields["url"] == f"http://testserver/works/{room[kind]}"
        if kind == "article":
            assert entry.entry_type == "article"
            assert fields["journal"] == "Crítica Jurídica"
            assert fields["pages"] == "45--71"
            assert fields["doi"] == "10.1234/cj.2022.045"
            assert fields["author"] == "Quispe Mamani, Rosa"
        if kind == "open_book":
            assert entry.entry_type == "book"
            assert fields["author"] == "Gadotti, Moacir and Torres, Carlos Alberto"
            assert fields["publisher"] == "CLACSO" and fields["isbn"] == "978-987-722-432-0"
        if kind == "thesis_embargoed":
            assert entry.entry_type == "phdthesis" and fields["school"] == "FLACSO Argentina"


def test_bibtex_escapes_tex_specials(room: Room, client: Any) -> None:
    record = {"type": "report", "centre": "iep", "access_right": "open",
              "metadata": {"titles": [{"value": "Costs & benefits: 50% of {all} $cases_#1 ~ \\end"}],
                           "creators": [{"name": "Instituto & Co"}], "languages": ["spa"],
                           "publication_date": "2020"}}
    work = room.deposit(record)
    library = bibtexparser.parse_string(_export(room, work, "bibtex").text)
    assert not library.failed_blocks and len(library.entries) == 1
    title = library.entries[0].fields_dict["title"].value
    assert title == r"Costs \& benefits: 50\% of \{all\} \$cases\_\#1 \~{} \textbackslash{}end"


def test_ris_parses_back(room: Room) -> None:
    for kind in KINDS:
        response = _export(room, room[kind], "ris")
        entries = rispy.loads(response.text)
        assert len(entries) == 1
        entry = entries[0]
        assert entry["urls"][0] == f"http://testserver/works/{room[kind]}"
        if kind == "article":
            assert entry["type_of_reference"] == "JOUR"
            assert entry["title"] == "Derechos indígenas y consulta previa en los Andes"
            assert entry["authors"] == ["Quispe Mamani, Rosa"]
            assert entry["secondary_title"] == "Crítica Jurídica"
            assert (entry["volume"], entry["number"], entry["start_page"], entry["end_page"]) == ("18", "2", "45", "71")
            assert entry["doi"] == "10.1234/cj.2022.045"
            assert entry["year"] == "2022"
            # the open PDF is linked; nothing else
            assert entry["file_attachments1"] == f"http://testserver/works/{room['article']}/files/articulo.pdf"
        if kind == "chapter":
            assert entry["type_of_reference"] == "CHAP"
            assert entry["secondary_title"] == "Mobilités et territoires en Amérique latine"
        if kind == "thesis_embargoed":
            assert entry["type_of_reference"] == "THES"
            assert "file_attachments1" not in entry  # the embargoed PDF is not offered


def test_csl_json_is_valid_against_the_csl_schema(room: Room) -> None:
    for kind in KINDS:
        response = _export(room, room[kind], "csl-json")
        assert response.headers["content-type"].startswith("application/vnd.citationstyles.csl+json")
        items = response.json()
        errors = [e.message for e in jsonschema.Draft3Validator(CSL_SCHEMA).iter_errors(items)]
        assert errors == []
        item = items[0]
        if kind == "article":
            assert item["type"] == "article-journal"
            assert item["issued"] == {"date-parts": [[2022, 7]]}
            assert item["author"] == [{"family": "Quispe Mamani", "given": "Rosa"}]
            assert item["container-title"] == "Crítica Jurídica" and item["page"] == "45-71"
        if kind == "chapter":
            assert item["type"] == "chapter" and item["language"] == "fr"


def test_every_work_type_exports_valid_csl_json(room: Room, database: Any) -> None:
    """All published demo works (every type, audio, video, image, lecture…) validate."""
    import sqlalchemy as sa

    from repo.works.models import Work

    with database.session() as session:
        ids = session.scalars(sa.select(Work.id).where(Work.status == "published")).all()
    validator = jsonschema.Draft3Validator(CSL_SCHEMA)
    for work in ids:
        items = _export(room, work, "csl-json").json()
        assert [e.message for e in validator.iter_errors(items)] == [], work
        assert rispy.loads(_export(room, work, "ris").text)
        assert not bibtexparser.parse_string(_export(room, work, "bibtex").text).failed_blocks


def _citation(room: Room, work: int, style: str, lang: str = "es") -> str:
    tree = html.fromstring(room.client.get(f"/works/{work}?lang={lang}").text)
    return " ".join(tree.xpath(f"string(//p[@id='cite-{style}'])").split())


def test_apa_citations(room: Room) -> None:
    assert _citation(room, room["article"], "apa") == (
        "Quispe Mamani, R. (2022). Derechos indígenas y consulta previa en los Andes. Crítica Jurídica, 18(2), "
        "45–71. https://doi.org/10.1234/cj.2022.045")
    assert _citation(room, room["open_book"], "apa") == (
        "Gadotti, M., & Torres, C. A. (2019). Educación popular y movimientos sociales en América Latina. "
        f"CLACSO. http://testserver/works/{room['open_book']}")
    # APA's own words follow the page's language; the metadata keep theirs
    for lang, word in (("es", "En"), ("en", "In"), ("pt", "In"), ("fr", "Dans")):
        assert _citation(room, room["chapter"], "apa", lang) == (
            "Lévy, H. (2018). Les migrations andines vers l'Europe : trajectoires et réseaux. "
            f"{word} Mobilités et territoires en Amérique latine ({'p.' if lang == 'fr' else 'pp.'} 101–128). "
            f"IRD Éditions. http://testserver/works/{room['chapter']}")
    for lang, kind in (("es", "Tesis doctoral"), ("en", "Doctoral dissertation"), ("pt", "Tese de doutorado"),
                       ("fr", "Thèse de doctorat")):
        assert _citation(room, room["thesis_embargoed"], "apa", lang).startswith(
            "Pérez, L. (2024). Juventudes, trabajo y precariedad en el conurbano bonaerense "
            f"[{kind}, FLACSO Argentina].")
    tree = html.fromstring(room.client.get(f"/works/{room['article']}").text)
    assert tree.xpath("//p[@id='cite-apa']/i/text()") == ["Crítica Jurídica", "18"]


def test_abnt_citations(room: Room, clock: Any) -> None:
    months = ["jan.", "fev.", "mar.", "abr.", "maio", "jun.", "jul.", "ago.", "set.", "out.", "nov.", "dez."]
    today = clock.now()
    accessed = f"Acesso em: {today.day} {months[today.month - 1]} {today.year}."
    assert _citation(room, room["article"], "abnt") == (
        "QUISPE MAMANI, Rosa. Derechos indígenas y consulta previa en los Andes. Crítica Jurídica, v. 18, n. 2, "
        f"p. 45-71, 2022. Disponível em: https://doi.org/10.1234/cj.2022.045. {accessed}")
    assert _citation(room, room["open_book"], "abnt") == (
        "GADOTTI, Moacir; TORRES, Carlos Alberto. Educación popular y movimientos sociales en América Latina. "
        f"Buenos Aires: CLACSO, 2019. Disponível em: http://testserver/works/{room['open_book']}. {accessed}")
    assert _citation(room, room["chapter"], "abnt") == (
        "LÉVY, Hélène. Les migrations andines vers l'Europe : trajectoires et réseaux. "
        "In: Mobilités et territoires en Amérique latine. Marseille: IRD Éditions, 2018. p. 101-128. "
        f"Disponível em: http://testserver/works/{room['chapter']}. {accessed}")
    tree = html.fromstring(room.client.get(f"/works/{room['open_book']}").text)
    assert tree.xpath("//p[@id='cite-abnt']/b/text()") == [
        "Educación popular y movimientos sociales en América Latina"]
