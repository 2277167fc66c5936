"""The lean request path of Identify and GetRecord (``repo.oai.service.LoopConnection``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from oai_harness import Corpus, OAIClient, identifier


def test_reads_on_the_event_loop_keep_one_connection(oai_get: OAIClient, corpus: Corpus, client: Any) -> None:
    first, second = corpus.work("Primera"), corpus.work("Segunda")
    checkouts: list[Any] = []
    loop_thread = client.portal.call(threading.get_ident)  # where the app answers (the test client's loop)

    def count(*args: Any) -> None:
        if threading.get_ident() == loop_thread:  # not the background jobs' (SQLite: the same engine)
            checkouts.append(args)

    reader = client.app.state.db.reader
    sa.event.listen(reader, "checkout", count)
    try:
        for _ in range(3):
            assert oai_get(verb="Identify").errors == []
            for work in (first, second):
                reply = oai_get(verb="GetRecord", identifier=identifier(work), metadataPrefix="oai_dc")
                assert reply.xpath("string(//o:identifier)") == identifier(work)
        assert len(checkouts) <= 1  # taken from the pool once (or not at all: kept from before)
        # each read still sees what is committed when it runs: a change made meanwhile elsewhere
        corpus.withdraw(second)
        reply = oai_get(verb="GetRecord", identifier=identifier(second), metadataPrefix="oai_dc")
        assert reply.xpath("string(//o:header/@status)") == "deleted"
    finally:
        sa.event.remove(reader, "checkout", count)


def _layers(node: Any) -> list[str]:
    """The classes of an ASGI stack's layers, outermost first, down to the OAI endpoint."""
    from repo.oai.endpoints import OAIEndpoint

    names = []
    while node is not None and not isinstance(node, OAIEndpoint):
        names.append(type(node).__name__)
        node = getattr(node, "app", None)
    assert node is not None, names  # the endpoint is in the stack
    return names


def _refusing(*args: Any) -> Any:
    raise RuntimeError("the main stack was taken")


def test_oai_requests_take_a_stack_of_their_own_with_the_same_layers_around_the_endpoint(client: Any) -> None:
    """``/oai`` is answered through :class:`repo.app.Application`'s own stack: the application's
    middleware that stands outside the OAI endpoint in the main stack, in the same order; none of
    FastAPI's own layers. Every other path takes the main stack."""
    app = client.app
    assert client.get("/oai", params={"verb": "Identify"}).status_code == 200
    ours = {middleware.cls.__name__ for middleware in app.user_middleware}
    main = [name for name in _layers(app.middleware_stack) if name in ours]
    assert _layers(app._oai_stack) == main and main[0] == "Edge"
    assert "ServerErrorMiddleware" in _layers(app.middleware_stack)  # FastAPI's layers: the main stack's only
    kept = app.middleware_stack
    app.middleware_stack = _refusing
    try:
        reply = client.get("/oai", params={"verb": "Identify"})
        assert reply.status_code == 200 and b"<repositoryName>" in reply.content
        assert reply.headers["x-content-type-options"] == "nosniff" and reply.headers["x-request-id"]
        with pytest.raises(RuntimeError, match="main stack"):
            client.get("/health")
    finally:
        app.middleware_stack = kept


def test_oai_requests_take_the_main_stack_while_fastapis_telemetry_is_on(client: Any, monkeypatch: Any) -> None:
    """With FastAPI's native telemetry on (an OpenTelemetry provider configured; its check stood
    in for here), ``/oai`` is traced like every path: it takes the main stack."""
    app = client.app
    assert client.get("/oai", params={"verb": "Identify"}).status_code == 200  # both stacks built
    monkeypatch.setattr(app, "_telemetry_on", lambda: True)
    monkeypatch.setattr(app, "_oai_stack", _refusing)
    reply = client.get("/oai", params={"verb": "Identify"})
    assert reply.status_code == 200 and b"<repositoryName>" in reply.content


def test_an_envelope_made_ahead_is_the_one_render_makes() -> None:
    """GetRecord's and Identify's envelopes are pieces cut once per shape, or filled-in trees for
    values that need escaping (``repo.oai.service._Envelopes``): byte for byte what
    :func:`repo.oai.envelope.render` makes, for every value, reused or not."""
    from datetime import UTC, datetime, timedelta

    from repo.oai import envelope
    from repo.oai.service import _Envelopes

    envelopes = _Envelopes()
    start = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    cases = [({"verb": "Identify"}, None),
             ({"verb": "GetRecord", "identifier": "oai:x:1", "metadataPrefix": "oai_dc"}, "GetRecord"),
             ({"verb": "GetRecord", "identifier": "a<b&c\"d'e>\x01<!--items-->", "metadataPrefix": "x"}, "GetRecord"),
             ({"verb": "GetRecord", "identifier": "ñandú ☃ 𝄞", "metadataPrefix": "mods"}, "GetRecord"),
             ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:x:2"}, "GetRecord"),  # other order
             ({"verb": "GetRecord", "identifier": "tab\tline\ncr\r sp", "metadataPrefix": "a=b+c~d/e"}, "GetRecord"),
             ({"verb": "GetRecord", "identifier": "ENVELOPE-SLOT-6c1f-0", "metadataPrefix": ""}, "GetRecord"),
             (None, None)]
    for base_url in ("https://repo.example.org/oai", "https://x.example/a&b<c>/oai"):
        for seconds in (0, 1, 86_401):
            for echo, verb in cases:
                at = start + timedelta(seconds=seconds)
                (whole,) = envelope.render(response_date=at, base_url=base_url, arguments=echo, verb=verb,
                                           items=[b"<item/>"])
                before, after = envelopes.around(base_url, at, echo, verb)
                assert before + b"<item/>" + after == whole
    assert len(envelopes.shapes) == 2 * 4  # one tree per shape: base URL, verb, names of the arguments (in order)
