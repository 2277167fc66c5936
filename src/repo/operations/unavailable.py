"""A dependency that is down is a 503 with ``Retry-After``, never a 500.

While PostgreSQL restarts, the search server is stopped or the object store is unreachable,
requests that need them answer ``503 Service Unavailable`` (problem+json, ``Retry-After: 5``);
the others go on. The error is logged once per request, in one line.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from repo.errors import ProblemError, problem_response

log = logging.getLogger("repo.unavailable")
RETRY_AFTER = "5"


class ServiceUnavailable(ProblemError):
    status, title = 503, "Service unavailable"


def _causes() -> dict[type[BaseException], str]:
    import botocore.exceptions
    import opensearchpy.exceptions
    import sqlalchemy.exc

    return {
        sqlalchemy.exc.OperationalError: "The database is not reachable right now.",
        sqlalchemy.exc.InterfaceError: "The database is not reachable right now.",
        opensearchpy.exceptions.ConnectionError: "The search service is not reachable right now.",
        botocore.exceptions.EndpointConnectionError: "The file store is not reachable right now.",
        botocore.exceptions.ConnectionClosedError: "The file store is not reachable right now.",
    }


def install(app: FastAPI) -> None:
    for kind, detail in _causes().items():
        def handler(request: Request, exc: Exception, detail: str = detail) -> JSONResponse:
            log.warning("503 for %s %s: %s: %s", request.method, request.url.path, type(exc).__name__,
                        str(exc).splitlines()[0][:300] if str(exc) else "")
            return problem_response(ServiceUnavailable(detail, headers={"Retry-After": RETRY_AFTER}))

        app.add_exception_handler(kind, handler)  # type: ignore[arg-type]
