"""Interface languages of the reading room: Spanish, Portuguese, English and French.

Strings are marked for gettext in templates (``{% trans %}``, ``_()``) and in Python (``N_``);
``pybabel extract`` collects them (see ``babel.cfg``) and the ``.po`` catalogs under
``translations/`` are the source of truth. They are compiled in memory when first used, so a
fresh ``pip install -e .`` needs no build step and no ``.mo`` file can go stale.

A reader's language is, in order: a supported ``?lang=`` in the URL (then remembered in a
cookie), the cookie, the best match of ``Accept-Language``, and Spanish.
"""

from __future__ import annotations

import gettext
from datetime import date, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

LANGUAGES: dict[str, str] = {"es": "Español", "pt": "Português", "en": "English", "fr": "Français"}
DEFAULT = "es"
COOKIE = "lang"
# ISO 639-1 interface language → ISO 639-3 code used in the metadata (titles, abstracts).
ISO639_3: dict[str, str] = {"es": "spa", "pt": "por", "en": "eng", "fr": "fra"}
TRANSLATIONS_DIR = Path(__file__).parent / "translations"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of ``lang`` (English is the source language: no catalog needed)."""
    path = TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def from_param(value: str | None) -> str | None:
    """A supported language from ``?lang=`` or the cookie, else None (ignored, never an error)."""
    if value is None:
        return None
    value = value.strip().lower()[:8].replace("_", "-").split("-")[0]
    return value if value in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The best supported language of an ``Accept-Language`` header (RFC 9110 §12.5.4)."""
    if not header:
        return None
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:50]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if quality > 0 and primary in LANGUAGES:
            weighted.append((-quality, index, primary))
    return min(weighted)[2] if weighted else None


def negotiate(request: Request) -> str:
    return (
        from_param(request.query_params.get("lang"))
        or from_param(request.cookies.get(COOKIE))
        or from_accept_language(request.headers.get("accept-language"))
        or DEFAULT
    )


class Formatter:
    """Locale-aware formatting of numbers, dates and sizes for one interface language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.locale = Locale.parse(lang)

    def number(self, value: int) -> str:
        return numbers.format_decimal(value, locale=self.locale)

    def date(self, value: date | datetime | None, format: str = "long") -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.date()
        return dates.format_date(value, format=format, locale=self.locale)

    def size(self, value: int) -> str:
        units = ["B", "KB", "MB", "GB", "TB"]
        amount = float(value)
        for unit in units:
            if amount < 1024 or unit == units[-1]:
                if unit == "B":
                    return f"{numbers.format_decimal(int(amount), locale=self.locale)} {unit}"
                return f"{numbers.format_decimal(round(amount, 1), locale=self.locale)} {unit}"
            amount /= 1024
        return str(value)  # pragma: no cover - the loop always returns

    def language_name(self, iso639_3: str) -> str:
        """A language's name in the interface language (Babel knows ISO 639-1/-3 names)."""
        from repo.works.vocabularies import language_name

        try:
            alpha2 = _alpha2(iso639_3)
            name = self.locale.languages.get(alpha2 or iso639_3)
        except (KeyError, ValueError):
            name = None
        return name or language_name(iso639_3)

    def country_name(self, alpha2: str) -> str:
        from repo.works.vocabularies import country_name

        return self.locale.territories.get(alpha2) or country_name(alpha2)


@lru_cache(maxsize=1024)
def _alpha2(iso639_3: str) -> str | None:
    import pycountry

    found = pycountry.languages.get(alpha_3=iso639_3)
    return getattr(found, "alpha_2", None) if found else None
