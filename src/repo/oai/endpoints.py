"""The OAI-PMH endpoint: ``GET /oai?verb=…`` and ``POST /oai`` (form-encoded), OAI-PMH §3.1.1.

Every answer, errors included, is HTTP 200 ``text/xml; charset=UTF-8`` (§3.1.2, §3.6); the
arguments are read raw (repeats kept) and the reply streams from a worker thread.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from repo.oai import service
from repo.oai.arguments import pairs_from_query

router = APIRouter(tags=["oai-pmh"])


async def _answer(request: Request, raw: bytes) -> StreamingResponse:
    provider = service.Provider.of(request.app.state)
    reply = await run_in_threadpool(service.respond, provider, pairs_from_query(raw.decode("utf-8", "replace")))
    return reply.response(provider.settings.base_url + "/oai", request.headers.get("accept-encoding"))


@router.get("/oai", summary="OAI-PMH 2.0 request (arguments in the query string)", operation_id="oai_pmh_get",
            response_class=StreamingResponse)
async def oai_get(request: Request) -> StreamingResponse:
    return await _answer(request, request.scope["query_string"])


@router.post("/oai", summary="OAI-PMH 2.0 request (arguments form-encoded in the body)",
             operation_id="oai_pmh_post", response_class=StreamingResponse)
async def oai_post(request: Request) -> StreamingResponse:
    return await _answer(request, await request.body())
