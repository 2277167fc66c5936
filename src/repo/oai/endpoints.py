"""The OAI-PMH endpoint: ``GET /oai?verb=…`` and ``POST /oai`` (form-encoded), OAI-PMH §3.1.1."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from repo.oai import service
from repo.oai.arguments import pairs_from_query

router = APIRouter(tags=["oai-pmh"])


@router.api_route("/oai", methods=["GET", "POST"], summary="OAI-PMH 2.0 data provider",
                  response_class=StreamingResponse)
async def oai_pmh(request: Request) -> StreamingResponse:
    """Every OAI-PMH answer, errors included, is HTTP 200 ``text/xml`` (§3.1.2, §3.6)."""
    raw = request.scope["query_string"] if request.method == "GET" else await request.body()
    provider = service.Provider.of(request.app.state)
    reply = await run_in_threadpool(service.respond, provider, pairs_from_query(raw.decode("utf-8", "replace")))
    return reply.response(provider.settings.base_url + "/oai", request.headers.get("accept-encoding"))
