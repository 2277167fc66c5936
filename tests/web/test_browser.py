"""The reading room in a real browser: Debian's Chromium, headless, driven by Playwright.

Skipped with the reason when /usr/bin/chromium is missing; REPO_REQUIRE_CHROMIUM=1 (CI) makes
that a failure. A failing test leaves a screenshot in tests/artifacts/.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from conftest import Room

# Rendering and parsing do not depend on the database: one (SQLite) is enough here; the SQL of the
# reading room runs on both databases in test_landing.py and test_browse.py.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_search_apply_a_facet_and_open_a_work(page: Any, room: Room) -> None:
    page.goto("/")
    page.get_by_label("Buscar en el repositorio").fill("educación")
    page.get_by_role("button", name="Buscar").first.click()
    page.wait_for_url("**/search?q=*")
    total = page.locator("#results-h").inner_text()
    assert total.split()[0].isdigit() and int(total.split()[0]) >= 1
    assert page.locator("section.results mark").count() >= 1
    page.locator("a[data-facet='type'][data-value='book']").click()
    page.wait_for_url("**type=book**")
    assert page.locator("a[data-facet='type'][data-value='book'][aria-current='true']").count() == 1
    page.get_by_role("link", name="Educación popular y movimientos sociales en América Latina").click()
    page.wait_for_url(f"**/works/{room['open_book']}")
    assert page.locator("h1").inner_text() == "Educación popular y movimientos sociales en América Latina"
    assert page.title().startswith("Educación popular")


def test_download_an_open_pdf(page: Any, room: Room) -> None:
    page.goto(f"/works/{room['open_book']}")
    # the file's name opens it in the browser: no download attribute on that link
    assert page.get_by_role("link", name="libro.pdf", exact=True).get_attribute("download") is None
    with page.expect_download() as info:
        page.get_by_role("link", name="Descargar libro.pdf").click()
    download = info.value
    assert download.suggested_filename == "libro.pdf"
    data = open(download.path(), "rb").read()
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(room.extra["pdf"]).hexdigest()
    # the embargoed annex is listed without a link
    assert page.get_by_role("link", name="anexo.pdf").count() == 0


def test_embargo_badge_and_language_switch(page: Any, room: Room) -> None:
    page.goto(f"/works/{room['thesis_embargoed']}")
    badge = page.locator(".work-kicker .badge-embargoed")
    assert badge.inner_text().startswith("Embargado hasta el")  # Spanish: the default language
    page.get_by_role("navigation", name="Idioma").get_by_role("link", name="Português").click()
    page.wait_for_url("**lang=pt")
    assert page.locator(".work-kicker .badge-embargoed").inner_text().startswith("Em embargo até")
    assert page.locator("html").get_attribute("lang") == "pt"
    # remembered: a page opened later without ?lang= is still in Portuguese
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "pt"
    assert page.get_by_role("heading", name="Obras recentes").count() == 1
    page.get_by_role("navigation", name="Idioma").get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Latest works").count() == 1


def test_keyboard_skip_link_and_focus(page: Any, room: Room) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    assert page.locator(".skip-link").is_visible()  # it shows itself when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    outline = page.evaluate("getComputedStyle(document.querySelector('.skip-link')).outlineStyle")
    assert outline in ("solid", "none")


def test_script_in_metadata_never_runs(page: Any, room: Room, client: Any) -> None:
    record = {"type": "book", "centre": "iep", "access_right": "open",
              "metadata": {"titles": [{"value": "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>"}],
                           "creators": [{"family": "<svg onload=\"window.pwned=3\">"}], "languages": ["spa"],
                           "publication_date": "2021"}}
    work = room.deposit(record)
    room.drain()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path in (f"/works/{work}", "/", "/search?q=pwned", "/search?q=img"):
        page.goto(path)
        assert page.evaluate("window.pwned === undefined"), path
    assert dialogs == []
    page.goto(f"/works/{work}")
    assert page.locator("h1").inner_text().startswith("<img src=x")


def test_small_screen_layout_has_no_horizontal_scroll(page: Any, room: Room) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/", f"/works/{room['article']}", "/search?q=derechos"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, path


def test_pages_run_under_their_policy_without_a_violation(page: Any, room: Room) -> None:
    """The Content-Security-Policy is enforced (an inline script added to the page is refused)
    and the pages themselves never trip it: the JSON-LD data block needs no hash."""
    page.add_init_script("""window.violations = [];
        document.addEventListener('securitypolicyviolation',
            e => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));""")
    for path in ("/", f"/works/{room['open_book']}", "/search?q=educación&type=book", "/centres", "/nope"):
        page.goto(path)
        assert page.evaluate("window.violations") == [], path
    page.goto(f"/works/{room['article']}")
    data = page.evaluate("JSON.parse(document.querySelector('script[type=\"application/ld+json\"]').textContent)")
    assert data["@context"] and data["name"]
    page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.inlineRan = true'; document.body.appendChild(s); }""")
    assert page.evaluate("window.inlineRan === undefined")
    page.wait_for_function("() => window.violations.length > 0")  # a function: see test_room_in_browser
    assert any(v.startswith("script-src") for v in page.evaluate("window.violations"))
