"""The reading room in Debian's Chromium: media that plays, PDFs that open, the keyboard, the phone,
axe-core on every page type in the four languages, and pages that parse as HTML5 without error.

One browser per test process (``browser``) and one served room (``shared_room``) for all of it.
axe-core comes from npm (``.ci/run`` installs it into ``~/.cache/repo-tests``; ``REPO_AXE`` names
another ``axe.min.js``); without it these accessibility checks skip with the reason, or fail when
REPO_REQUIRE_CHROMIUM=1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import html5lib
import pytest

from conftest import Room

from repo.web import i18n

AXE = Path(os.environ.get("REPO_AXE", Path.home() / ".cache/repo-tests/node_modules/axe-core/axe.min.js"))


@pytest.fixture
def tab(browser: Any, shared_room: Room, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(base_url=shared_room.extra["url"], locale="es-ES")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def page_types(room: Room) -> dict[str, str]:
    return {
        "home": "/", "search": "/search?q=educación&type=book", "search-empty": "/search?q=zzzqqq",
        "search-problem": "/search?q=%2A", "facet-list": "/search/facets/language?q=a",
        "book": f"/works/{room['open_book']}", "article": f"/works/{room['article']}",
        "audio": f"/works/{room['sound']}", "video": f"/works/{room['video']}", "image": f"/works/{room['image']}",
        "embargoed": f"/works/{room['thesis_embargoed']}", "tombstone": f"/works/{room['withdrawn']}",
        "centres": "/centres", "centre": "/centres/flacso-ar", "collection": "/collections/biblioteca",
        "authors": "/browse/authors?letter=g", "subjects": "/browse/subjects?letter=d", "not-found": "/nope",
        "file-error": f"/works/{room['open_book']}/files/anexo.pdf",
    }


def test_audio_and_video_play_from_a_range_served_file(tab: Any, shared_room: Room) -> None:
    ranges: list[str] = []
    tab.on("request", lambda r: ranges.append(r.headers.get("range", "")) if "/files/" in r.url else None)
    for key, selector in (("sound", "audio"), ("video", "video")):
        tab.goto(f"/works/{shared_room[key]}")
        # A function, not an expression: Playwright evals the string once (allowed, through the
        # debugger) and polls the cached function; an expression would be eval'd on every poll,
        # which the page's policy (no 'unsafe-eval') refuses when the first check is false.
        tab.wait_for_function(f"() => document.querySelector('{selector}').readyState >= 3", timeout=15_000)  # canplay
        state = tab.evaluate(f"""() => {{ const m = document.querySelector('{selector}');
            return {{error: m.error, duration: m.duration, source: m.currentSrc}}; }}""")
        assert state["error"] is None and state["duration"] > 1, (key, state)
    assert any(r.startswith("bytes=") for r in ranges)  # the browser asked for ranges, and got them
    # the captions load as a text track of the video
    cues = tab.evaluate("""async () => { const t = document.querySelector('video').textTracks[0];
        t.mode = 'showing'; for (let i = 0; i < 50 && !(t.cues && t.cues.length); i++)
        await new Promise(r => setTimeout(r, 100)); return t.cues ? t.cues.length : 0; }""")
    assert cues == 1
    tab.goto(f"/works/{shared_room['image']}")
    assert tab.evaluate("document.querySelector('img.picture').naturalWidth") == 480


def test_a_pdf_opens_in_the_browser_and_downloads_from_its_own_link(tab: Any, shared_room: Room) -> None:
    tab.goto(f"/works/{shared_room['open_book']}")
    link = tab.get_by_role("link", name="libro.pdf", exact=True)
    assert link.get_attribute("download") is None
    with tab.expect_response(lambda r: r.url.endswith("/files/libro.pdf")) as info:
        try:
            link.click()
        except Exception:  # headless Chromium may hand a PDF to its downloads rather than a viewer
            pass
    response = info.value
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    tab.goto(f"/works/{shared_room['open_book']}")
    with tab.expect_download() as download:
        tab.get_by_role("link", name="Descargar libro.pdf").click()
    assert download.value.suggested_filename == "libro.pdf"


def test_keyboard_reaches_search_facets_results_and_players(tab: Any, shared_room: Room) -> None:
    tab.goto("/")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.className") == "skip-link"
    tab.keyboard.press("Enter")
    tab.keyboard.press("Tab")  # from the main landmark: the search field of the home page
    assert tab.evaluate("document.activeElement.id") == "home-q"
    tab.keyboard.type("educación")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/search?q=*")
    # Tab through the page until a type facet has focus, then follow it with Enter
    for _ in range(60):
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.dataset.facet") == "type":
            break
    else:
        pytest.fail("no facet link reachable by Tab")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**type=**")
    tab.goto(f"/works/{shared_room['sound']}")
    for _ in range(40):
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.tagName") == "AUDIO":
            break
    else:
        pytest.fail("the audio player is not reachable by Tab")
    outline = tab.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_phone_layout_folds_the_facets_above_the_results(tab: Any, shared_room: Room) -> None:
    tab.set_viewport_size({"width": 360, "height": 740})
    for path in ("/", f"/works/{shared_room['video']}", "/search?q=derechos", "/centres", "/browse/authors"):
        tab.goto(path)
        overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, path
    tab.goto("/search?q=a")
    panel = tab.locator("details.facets-panel")
    assert panel.evaluate("d => d.open") is False  # folded
    facets_top = panel.bounding_box()["y"]
    results_top = tab.locator("section.results").bounding_box()["y"]
    assert facets_top < results_top < 740  # the summary first, the results still on the first screen
    panel.locator("summary").click()
    assert panel.evaluate("d => d.open") is True and tab.locator("a[data-facet='type']").first.is_visible()
    tab.set_viewport_size({"width": 1280, "height": 800})
    assert panel.evaluate("d => d.open") is True  # wide again: always open


def _axe(tab: Any) -> list[dict[str, Any]]:
    tab.evaluate(AXE.read_text())  # evaluated by the driver: the page's policy does not apply to it
    result = tab.evaluate("""() => axe.run(document, {resultTypes: ['violations']})""")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))  # one test per language: xdist spreads them
def test_axe_finds_no_serious_violation_on_any_page_type(browser: Any, shared_room: Room, lang: str) -> None:
    if not AXE.exists():
        if os.environ.get("REPO_REQUIRE_CHROMIUM", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"REPO_REQUIRE_CHROMIUM=1 but axe-core is missing ({AXE}): npm install axe-core")
        pytest.skip(f"axe-core not found at {AXE}: npm install --prefix ~/.cache/repo-tests axe-core")
    context = browser.new_context(base_url=shared_room.extra["url"])
    tab = context.new_page()
    found: dict[str, list[str]] = {}
    try:
        for name, path in page_types(shared_room).items():
            tab.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
            for violation in _axe(tab):
                nodes = [n["target"] for n in violation["nodes"]][:3]
                found.setdefault(f"{name} [{lang}]", []).append(f"{violation['id']}: {nodes}")
    finally:
        context.close()
    assert found == {}


def test_every_page_type_parses_as_html5_without_error(shared_room: Room) -> None:
    client = shared_room.client
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    for lang in i18n.LANGUAGES:
        for name, path in page_types(shared_room).items():
            response = client.get(path + ("&" if "?" in path else "?") + f"lang={lang}",
                                  headers={"Accept": "text/html"})
            assert response.headers["content-type"].startswith("text/html"), name
            parser.parse(response.text)  # raises on the first parse error
            assert not parser.errors, (name, lang, parser.errors[:3])
    for path in ("/api/docs", "/api/redoc"):
        parser.parse(client.get(path).text)
