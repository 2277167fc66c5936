"""Interface languages: negotiation, switching, the cookie, and complete catalogs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from lxml import html

from conftest import Room

from repo.web import i18n

WEB = Path(i18n.__file__).parent

# Rendering and parsing do not depend on the database: one (SQLite) is enough here; the SQL of the
# reading room runs on both databases in test_landing.py and test_browse.py.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
@pytest.mark.parametrize("header,expected", [
    ("pt-BR,pt;q=0.9,en;q=0.8", "pt"), ("en-GB,en;q=0.9", "en"), ("de-DE,de;q=0.9,pt;q=0.5", "pt"),
    ("fr, en;q=0.1", "fr"), ("fr-CA,fr;q=0.9", "fr"), ("de, en;q=0.1", "en"), ("zh-CN", "es"), ("", "es"), ("en;q=0, es;q=0.2", "es"), ("en;q=abc", "es"),
    ("*", "es"), ("es-419", "es"), ("a" * 5000, "es"), (";;;,,,q=", "es"),
])
def test_accept_language(client: TestClient, header: str, expected: str) -> None:
    response = client.get("/", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert response.headers["content-language"] == expected
    assert html.fromstring(response.text).xpath("/html/@lang") == [expected]


@sqlite_only
def test_switch_is_remembered_in_a_cookie(room: Room) -> None:
    client = room.client
    first = client.get(f"/works/{room['open_book']}?lang=pt", headers={"Accept-Language": "en"})
    assert first.headers["content-language"] == "pt"
    assert "lang=pt" in first.headers["set-cookie"]
    assert "Resumo" in first.text
    later = client.get("/centres", headers={"Accept-Language": "en"})  # the cookie beats the header
    assert later.headers["content-language"] == "pt"
    assert html.fromstring(later.text).xpath("string(//h1)") == "Centros membros"
    assert "set-cookie" not in later.headers


@sqlite_only
@pytest.mark.parametrize("value", ["de", "xx-YY", "<script>", "e" * 200, "", "pt_BR"])
def test_unsupported_or_odd_lang_values_are_ignored(client: TestClient, value: str) -> None:
    response = client.get("/", params={"lang": value}, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    expected = "pt" if value == "pt_BR" else "en"
    assert response.headers["content-language"] == expected
    assert "<script>" not in response.text


@sqlite_only
def test_every_page_links_to_every_language_keeping_the_query(room: Room) -> None:
    for path in ("/", f"/works/{room['article']}", "/search?q=vivienda&type=working_paper", "/centres/iep"):
        tree = html.fromstring(room.client.get(path, headers={"Accept-Language": "en"}).text)
        switch = tree.xpath("//nav[contains(@class,'lang-switch')]")[0]
        links = {a.get("hreflang"): a.get("href") for a in switch.xpath(".//a")}
        assert set(links) == {"es", "pt", "fr"}  # English is the current one, not a link
        assert switch.xpath(".//*[@aria-current='true']/text()") == ["English"]
        for code, href in links.items():
            assert href.startswith(path.split("?")[0]) and f"lang={code}" in href
            if "q=vivienda" in path:
                assert "q=vivienda" in href and "type=working_paper" in href


def test_catalogs_are_complete_and_in_sync_with_the_sources(tmp_path: Path) -> None:
    """Every extracted string has its Spanish, Portuguese, French and English text (English, the
    source language, is a catalog too, so a string added without its entries fails here)."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "N_",
                    "--no-location", "--sort-output", "--project=repo", "-o", str(pot), "."],
                   cwd=WEB, check=True, capture_output=True)
    with pot.open("rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    assert len(extracted) > 100
    assert set(i18n.LANGUAGES) == {"es", "pt", "en", "fr"}
    for lang in i18n.LANGUAGES:
        with (WEB / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        translated = {m.id for m in catalog if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
                      and not m.fuzzy}
        assert extracted - translated == set(), lang


@sqlite_only
def test_dates_and_numbers_follow_the_language(room: Room) -> None:
    work = room["thesis_embargoed"]
    for lang, month in (("es", "de"), ("pt", "de"), ("en", ","), ("fr", "jusqu'au")):
        tree = html.fromstring(room.client.get(f"/works/{work}", headers={"Accept-Language": lang}).text)
        assert month in tree.xpath("string(//p[@class='work-kicker']//*[contains(@class,'badge')])")
