"""Resumption tokens: stateless, signed, expiring, idempotent, keyset-stable (OAI-PMH §3.5)."""

from __future__ import annotations

import pytest

from oai_harness import OAIClient, identifier
from repo.signing import Signer


@pytest.fixture
def paged(corpus, settings):  # type: ignore[no-untyped-def]
    settings.oai_page_size = 2
    return [corpus.work(f"Obra {i}") for i in range(5)]


def _token(oai: OAIClient, verb: str = "ListIdentifiers") -> str:
    token = oai(verb=verb, metadataPrefix="oai_dc").token
    assert token is not None and token.text
    return str(token.text)


def test_same_token_same_page(oai_get: OAIClient, paged, corpus) -> None:  # type: ignore[no-untyped-def]
    token = _token(oai_get)
    first = oai_get(verb="ListIdentifiers", resumptionToken=token)
    corpus.work("Publicada durante la cosecha")  # after the frozen until: not in this list
    again = oai_get(verb="ListIdentifiers", resumptionToken=token)
    assert first.identifiers == again.identifiers == [identifier(paged[2]), identifier(paged[3])]
    # the same position (a token also carries the second it was signed, which may differ)
    assert first.token.text.rsplit(".", 2)[0] == again.token.text.rsplit(".", 2)[0]
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")  # URL-safe


def test_until_is_frozen_and_changes_move_out(oai_get: OAIClient, paged, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    clock.advance(seconds=5)
    first = oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc")
    clock.advance(seconds=5)
    corpus.edit(paged[0], metadata={"notes": "cambio"})  # already harvested: moves past until
    corpus.edit(paged[4], metadata={"notes": "cambio"})  # not yet harvested: also moves past until
    new = corpus.work("Nueva")
    seen = list(first.identifiers)
    page = first
    while page.token is not None and page.token.text:
        page = oai_get(verb="ListIdentifiers", resumptionToken=page.token.text)
        seen += page.identifiers
    # no unchanged work missed, no duplicate, nothing changed after the first page leaks in
    assert seen == [identifier(i) for i in paged[:4]]
    _, incremental = oai_get.harvest("ListIdentifiers", metadataPrefix="oai_dc", **{"from": first.response_date})
    assert set(incremental) == {identifier(paged[0]), identifier(paged[4]), identifier(new)}


def test_tampered_foreign_and_expired_tokens(oai_get: OAIClient, paged, settings, clock) -> None:  # type: ignore[no-untyped-def]
    token = _token(oai_get)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    foreign_salt = Signer(settings.secret, "works-cursor").dumps(["2024-01-01T00:00:00+00:00", 1])
    foreign_key = Signer("another-secret", "oai-token").dumps([1, "ListIdentifiers", "oai_dc", None, None,
                                                               2**31, None, None, 0, 5, 0])
    forged_layout = Signer(settings.secret, "oai-token").dumps({"cursor": 0})
    for bad in (flipped, token + "x", "", "garbage", foreign_salt, foreign_key, forged_layout, "." * 500):
        reply = oai_get(verb="ListIdentifiers", resumptionToken=bad)
        assert reply.errors == ["badResumptionToken"], bad
        assert reply.request.attrib == {"verb": "ListIdentifiers", "resumptionToken": bad}
    # a token of one verb is foreign to another
    assert oai_get(verb="ListRecords", resumptionToken=token).errors == ["badResumptionToken"]
    # expiry: 24 h by the injected clock, announced as expirationDate
    stamp = oai_get(verb="ListIdentifiers", resumptionToken=token).token.get("expirationDate")
    assert stamp == (clock.now() + __import__("datetime").timedelta(seconds=settings.oai_token_ttl_seconds)
                     ).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock.advance(seconds=settings.oai_token_ttl_seconds - 1)
    assert oai_get(verb="ListIdentifiers", resumptionToken=token).errors == []
    clock.advance(seconds=2)
    assert oai_get(verb="ListIdentifiers", resumptionToken=token).errors == ["badResumptionToken"]


def test_token_carries_the_whole_request(oai_get: OAIClient, corpus, settings) -> None:  # type: ignore[no-untyped-def]
    settings.oai_page_size = 1
    a = corpus.work("A", collections=("libros",))
    corpus.work("B", collections=("tesis",))
    c = corpus.work("C", collections=("clasicos",))
    pages, found = oai_get.harvest("ListRecords", metadataPrefix="oai_dc", set="collection:biblioteca:libros")
    assert found == [identifier(a), identifier(c)]
    assert [p.token.get("completeListSize") for p in pages] == ["2", "2"]
    assert len(pages[-1].xpath("//o:metadata")) == 1  # still ListRecords with oai_dc
