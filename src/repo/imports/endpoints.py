"""``/api/imports`` (editors into their centres, administrators anywhere) and ``/api/export``
(administrators): thin handlers; rules in :mod:`repo.imports.service`, the run in :mod:`.jobs`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from repo.context import Context, get_user_context
from repo.deposit.endpoints import PROBLEMS
from repo.imports import export, service
from repo.imports.schemas import ImportOut, ImportProblemOut

router = APIRouter(tags=["import and export"], responses=PROBLEMS)
ImportId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Import number")]


@router.post("/api/imports", status_code=202, response_model=ImportOut,
             summary="Import works from a file (the raw bytes as the body); the worker runs it",
             openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": {
                 "schema": {"type": "string", "format": "binary"}}}}})
async def post_import(
    request: Request,
    centre: Annotated[str, Query(max_length=200, description="Member centre the works belong to")],
    format: Annotated[Literal["csv", "jsonl", "bibtex", "ris"] | None, Query(description="Default: from filename")] = None,
    filename: Annotated[str, Query(max_length=500, description="The file's name (shown; its extension "
                                                               "gives the format)")] = "upload",
    collection: Annotated[str | None, Query(max_length=200, description="Also file every work here")] = None,
    publish: Annotated[bool, Query(description="Publish works whose record has no status (else drafts)")] = False,
    dry_run: Annotated[bool, Query(description="Validate and match every record, change nothing")] = False,
    encoding: Annotated[str | None, Query(max_length=40, description="The file's encoding (default: detected)")] = None,
    ctx: Context = Depends(get_user_context),
) -> Response:
    options = service.Options(centre=centre, filename=filename, format=format, collection=collection,
                              publish=publish, dry_run=dry_run, encoding=encoding)
    received = await service.receive_stream(ctx, request.stream())
    job, _ = service.start(ctx, options, received)
    out = service.to_out(ctx, job)  # the worker's imports.run job takes it when this commits
    return Response(out.model_dump_json(), status_code=202, media_type="application/json",
                    headers={"Location": out.links["self"]})


@router.get("/api/imports", response_model=list[ImportOut], summary="Recent imports (yours, or all: admins)")
def list_imports(ctx: Context = Depends(get_user_context)) -> list[ImportOut]:
    return [service.to_out(ctx, job, problems=0) for job in service.recent(ctx)]


@router.get("/api/imports/{import_id}", response_model=ImportOut,
            summary="An import: its state, counts while it runs, and the report's first lines")
def get_import(import_id: ImportId, ctx: Context = Depends(get_user_context)) -> ImportOut:
    return service.to_out(ctx, service.get(ctx, import_id))


@router.get("/api/imports/{import_id}/report", response_model=list[ImportProblemOut],
            summary="The whole report (row, field, message), a page at a time")
def get_report(import_id: ImportId, ctx: Context = Depends(get_user_context),
               after: Annotated[int, Query(ge=0, le=2**62, description="Lines after this one")] = 0,
               limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[ImportProblemOut]:
    return service.report(ctx, service.get(ctx, import_id), after, limit)


@router.get("/api/export", summary="Every work, every field, importable again (administrators; streamed)",
            response_class=StreamingResponse,
            responses={200: {"content": {"application/jsonl": {}, "text/csv": {}}}})
def get_export(
    request: Request,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
    status: Annotated[Literal["draft", "published", "withdrawn"] | None, Query()] = None,
    centre: Annotated[str | None, Query(max_length=200)] = None,
    collection: Annotated[str | None, Query(max_length=200)] = None,
    ctx: Context = Depends(get_user_context),
) -> StreamingResponse:
    ctx.principal.require_admin()
    state = request.app.state
    return StreamingResponse(export.stream(state.db, state.settings, format, export.Filters(status, centre, collection)),
                             media_type=export.MEDIA_TYPES[format],
                             headers={"Content-Disposition": f'attachment; filename="works.{format}"'})
