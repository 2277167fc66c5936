"""Deposit REST API for works: thin handlers, the rules live in ``repo.works.service``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response

from repo.context import Context, get_context, get_user_context
from repo.deposit.idempotency import Idempotency, idempotency
from repo.errors import PROBLEM_JSON
from repo.works import service
from repo.works.schemas import RevisionOut, WithdrawIn, WorkIn, WorkOut, WorkPage
from repo.works.vocabularies import Status, WorkType

PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_JSON: {}}}
    for code, text in {400: "Malformed request", 401: "No valid token", 403: "Outside the token's scope",
                       404: "Unknown work", 409: "Not allowed in the work's status",
                       412: "Stale If-Match", 413: "Body too large", 422: "Invalid fields"}.items()
}
router = APIRouter(prefix="/api/works", tags=["works"], responses=PROBLEMS)
IfMatch = Annotated[str | None, Header(description="ETag of the version you edit; 412 when stale")]
WorkId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Work number")]


def _work(ctx: Context, work: Any, response: Response | None = None) -> tuple[WorkOut, dict[str, str]]:
    headers = {"ETag": service.etag(work), "Location": f"{ctx.settings.base_url}/api/works/{work.id}"}
    if response is not None:
        response.headers.update(headers)
    return service.to_out(work, ctx.settings), headers


@router.post("", status_code=201, response_model=WorkOut, summary="Create a draft")
def create_work(data: WorkIn, ctx: Context = Depends(get_user_context), idem: Idempotency = Depends(idempotency)) -> Response:
    return idem.run(201, lambda: _work(ctx, service.create(ctx, data)))


@router.get("", response_model=WorkPage, summary="List works")
def list_works(
    ctx: Context = Depends(get_context),
    status: Status | None = None,
    centre: str | None = Query(None, max_length=64),
    collection: str | None = Query(None, max_length=64),
    type: WorkType | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = Query(None, max_length=1000),
    size: int = Query(25, ge=1, le=100),
) -> WorkPage:
    return service.list_works(ctx, status=status, centre=centre, collection=collection, type=type,
                              updated_since=updated_since, cursor=cursor, size=size)


@router.get("/{work_id}", response_model=WorkOut, summary="Get a work")
def get_work(work_id: WorkId, response: Response, ctx: Context = Depends(get_context)) -> WorkOut:
    return _work(ctx, service.get_readable(ctx, work_id), response)[0]


@router.put("/{work_id}", response_model=WorkOut, summary="Replace a work's record")
def replace_work(work_id: WorkId, data: WorkIn, response: Response, if_match: IfMatch = None,
                 ctx: Context = Depends(get_user_context)) -> WorkOut:
    return _work(ctx, service.replace(ctx, work_id, data, if_match), response)[0]


@router.patch("/{work_id}", response_model=WorkOut, summary="Update a work (JSON Merge Patch)")
def patch_work(work_id: WorkId, response: Response, changes: dict[str, Any] = Body(...),
               if_match: IfMatch = None, ctx: Context = Depends(get_user_context)) -> WorkOut:
    return _work(ctx, service.patch(ctx, work_id, changes, if_match), response)[0]


@router.delete("/{work_id}", status_code=204, summary="Delete a draft")
def delete_work(work_id: WorkId, if_match: IfMatch = None, ctx: Context = Depends(get_user_context)) -> Response:
    service.delete_draft(ctx, work_id, if_match)
    return Response(status_code=204)


@router.post("/{work_id}/publish", response_model=WorkOut, summary="Publish a draft")
def publish_work(work_id: WorkId, if_match: IfMatch = None, ctx: Context = Depends(get_user_context),
                 idem: Idempotency = Depends(idempotency)) -> Response:
    return idem.run(200, lambda: _work(ctx, service.publish(ctx, work_id, if_match)))


@router.post("/{work_id}/withdraw", response_model=WorkOut, summary="Withdraw a published work")
def withdraw_work(work_id: WorkId, data: WithdrawIn, if_match: IfMatch = None,
                  ctx: Context = Depends(get_user_context), idem: Idempotency = Depends(idempotency)) -> Response:
    return idem.run(200, lambda: _work(ctx, service.withdraw(ctx, work_id, data, if_match)))


@router.get("/{work_id}/revisions", response_model=list[RevisionOut], summary="Revision history")
def work_revisions(work_id: WorkId, ctx: Context = Depends(get_context)) -> Any:
    return service.revisions(ctx, work_id)
