"""A dependency that is down is a 503 with ``Retry-After``, never a 500.

While the search server is stopped or the object store is unreachable, requests that need them
answer ``503 Service Unavailable`` (problem+json, or a page for a browser; ``Retry-After: 5``); the
others go on. The error is logged once per request, in one line. (The database's errors have
their own handler, :func:`repo.errors.database_problem`: busy, unreachable — a restart — or the
client's fault.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from starlette.responses import Response

from repo.errors import ServiceUnavailable, problem_response, wants_page

log = logging.getLogger("repo.unavailable")
RETRY_AFTER = "5"


def _causes() -> dict[type[BaseException], str]:
    import botocore.exceptions
    import opensearchpy.exceptions

    return {
        opensearchpy.exceptions.ConnectionError: "The search service is not reachable right now.",
        botocore.exceptions.EndpointConnectionError: "The file store is not reachable right now.",
        botocore.exceptions.ConnectionClosedError: "The file store is not reachable right now.",
    }


def install(app: FastAPI, page: Callable[..., Response] | None = None) -> None:
    """``page``: how a browser is answered (as :func:`repo.errors.install` does)."""
    for kind, detail in _causes().items():
        def handler(request: Request, exc: Exception, detail: str = detail) -> Response:
            log.warning("503 for %s %s: %s: %s", request.method, request.url.path, type(exc).__name__,
                        str(exc).splitlines()[0][:300] if str(exc) else "")
            problem = ServiceUnavailable(detail, headers={"Retry-After": RETRY_AFTER})
            if page is not None and wants_page(request):
                return page(request, problem.status, problem.detail, headers=problem.headers)
            return problem_response(problem)

        app.add_exception_handler(kind, handler)  # type: ignore[arg-type]
