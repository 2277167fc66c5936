"""Rendering of reading-room pages: one Jinja2 environment per interface language, the
language cookie, and HTML error pages for every error a reader can provoke.
"""

from __future__ import annotations

import gettext
import html
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from repo.errors import ProblemError
from repo.web import citations, delivery, exports, i18n, labels, results
from repo.works.vocabularies import licence_label

TEMPLATES_DIR = Path(__file__).parent / "templates"
_WORK_PATH = re.compile(r"^/works/[0-9]{1,19}(?=/files/)")
COOKIE_MAX_AGE = 365 * 24 * 3600


def escaped_gettext(catalog: gettext.NullTranslations) -> dict[str, Callable[..., Markup]]:
    """gettext callables whose results are *text*, escaped like any other value.

    Jinja's new-style gettext marks what ``gettext`` returns as safe markup (it trusts message ids
    to be literals in templates), so ``_(value)`` with a value from a request or the metadata —
    ``_(labels.TYPES.get(value, value))`` for a type the labels do not know — reached the page
    unescaped. Escaping the translation here makes every ``_()``, ``ngettext()`` and their
    ``%(name)s`` arguments safe whatever the message id is (no catalog string holds markup; a
    test keeps it so), so no call site can reintroduce the hole.
    """
    return {
        "gettext": lambda message: escape(catalog.gettext(message)),
        "ngettext": lambda singular, plural, n: escape(catalog.ngettext(singular, plural, n)),
        "pgettext": lambda context, message: escape(catalog.pgettext(context, message)),
        "npgettext": lambda context, singular, plural, n: escape(catalog.npgettext(context, singular, plural, n)),
    }


@lru_cache(maxsize=None)
def environment(lang: str) -> Environment:
    """The template environment of one language (its gettext catalog installed once).

    Autoescaping is on for every template, whatever its file name: everything rendered here is
    HTML, and only values that are already :class:`~markupsafe.Markup` (citations, highlight
    snippets, both built by escaping) pass unescaped.
    """
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(**escaped_gettext(i18n.translations(lang)), newstyle=True)  # type: ignore[attr-defined]
    env.globals["licence_label"] = licence_label
    env.filters["bcp47"] = lambda code: i18n._alpha2(code) or code  # HTML wants "es", not "spa"
    env.globals["labels"] = labels
    env.globals["exports"] = exports
    env.globals["citations"] = citations
    env.globals["snippet"] = results.safe_snippet
    env.globals["page_url"] = results.page_url
    env.globals["LANGUAGES"] = i18n.LANGUAGES
    env.globals["chips"] = chips
    env.globals["unmarked"] = unmarked
    return env


def chips(found: results.Results) -> list[tuple[str, str, str, str]]:
    """The active filters as ``(dimension, value, label, url to remove)``: the raw value lets the
    page say it in the reader's language (a type or access code, a language code)."""
    values = iter([value for dimension in results.LIST_FILTERS for value in found.state.get(dimension, [])])
    return [(dimension, label if dimension == "year" else next(values, label), label, url)
            for dimension, label, url in found.active]


def unmarked(snippet: str) -> str:
    """A highlight's text without its ``<mark>`` tags (snippets arrive HTML-escaped)."""
    return html.unescape(snippet.replace("<mark>", "").replace("</mark>", ""))


def query_url(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters replaced (None removes one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    for key, value in changes.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            params += [(key, str(v)) for v in value]
        else:
            params.append((key, str(value)))
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


#: OpenGraph locales of the interface languages (og:locale wants language_TERRITORY).
OG_LOCALES = {"es": "es_LA", "pt": "pt_BR", "en": "en_US", "fr": "fr_FR"}


@dataclass(frozen=True)
class PageLinks:
    """The page's canonical URL and its language versions.

    Each language version is the URL with ``?lang=xx``, which always serves that language, so it
    is its own canonical; the URL without ``lang`` negotiates the language (cookie,
    Accept-Language) and is the ``x-default``. ``keep`` names the query parameters that select
    content (a page number); anything else (tracking tags) is left out of these links.
    """

    canonical: str
    alternates: dict[str, str]
    x_default: str
    og_locale: str
    og_alternates: list[str]


def page_links(request: Request, base_url: str, lang: str, keep: tuple[str, ...] | None) -> PageLinks:
    params = [(k, v) for k, v in request.query_params.multi_items()
              if k != "lang" and (keep is None or k in keep)]

    def url(code: str | None) -> str:
        query = urlencode(params + ([("lang", code)] if code else []))
        return base_url + request.url.path + (f"?{query}" if query else "")

    alternates = {code: url(code) for code in i18n.LANGUAGES}
    return PageLinks(alternates[lang], alternates, url(None), OG_LOCALES[lang],
                     [OG_LOCALES[code] for code in i18n.LANGUAGES if code != lang])


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    keep: tuple[str, ...] | None = None,
) -> HTMLResponse:
    """A page in the reader's language (``keep``: the query parameters its canonical URL keeps;
    None keeps them all)."""
    lang = i18n.negotiate(request)
    settings = request.app.state.settings
    page = environment(lang).get_template(template).render(
        links=page_links(request, settings.base_url, lang, keep),
        request=request,
        lang=lang,
        fmt=i18n.Formatter(lang),
        settings=settings,
        site=settings.repository_name,
        base_url=settings.base_url,
        query_url=lambda **changes: query_url(request, **changes),
        **context,
    )
    response = HTMLResponse(page, status_code=status, headers=headers)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    chosen = i18n.from_param(request.query_params.get("lang"))
    if chosen is not None and chosen != request.cookies.get(i18n.COOKIE):
        response.set_cookie(i18n.COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="lax", httponly=True,
                            secure=settings.base_url.startswith("https://"))
    return response


def error_page(
    request: Request, status: int, detail: str | None = None, headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    template = "tombstone.html" if "tombstone" in context else "error.html"
    work = _WORK_PATH.match(request.url.path)  # a file of a work: the error page links to the work
    return render(request, template, {"status": status, "detail": detail, "work_path": work and work.group(0),
                                      **context}, status=status, headers=headers, keep=())


class HTMLRoute(APIRoute):
    """A route whose errors are pages, not problem+json: readers get a page in their language."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return delivery.apply(request, await handler(request))
            except delivery.NotModified as exc:
                return exc.response()
            except ProblemError as exc:
                extra = getattr(exc, "page_context", {})
                return error_page(request, exc.status, exc.detail, headers=exc.headers or None, **extra)
            except RequestValidationError:
                return error_page(request, 404)

        return route
