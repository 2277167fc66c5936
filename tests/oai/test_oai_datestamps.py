"""Datestamps: bumped by every change of what a harvester receives, embargo end included, tested
with the controllable clock (OAI-PMH §2.7.1: "a repository must update the datestamp ...")."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from oai_harness import OAIClient, identifier

FMT = "%Y-%m-%dT%H:%M:%SZ"


def _stamp(oai: OAIClient, work: int) -> str:
    return str(oai(verb="GetRecord", identifier=identifier(work), metadataPrefix="oai_dc").xpath("string(//o:datestamp)"))


def test_every_disseminated_change_bumps_the_datestamp(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    draft = corpus.work("Borrador", publish=False)
    clock.advance(hours=1)
    corpus.edit(draft, metadata={"notes": "aún borrador"})  # drafts are not records
    clock.advance(hours=1)
    corpus.publish(draft)
    assert _stamp(oai_get, draft) == clock.now().strftime(FMT)  # publish
    clock.advance(hours=1)
    corpus.edit(draft, metadata={"notes": "corregida"})
    assert _stamp(oai_get, draft) == clock.now().strftime(FMT)  # edit of a published work
    clock.advance(hours=1)
    corpus.edit(draft, access_right="restricted")
    assert _stamp(oai_get, draft) == clock.now().strftime(FMT)  # access-right change
    before = _stamp(oai_get, draft)
    clock.advance(hours=1)
    corpus.edit(draft, metadata={"notes": "corregida"})  # no change: no bump
    clock.advance(hours=1)
    assert _stamp(oai_get, draft) == before
    corpus.withdraw(draft)
    assert _stamp(oai_get, draft) == clock.now().strftime(FMT)  # withdrawal


def test_embargo_end_reaches_incremental_harvests(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    end = (clock.now() + timedelta(days=10)).date()
    work = corpus.work("Tesis embargada", access_right="embargoed", embargo_end=end.isoformat(),
                       type="doctoral_thesis")
    clock.advance(hours=1)
    record = oai_get(verb="GetRecord", identifier=identifier(work), metadataPrefix="oai_dc")
    assert record.xpath("//dc:rights/text()")[0] == "info:eu-repo/semantics/embargoedAccess"
    assert f"info:eu-repo/date/embargoEnd/{end.isoformat()}" in record.xpath("//dc:date/text()")
    assert "openaire" not in record.xpath("//o:setSpec/text()")
    assert oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", set="openaire").errors == ["noRecordsMatch"]
    harvest = oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc")
    last_harvest = harvest.response_date

    lifted = datetime.combine(end, time(0), tzinfo=UTC)
    clock.set(lifted + timedelta(hours=3))  # nobody asked anything when it ended
    incremental = oai_get(verb="ListRecords", metadataPrefix="oai_dc", **{"from": last_harvest})
    assert incremental.identifiers == [identifier(work)]
    assert incremental.xpath("string(//o:datestamp)") == lifted.strftime(FMT)  # the moment it ended
    assert incremental.xpath("//dc:rights/text()")[0] == "info:eu-repo/semantics/openAccess"
    assert not [d for d in incremental.xpath("//dc:date/text()") if "embargoEnd" in d]
    assert {"openaire", "driver"} <= set(incremental.xpath("//o:setSpec/text()"))
    in_set = oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", set="openaire", **{"from": last_harvest})
    assert in_set.identifiers == [identifier(work)]
    at = oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": lifted.strftime(FMT)})
    assert at.identifiers == [identifier(work)]
    after = oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc",
                    **{"from": (lifted + timedelta(seconds=1)).strftime(FMT)})
    assert after.errors == ["noRecordsMatch"]


def test_get_record_ends_due_embargoes_too(oai_get: OAIClient, corpus, clock) -> None:  # type: ignore[no-untyped-def]
    end = (clock.now() + timedelta(days=2)).date()
    work = corpus.work("Embargada", access_right="embargoed", embargo_end=end.isoformat())
    clock.set(datetime.combine(end, time(6), tzinfo=UTC))
    record = oai_get(verb="GetRecord", identifier=identifier(work), metadataPrefix="oai_dc")
    assert record.xpath("string(//o:datestamp)") == f"{end.isoformat()}T00:00:00Z"
    assert record.xpath("//dc:rights/text()")[0] == "info:eu-repo/semantics/openAccess"


def test_a_change_committed_after_a_harvest_began_reaches_the_next_incremental_harvest(
        oai_get: OAIClient, corpus, clock, database, settings) -> None:  # type: ignore[no-untyped-def]
    """The datestamp is taken when the change is made, before its commit. A harvest whose first
    page comes in between cannot see the change, and its next incremental harvest asks ``from``
    that page's responseDate: the datestamp is stamped again after the commit, so it is not missed."""
    from repo.cli import CLI
    from repo.context import Context
    from repo.works import service

    corpus.work("Ya publicada")
    late = corpus.work("Publicada en carrera", publish=False)
    clock.advance(minutes=1)
    with database.session() as session:
        service.publish(Context(session, CLI, clock.now(), settings, clock), late, None)
        clock.advance(seconds=5)  # the change has not committed yet when a harvest begins
        harvest = oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc")
        assert identifier(late) not in harvest.identifiers  # uncommitted: invisible
    incremental = oai_get(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": harvest.response_date})
    assert incremental.identifiers == [identifier(late)]
    assert incremental.xpath("string(//o:datestamp)") == harvest.response_date
