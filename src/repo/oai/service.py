"""The OAI-PMH data provider: dispatches a parsed request to its verb and shapes the reply.

Verbs never see HTTP: they get a :class:`Provider` (database, settings, clock, token codec) and
their validated arguments, and return a :class:`Reply` whose items the envelope serializes; an
:class:`OAIError` raised anywhere before the first byte becomes an error reply (HTTP 200, §3.6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.responses import StreamingResponse
from lxml import etree

from repo.clock import Clock
from repo.config import Settings
from repo.db import Database
from repo.oai import arguments, compression, envelope
from repo.oai.errors import OAIError
from repo.oai.tokens import TokenCodec
from repo.works.service import lift_embargoes

MEDIA_TYPE = "text/xml; charset=UTF-8"  # §3.1.2.1


@dataclass(frozen=True)
class Provider:
    db: Database
    settings: Settings
    clock: Clock
    tokens: TokenCodec

    @classmethod
    def of(cls, state: Any) -> "Provider":
        """The provider of an application (``app.state``), built once and kept there."""
        provider = getattr(state, "oai_provider", None)
        if provider is None or provider.db is not state.db:
            settings: Settings = state.settings
            provider = cls(state.db, settings, state.clock,
                           TokenCodec(settings.secret, settings.oai_token_ttl_seconds))
            state.oai_provider = provider
        return provider

    def now(self) -> datetime:
        return self.clock.now()

    def begin(self) -> datetime:
        """Start a request that disseminates records: end due embargoes first (committed), then
        take the responseDate, so a list whose ``until`` is frozen at that responseDate already
        holds every work whose embargo ended by then, with the datestamp of that moment."""
        with self.db.session() as session:
            lift_embargoes(session, self.clock.now())  # works' and files' own embargoes
        return self.clock.now()


@dataclass
class Reply:
    response_date: datetime
    arguments: dict[str, str] | None  # None: no attributes on <request> (badVerb, badArgument)
    verb: str | None  # None: the items go directly under <OAI-PMH> (errors, one-element verbs)
    items: Iterable[etree._Element | bytes]  # bytes: an element lxml serialized earlier (cache)

    def body(self, base_url: str) -> Iterable[bytes]:
        return envelope.render(response_date=self.response_date, base_url=base_url,
                               arguments=self.arguments, verb=self.verb, items=self.items)

    def response(self, base_url: str, accept_encoding: str | None) -> StreamingResponse:
        """The HTTP response: streamed, compressed when the client asks (§3.1.3)."""
        body = self.body(base_url)
        headers = {"Vary": "Accept-Encoding"}
        if encoding := compression.negotiate(accept_encoding):
            body = compression.compress(body, encoding)
            headers["Content-Encoding"] = encoding
        return StreamingResponse(iter(body), status_code=200, media_type=MEDIA_TYPE, headers=headers)


def error_reply(provider: Provider, exc: OAIError, echo: dict[str, str] | None) -> Reply:
    return Reply(provider.now(), echo if exc.echo_arguments else None, None,
                 [envelope.error(exc.code, exc.message)])


def respond(provider: Provider, pairs: list[tuple[str, str]]) -> Reply:
    """The reply to one OAI-PMH request given as its raw ``(key, value)`` pairs."""
    from repo.oai.verbs import HANDLERS

    echo: dict[str, str] | None = None
    try:
        request = arguments.parse(pairs)
        echo = request.echo
        handler: Callable[[Provider, arguments.ParsedRequest], Reply] = HANDLERS[request.verb]
        return handler(provider, request)
    except OAIError as exc:
        return error_reply(provider, exc, echo)
