"""The request path's observation: request id, metrics and the access log, begun and ended by
the application's pure ASGI outer layer (:class:`repo.middleware.Edge`: no BaseHTTPMiddleware,
no extra task, no body buffering, nothing copied).

Per request it costs a clock read at each end, a context variable, one header appended, two
cached Prometheus children incremented and one log record (measured by ``bench/metrics_bench.py``).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from starlette.types import Scope

from repo.operations import metrics
from repo.operations.logs import REQUEST_ID

access = logging.getLogger("repo.access")
_CLIENT_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


class Observe:
    """A request's observation, begun and ended by the application's outer layer
    (:class:`repo.middleware.Edge`). ``routes``: the application's routes, to name the template
    of a plain Starlette route (such as ``/oai``), for which FastAPI leaves only the endpoint in
    the scope."""

    def __init__(self, routes: Callable[[], Iterable[Any]] = tuple) -> None:
        self.routes = routes
        self._templates: dict[Any, str] | None = None

    def begin(self, scope: Scope) -> "Seen":
        """A request's observation starts: its clock, its id (the ``X-Request-ID`` header to answer with)."""
        started = time.perf_counter()
        request_id = _request_id(scope)
        return Seen(started, request_id, REQUEST_ID.set(request_id), (b"x-request-id", request_id.encode("ascii")))

    def end(self, scope: Scope, seen: "Seen", status: int) -> None:
        """A request's observation ends (after its response): metrics, the access log."""
        seconds = time.perf_counter() - seen.started
        template = self._template(scope)
        method = scope["method"]
        metrics.observe_request(method, template, status, seconds)
        if access.isEnabledFor(logging.INFO):
            # A record made here, not by access.info(): no caller lookup (a stack walk) per request.
            record = logging.LogRecord("repo.access", logging.INFO, __file__, 0, "%s %s %d",
                                       (method, scope["path"], status), None)
            record.__dict__.update(method=method, path=scope["path"], route=template, status=status,
                                   duration_ms=round(seconds * 1000, 2), request_id=seen.request_id)
            access.handle(record)
        REQUEST_ID.reset(seen.token)

    def _template(self, scope: Scope) -> str:
        if "route_template" in scope:  # answered by a middleware ahead of the routing (/oai)
            return str(scope["route_template"])
        route = scope.get("route")
        if route is not None:
            return str(route.path)
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return "<unmatched>"
        if self._templates is None:  # once: endpoint -> path of the plain routes
            self._templates = dict(_plain_routes(self.routes(), ""))
        return str(self._templates.get(endpoint, "<unmatched>"))


class Seen(NamedTuple):
    """A request under observation (:meth:`Observe.begin`)."""
    started: float
    request_id: str
    token: Any  # the request id's context variable, reset at the end
    header: tuple[bytes, bytes]


def _plain_routes(routes: Iterable[Any], prefix: str) -> Iterable[tuple[Any, str]]:
    """``(endpoint, path template)`` of every route, through the routers FastAPI includes."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _plain_routes(included.routes, prefix + getattr(context, "prefix", ""))
        elif getattr(route, "endpoint", None) is not None and getattr(route, "path", None):
            yield route.endpoint, prefix + route.path


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _CLIENT_ID.match(value):
            return str(value.decode("ascii"))
    return os.urandom(8).hex()
