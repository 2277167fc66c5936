"""``/api/harvest/sources``: harvest sources and what their runs did (administrators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from repo.context import Context, get_user_context
from repo.deposit.endpoints import PROBLEMS
from repo.ingest import service
from repo.ingest.schemas import SourceDetail, SourceIn, SourceOut, SourceUpdate

router = APIRouter(prefix="/api/harvest/sources", tags=["harvesting"], responses=PROBLEMS)
SourceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Harvest source number")]


@router.get("", response_model=list[SourceOut], summary="List harvest sources")
def list_sources(ctx: Context = Depends(get_user_context)) -> list[SourceOut]:
    return [service.source_out(ctx, s) for s in service.list_sources(ctx)]


@router.post("", status_code=201, response_model=SourceOut, summary="Add a source (it must answer OAI-PMH)")
def add_source(data: SourceIn, ctx: Context = Depends(get_user_context)) -> SourceOut:
    return service.source_out(ctx, service.add_source(ctx, data))


@router.get("/{source_id}", response_model=SourceDetail, summary="A source, its runs and the last run's problems")
def get_source(source_id: SourceId, ctx: Context = Depends(get_user_context)) -> SourceDetail:
    return service.source_detail(ctx, service.get_source(ctx, source_id))


@router.patch("/{source_id}", response_model=SourceOut, summary="Pause, resume or reschedule a source")
def update_source(source_id: SourceId, data: SourceUpdate, ctx: Context = Depends(get_user_context)) -> SourceOut:
    return service.source_out(ctx, service.update_source(ctx, source_id, data))


@router.post("/{source_id}/runs", status_code=202, response_model=SourceOut,
             summary="Ask for a run now (the background harvester takes it)")
def request_run(source_id: SourceId, ctx: Context = Depends(get_user_context)) -> SourceOut:
    return service.source_out(ctx, service.request_run(ctx, source_id))


@router.delete("/{source_id}", status_code=204, summary="Remove a source (its works stay, editable)")
def remove_source(source_id: SourceId, ctx: Context = Depends(get_user_context)) -> Response:
    service.remove_source(ctx, source_id)
    return Response(status_code=204)
