"""``/metrics`` (Prometheus), ``/health`` (liveness) and ``/ready`` (readiness) — for machines.

``/health`` answers as long as the process serves requests (an orchestrator restarts it when it
does not). ``/ready`` checks what requests need — the database, the search backend, the file
store — each with a time limit, and answers 503 with ``Retry-After`` and the failing checks when
any is unreachable (a load balancer then sends traffic elsewhere).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from repo.operations import metrics

router = APIRouter(tags=["operations"])
CHECK_SECONDS = 3.0
RETRY_AFTER = "5"


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: database, search and file store reachable",
            responses={503: {"description": "A dependency is unreachable (see checks)"}})
async def ready(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, Callable[[], Any]] = {
        "database": lambda: _database(state.db),
        "search": state.search.count,
        "storage": state.files.check,
    }
    results = {name: await _timed(check) for name, check in checks.items()}
    ok = all(r["ok"] for r in results.values())
    return JSONResponse({"status": "ready" if ok else "unavailable", "checks": results},
                        status_code=200 if ok else 503, headers={} if ok else {"Retry-After": RETRY_AFTER})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
async def prometheus(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    body = await anyio.to_thread.run_sync(metrics.exposition, request.app.state.db)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _database(db: Any) -> None:
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")


async def _timed(check: Callable[[], Any]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with anyio.fail_after(CHECK_SECONDS):
            await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {CHECK_SECONDS:g} s"}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
