"""What the observation middleware (request id, Prometheus metrics, access log) adds per request.

Serves ``GET /oai?verb=Identify`` in-process through the ASGI app — no network, so the time is the
server's — with the middleware and with it removed, in interleaved rounds, and prints the medians
and the difference; then the middleware alone around an empty app (its own cost, nothing else).
The access log goes to a discarding handler at INFO (its record is built, as in production).
Prints, never asserts.

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
    logging.getLogger("repo.access").addHandler(logging.NullHandler())
    logging.getLogger("repo.access").setLevel(logging.INFO)
    logging.getLogger("repo.access").propagate = False

    from fastapi.testclient import TestClient

    from repo.app import create_app
    from repo.config import Settings
    from repo.operations.middleware import Observe

    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(data_dir=Path(directory), base_url="http://bench")
        observed = create_app(settings)
        bare = create_app(settings)
        bare.user_middleware = [m for m in bare.user_middleware if m.cls is not Observe]
        with TestClient(observed) as a, TestClient(bare) as b:
            a.get("/oai?verb=Identify"), b.get("/oai?verb=Identify")  # build the middleware stacks, warm up
            with_mw, without = [], []
            for _ in range(args.rounds):
                with_mw.append(a.portal.call(timed, observed, args.requests))
                without.append(b.portal.call(timed, bare, args.requests))

        async def empty(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        alone = [asyncio.run(timed(Observe(empty), args.requests, "/x", b"")) for _ in range(args.rounds)]
        nothing = [asyncio.run(timed(empty, args.requests, "/x", b"")) for _ in range(args.rounds)]

    load = os.getloadavg()[0]
    a_med, b_med = statistics.median(with_mw), statistics.median(without)
    print(f"machine load (1 min): {load:.2f} on {os.cpu_count()} cores")
    print(f"OAI Identify in-process, median of {args.rounds} rounds x {args.requests} requests:")
    print(f"  with the middleware     {a_med:8.1f} us")
    print(f"  without it              {b_med:8.1f} us")
    print(f"  difference              {a_med - b_med:8.1f} us ({(a_med - b_med) / b_med:+.1%})")
    print(f"the middleware alone around an empty app: {statistics.median(alone) - statistics.median(nothing):.1f} us "
          f"per request (empty app {statistics.median(nothing):.1f} us)")


if __name__ == "__main__":
    main()
