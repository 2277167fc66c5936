"""HTTP endpoints of files: thin handlers; rules in ``repo.files.service``, delivery in ``download``.

Deposit API (``/api/works/{id}/files``): list, upload (PUT a raw body, or POST multipart), read
the record, change access (PATCH), delete. Public paths (``/works/{id}/files/{name}``): the bytes,
``/thumbnail`` and ``/text``, GET and HEAD, under the same access rule.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.background import BackgroundTask

from repo.context import Context, get_context, get_user_context
from repo.errors import PROBLEM_JSON, BadRequest, FieldError, PayloadTooLarge, Unprocessable, validation_errors
from repo.files import download, service
from repo.files.models import File
from repo.files.schemas import FileAccessIn, FileList, FileOut
from repo.middleware import MAX_JSON_DEPTH, json_too_deep
from repo.works import service as works
from repo.works.models import Work
from repo.works.vocabularies import AccessRight

PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_JSON: {}}}
    for code, text in {400: "Malformed request", 401: "No valid token", 403: "Outside the token's scope, or closed",
                       404: "Unknown work or file", 409: "The work is withdrawn", 410: "The work was withdrawn",
                       412: "Stale If-Match", 413: "Larger than the upload limit", 415: "Type not accepted",
                       416: "Range not satisfiable", 422: "Invalid name or fields"}.items()
}
router = APIRouter(responses=PROBLEMS)
api = APIRouter(prefix="/api/works/{work_id}/files", tags=["files"], responses=PROBLEMS)
public = APIRouter(prefix="/works/{work_id}/files", tags=["files"], responses=PROBLEMS)
IfMatch = Annotated[str | None, Header(description="ETag of the work version you change; 412 when stale")]
ACCESS_BODY_MAX = 16 * 1024


def _stored(request: Request, ctx: Context, work: Work, file: File, created: bool) -> Response:
    """201/200 with the file record. The commit wakes the extraction job; with the worker in this
    process the response's background task waits for it (so a client's next request sees the text)."""
    task = BackgroundTask(request.app.state.worker.settle, "files.extract")
    out = service.to_out(ctx, work, file)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200,
                        headers={"ETag": works.etag(work), "Location": out.links.self}, background=task)


async def access_body(request: Request) -> FileAccessIn:
    """The PATCH body, read with its own small cap (upload paths bypass the JSON body limit)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > ACCESS_BODY_MAX:
            raise PayloadTooLarge(f"The request body exceeds {ACCESS_BODY_MAX} bytes.")
    if json_too_deep(bytes(body), MAX_JSON_DEPTH):
        raise Unprocessable(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.",
                            errors=[FieldError("body", f"at most {MAX_JSON_DEPTH} levels of arrays and objects")])
    try:
        return FileAccessIn.model_validate(json.loads(body))
    except json.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON.") from None
    except ValidationError as exc:
        raise Unprocessable("The request has invalid fields.", errors=validation_errors(exc.errors())) from None


@api.get("", response_model=FileList, summary="List a work's files")
def list_files(work_id: int, ctx: Context = Depends(get_context)) -> FileList:
    return service.list_files(ctx, work_id)


@api.post("", status_code=201, response_model=FileOut, summary="Upload a file (multipart/form-data, part 'file')",
          openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
              "type": "object", "required": ["file"], "properties": {
                  "file": {"type": "string", "format": "binary"},
                  "access_right": {"type": "string", "enum": [a.value for a in AccessRight]},
                  "embargo_end": {"type": "string", "format": "date"}}}}}}})
async def post_file(work_id: int, request: Request, if_match: IfMatch = None,
                    ctx: Context = Depends(get_user_context)) -> Response:
    work, file, created = await service.upload_form(ctx, work_id, request.stream(),
                                              content_type=request.headers.get("content-type"), if_match=if_match)
    return _stored(request, ctx, work, file, created)


@api.put("/{name:path}", response_model=FileOut, summary="Upload or replace a file (the raw bytes as the body)",
         responses={201: {"description": "Created"}},
         openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": {
             "schema": {"type": "string", "format": "binary"}}}}})
async def put_file(work_id: int, name: str, request: Request, if_match: IfMatch = None,
                   access_right: AccessRight | None = None, embargo_end: date | None = None,
                   ctx: Context = Depends(get_user_context)) -> Response:
    access = service.parse_access({"access_right": access_right, "embargo_end": embargo_end and embargo_end.isoformat()}, "query.")
    work, file, created = await service.upload(ctx, work_id, name, request.stream(), content_type=request.headers.get("content-type"),
                                         content_length=request.headers.get("content-length"), if_match=if_match, access=access)
    return _stored(request, ctx, work, file, created)


@api.get("/{name:path}", response_model=FileOut, summary="A file's record (hashes, access, extraction state)")
def get_file(work_id: int, name: str, ctx: Context = Depends(get_context)) -> FileOut:
    return service.get_file(ctx, work_id, name)


@api.patch("/{name:path}", response_model=FileOut, summary="Set a file's own access right (null: follow the work)")
def patch_file(work_id: int, name: str, if_match: IfMatch = None, ctx: Context = Depends(get_user_context),
               data: FileAccessIn = Depends(access_body)) -> FileOut:
    return service.to_out(ctx, *service.set_access(ctx, work_id, name, data, if_match))


@api.delete("/{name:path}", status_code=204, summary="Remove a file from a work")
def delete_file(work_id: int, name: str, if_match: IfMatch = None, ctx: Context = Depends(get_user_context)) -> Response:
    service.delete(ctx, work_id, name, if_match)
    return Response(status_code=204)


@public.get("/{name}/thumbnail", summary="Thumbnail: a PDF's first page (PNG), a picture (WebP); HEAD too")
@public.head("/{name}/thumbnail", include_in_schema=False)
def thumbnail(work_id: int, name: str, request: Request, ctx: Context = Depends(get_context)) -> Response:
    return _in_work(ctx, work_id, download.serve(request, ctx, *service.readable(ctx, work_id, name), part="thumbnail"))


@public.get("/{name}/text", summary="Extracted text (UTF-8); HEAD too")
@public.head("/{name}/text", include_in_schema=False)
def text(work_id: int, name: str, request: Request, ctx: Context = Depends(get_context)) -> Response:
    return _in_work(ctx, work_id, download.serve(request, ctx, *service.readable(ctx, work_id, name), part="text"))


@public.get("/{name}", summary="Download (Range, ETag, If-None-Match); HEAD too")
@public.head("/{name}", include_in_schema=False)
def download_file(work_id: int, name: str, request: Request, ctx: Context = Depends(get_context)) -> Response:
    return _in_work(ctx, work_id, download.serve(request, ctx, *service.readable(ctx, work_id, name), part="file"))


def _in_work(ctx: Context, work_id: int, response: Response) -> Response:
    """FAIR Signposting from the bytes back to the landing page they belong to (``rel="collection"``)."""
    response.extra["Link"] = f'<{ctx.settings.base_url}/works/{work_id}>; rel="collection"'  # type: ignore[attr-defined]
    return response


router.include_router(api)
router.include_router(public)
