"""What the observation (request id, Prometheus metrics, access log) adds per request.

Serves ``GET /oai?verb=Identify`` in-process through the ASGI app — no network, so the time is the
server's — with the observation and without it (the outer layer, ``repo.middleware.Edge``, given
no ``observe``), in interleaved rounds, and prints the medians
and the difference — with the access log off (the default) and on (``REPO_ACCESS_LOG=true``) —; then
the observation alone: the outer layer around an empty app with it and without it. Logging is configured as
``repo serve`` configures it (JSON lines), written to /dev/null. Prints, never asserts.

    .venv/bin/python bench/metrics_bench.py                   # 20 rounds of 500 requests
    .venv/bin/python bench/metrics_bench.py --rounds 40 --requests 1000
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def scope(path: str, query: bytes) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
            "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("bench", 80)}


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def timed(app: Any, n: int, path: str = "/oai", query: bytes = b"verb=Identify") -> float:
    """Median microseconds per request over ``n`` requests."""
    samples = []
    status: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    for _ in range(n):
        started = time.perf_counter()
        await app(scope(path, query), receive, send)
        samples.append(time.perf_counter() - started)
    assert set(status) == {200}, set(status)
    return statistics.median(samples) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from repo.operations import logs

    logs.configure("info", "json")
    devnull = open(os.devnull, "w")  # noqa: SIM115
    for handler in logging.getLogger().handlers:
        handler.setStream(devnull)  # type: ignore[attr-defined]
    access = logging.getLogger("repo.access")

    from repo.app import create_app
    from repo.config import Settings
    from starlette.middleware import Middleware

    from repo.middleware import Edge, HeaderLimit, SecurityHeaders
    from repo.operations.middleware import Observe

    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(data_dir=Path(directory), base_url="http://bench")
        observed = create_app(settings)
        bare = create_app(settings)
        # the same stack, its outer layer without the observation (repo.middleware.Edge)
        bare.user_middleware = [Middleware(Edge, *m.args, **{**m.kwargs, "observe": None}) if m.cls is Edge else m
                                for m in bare.user_middleware]
        with TestClient(observed) as a, TestClient(bare) as b:
            a.get("/oai?verb=Identify"), b.get("/oai?verb=Identify")  # build the middleware stacks, warm up
            with_mw, with_access, without = [], [], []
            for _ in range(args.rounds):
                access.setLevel(logging.WARNING)
                with_mw.append(a.portal.call(timed, observed, args.requests))
                access.setLevel(logging.INFO)
                with_access.append(a.portal.call(timed, observed, args.requests))
                without.append(b.portal.call(timed, bare, args.requests))

        async def empty(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        def edge(observe: Observe | None) -> Edge:
            return Edge(empty, observe=observe, security=SecurityHeaders(), limit=HeaderLimit())

        access.setLevel(logging.WARNING)
        alone = [asyncio.run(timed(edge(Observe()), args.requests, "/x", b"")) for _ in range(args.rounds)]
        nothing = [asyncio.run(timed(edge(None), args.requests, "/x", b"")) for _ in range(args.rounds)]
        access.setLevel(logging.INFO)
        alone_access = [asyncio.run(timed(edge(Observe()), args.requests, "/x", b"")) for _ in range(args.rounds)]

    load = os.getloadavg()[0]
    a_med, c_med, b_med = statistics.median(with_mw), statistics.median(with_access), statistics.median(without)
    empty_med = statistics.median(nothing)
    print(f"machine load (1 min): {load:.2f} on {os.cpu_count()} cores")
    print(f"OAI Identify in-process, median of {args.rounds} rounds x {args.requests} requests:")
    print(f"  without the observation         {b_med:8.1f} us")
    print(f"  with it (access log off)        {a_med:8.1f} us   {a_med - b_med:+6.1f} us ({(a_med - b_med) / b_med:+.1%})")
    print(f"  with it and the access log      {c_med:8.1f} us   {c_med - b_med:+6.1f} us ({(c_med - b_med) / b_med:+.1%})")
    print(f"the observation alone (the outer layer around an empty app: {empty_med:.1f} us): "
          f"{statistics.median(alone) - empty_med:+.1f} us, with the access log "
          f"{statistics.median(alone_access) - empty_med:+.1f} us")


if __name__ == "__main__":
    main()
