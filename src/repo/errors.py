"""Typed errors carry their HTTP status; one handler renders them as RFC 9457 problem+json.

Every error a client can provoke is one of these (or a validation error mapped to one), so a
request never ends in a 500 because of what it sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match

from repo.db import is_busy, is_unique_violation, is_unreachable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("repo.errors")


class FieldError(dict[str, str]):
    """One fault: ``{"field": "metadata.titles[0].lang", "message": "..."}``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field=field, message=message)


class ProblemError(Exception):
    status: int = 400
    title: str = "Bad request"
    type: str = "about:blank"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = list(self.errors)
        return body


class BadRequest(ProblemError):
    status, title = 400, "Bad request"


class Unauthorized(ProblemError):
    status, title = 401, "Authentication required"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="repo"'})


class Forbidden(ProblemError):
    status, title = 403, "Forbidden"


class NotFound(ProblemError):
    status, title = 404, "Not found"


class Conflict(ProblemError):
    status, title = 409, "Conflict"


class Gone(ProblemError):
    status, title = 410, "Gone"


class MethodNotAllowed(ProblemError):
    status, title = 405, "Method not allowed"


class PreconditionFailed(ProblemError):
    status, title = 412, "Precondition failed"


class PayloadTooLarge(ProblemError):
    status, title = 413, "Payload too large"


class UnsupportedMediaType(ProblemError):
    status, title = 415, "Unsupported media type"


class RangeNotSatisfiable(ProblemError):
    status, title = 416, "Range not satisfiable"


class Unprocessable(ProblemError):
    status, title = 422, "Unprocessable content"


class ServiceUnavailable(ProblemError):
    status, title = 503, "Service unavailable"


class HeadersTooLarge(ProblemError):
    status, title = 431, "Request header fields too large"


def database_problem(exc: DBAPIError) -> ProblemError | None:
    """What a database error a request provoked means for its client, if it is one of those a
    request can provoke (the unit of work is rolled back either way); None for a real fault.

    Services check what they can (a 412 or 409 under the writer's lock, see :mod:`repo.db`):
    these are the last line, for races and values that only the database can judge.
    """
    if is_busy(exc):
        return ServiceUnavailable("The database is busy with other changes; send the request again.",
                                  headers={"Retry-After": "1"})
    if is_unreachable(exc):  # restarting, or down: not the client's fault, nor a bug of ours
        return ServiceUnavailable("The database is not reachable right now.", headers={"Retry-After": "5"})
    if isinstance(exc, IntegrityError) and is_unique_violation(exc):
        return Conflict("A concurrent request made the same change first; fetch the current state and retry.")
    if isinstance(exc, DataError):
        return Unprocessable("The request holds a value the database cannot store or compare.")
    return None


def problem_response(error: ProblemError) -> JSONResponse:
    return JSONResponse(
        error.body(), status_code=error.status, media_type=PROBLEM_JSON, headers=error.headers
    )


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "metadata", "titles", 0, "lang")`` → ``metadata.titles[0].lang``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        source = parts.pop(0)
        if source != "body" and parts:
            return f"{source}.{parts[0]}" if len(parts) == 1 else field_path(parts)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and not part.startswith("function-"):
            out += f".{part}" if out else part
    return out or "body"


def validation_errors(errors: Any) -> list[FieldError]:
    return [FieldError(field_path(e.get("loc", ())), _message(e)) for e in errors]


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


#: Paths whose clients are programs: their errors are always problem+json.
MACHINE_PATHS = ("/api/", "/oai", "/health")


def wants_page(request: Request) -> bool:
    """A browser asking for a path outside the API (``/nope``): it should get a page, not JSON."""
    return (not request.url.path.startswith(MACHINE_PATHS)
            and "text/html" in request.headers.get("accept", ""))


def install(app: FastAPI, page: Callable[..., Response] | None = None) -> None:
    """Register the single rendering of errors (``page``: how a browser gets an unknown path, see
    :func:`wants_page`; the reading room's own routes render their errors themselves)."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        if page is not None and wants_page(request):  # e.g. a browser opening an embargoed file
            return page(request, exc.status, exc.detail, headers=exc.headers or None,
                        **getattr(exc, "page_context", {}))
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if page is not None and wants_page(request):  # /works/abc/files/x: nothing is there
            return page(request, 404)
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem_response(BadRequest("The request body is not valid JSON."))
        return problem_response(
            Unprocessable("The request has invalid fields.", errors=validation_errors(errors))
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        problem = database_problem(exc)
        if problem is None:
            raise exc  # a fault of ours: the server error it is
        log.warning("%s %s: %s (%s)", request.method, request.url.path, problem.title, str(exc.orig)[:200])
        if page is not None and wants_page(request):
            return page(request, problem.status, problem.detail, headers=problem.headers or None)
        return problem_response(problem)

    app.router.redirect_slashes = False  # Starlette's redirect names the Host the client sent

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and (moved := slash_redirect(request)) is not None:
            return moved
        if page is not None and wants_page(request):
            return page(request, exc.status_code, headers=dict(exc.headers or {}) or None)
        error = ProblemError(str(exc.detail))
        error.status = exc.status_code
        error.title = str(exc.detail)
        error.headers = dict(exc.headers or {})
        return problem_response(error)


def slash_redirect(request: Request) -> Response | None:
    """``/works/1/`` → ``/works/1`` (and back) when only the other spelling has a route, as
    Starlette would, but on the configured public base URL: a spoofed ``Host`` header never
    reaches a ``Location`` (cache poisoning, open redirects)."""
    path = request.scope["path"]
    if path == "/":
        return None
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    scope = {**request.scope, "path": other}
    if not any(route.matches(scope)[0] != Match.NONE for route in request.app.router.routes):
        return None
    query = request.scope.get("query_string", b"").decode("latin-1")
    location = request.app.state.settings.base_url + other + (f"?{query}" if query else "")
    return RedirectResponse(location, status_code=307)
