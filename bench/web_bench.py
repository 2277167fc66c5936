"""Reading-room benchmark: server time of each kind of page over a synthetic corpus.

Loads ``--works`` synthetic works (``repo demo --synthetic``), indexes them for search
(``repo reindex``), then requests every kind of page in-process through the ASGI app (no network,
so the time is the server's: routing, SQL, rendering) and prints the median and 95th percentile
per page, and the ratio of a deep listing page to the first. Prints, never asserts.

    .venv/bin/python bench/web_bench.py                 # 100,000 works
    .venv/bin/python bench/web_bench.py --works 10000 --runs 30
    .venv/bin/python bench/web_bench.py --database-url postgresql://user@host:port/emptydb

Targets: every page <= 40 ms of server time with 100,000 works (issue 16; 100 ms in issue 6), and a
conditional GET (If-None-Match of the page's own ETag, answered 304) <= 5 ms. Also prints the
uncompressed, gzip and Brotli sizes of the home, search, landing and sitemap pages. Each table
line carries the machine's load average when it was measured (the machine is shared), and the
median CPU time of this process per request ("cpu ms": the server's work, all threads — which,
unlike wall time, other processes on a busy machine barely inflate).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def load(directory: Path, works: int, seed: int, search: bool, database_url: str | None) -> None:
    env = {**os.environ, "REPO_DATA_DIR": str(directory), "REPO_SECRET_KEY": "bench-secret"}
    env.pop("REPO_DATABASE_URL", None)
    if database_url:
        env["REPO_DATABASE_URL"] = database_url
    env.pop("REPO_SEARCH_URL", None)
    started = time.perf_counter()
    subprocess.run([str(BIN / "repo"), "demo", "--synthetic", str(works), "--seed", str(seed)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    print(f"loaded {works:,} works in {time.perf_counter() - started:.1f} s")
    if database_url:
        # What autovacuum does soon after a bulk load: without statistics PostgreSQL plans blind.
        from repo.db import create_engine

        engine = create_engine(database_url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        engine.dispose()
    if search:
        started = time.perf_counter()
        subprocess.run([str(BIN / "repo"), "reindex"], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"indexed for search in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20, help="timed requests per page (after 3 warm-ups)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-search", action="store_true", help="skip indexing and the /search pages")
    parser.add_argument("--data-dir", type=Path, help="reuse a data directory already loaded")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite in the data dir)")
    args = parser.parse_args()

    directory = args.data_dir or Path(tempfile.mkdtemp(prefix="web-bench-"))
    if args.data_dir is None:
        load(directory, args.works, args.seed, not args.no_search, args.database_url)

    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from repo.app import create_app
    from repo.cli import CLI
    from repo.context import Context
    from repo.works import service
    from repo.centres.models import Collection, MemberCentre
    from repo.config import Settings
    from repo.works.models import Work

    settings = Settings(data_dir=directory, database_url=args.database_url, secret_key="bench-secret",
                        base_url="http://bench.example")
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.db.session() as session:
            ids = session.scalars(sa.select(Work.id).where(Work.status == "published")).all()
            centre = session.scalar(sa.select(MemberCentre.slug).order_by(MemberCentre.id))
            collection = session.scalar(sa.select(Collection.slug).where(Collection.parent_id.is_(None))
                                        .order_by(Collection.id))
            leaf = session.scalar(sa.select(Collection.slug).order_by(sa.func.length(Collection.path).desc(),
                                                                      Collection.id))
            in_centre = session.scalar(sa.select(sa.func.count()).select_from(Work).where(
                Work.status == "published", Work.centre.has(MemberCentre.slug == centre)))
        rng = random.Random(args.seed)
        print(f"{len(ids):,} published works; centre {centre} has {in_centre:,}")
        deep = max(1, (in_centre or 1) // 20)
        pages: list[tuple[str, list[str]]] = [
            ("home", ["/"]),
            ("landing page", [f"/works/{rng.choice(ids)}" for _ in range(args.runs + 3)]),
            ("export bibtex", [f"/works/{rng.choice(ids)}/export/bibtex" for _ in range(args.runs + 3)]),
            ("export csl-json", [f"/works/{rng.choice(ids)}/export/csl-json" for _ in range(args.runs + 3)]),
            ("centres", ["/centres"]),
            ("centre, page 1", [f"/centres/{centre}"]),
            (f"centre, page {deep}", [f"/centres/{centre}?page={deep}"]),
            ("collection tree", [f"/collections/{collection}"]),
            ("collection tree, p. 50", [f"/collections/{collection}?page=50"]),
            ("collection leaf", [f"/collections/{leaf}"]),
            ("browse authors, a", ["/browse/authors?letter=a"]),
            ("browse authors, s", ["/browse/authors?letter=s"]),  # the synthetic corpus's longest letter
            ("browse subjects", ["/browse/subjects?letter=e"]),
            ("sitemap index", ["/sitemap.xml"]),
            ("sitemap block", ["/sitemaps/works-1.xml"]),
            ("atom feed", ["/feed.atom"]),
            ("collection feed", [f"/collections/{collection}/feed.atom"]),
        ]
        if not args.no_search:
            pages += [
                ("search, no query", ["/search"]),
                ("search, words", ["/search?q=desigualdad", "/search?q=educação", "/search?q=migration policy"]),
                ("search, facet + sort", ["/search?type=book&sort=newest", "/search?language=por&year=2019"]),
                ("search, page 100", ["/search?page=100"]),
            ]
        # "after a change": before each request a published work is edited through the service
        # (its type flips, so the browse counts move): the cost of the first reader after every
        # deposit. The counts are counter rows kept in the edit's transaction (repo.works.counts);
        # the sitemap index is memoised per data version (repo.web.cache), so its first crawler
        # after a change recomputes it; "1 s after" gives the warmer (woken by each commit) time.
        pages += [("home, after a change", ["/"]), ("collection, after change", [f"/collections/{collection}"]),
                  ("sitemap, after change", ["/sitemap.xml"]), ("sitemap, 1 s after", ["/sitemap.xml"])]
        floor(client, args.runs)
        touched = ids[0]
        flips = 0
        medians: dict[str, float] = {}
        print(f"\n{'page':<24}{'median ms':>10}{'p95 ms':>9}{'cpu ms':>8}{'status':>8}{'load':>7}")
        for name, urls in pages:
            times: list[float] = []
            cpu: list[float] = []
            statuses: set[int] = set()
            for index in range(args.runs + 3):
                url = urls[index % len(urls)]
                if "after" in name:
                    flips += 1
                    with app.state.db.session() as session:
                        ctx = Context(session, CLI, datetime.now(UTC), settings)
                        service.patch(ctx, touched, {"type": "report" if flips % 2 else "book"}, None)
                    if "1 s" in name:
                        app.state.worker.wake("web.warm")  # what a deposit's commit does
                        time.sleep(1)
                started, processor = time.perf_counter(), time.process_time()
                response = client.get(url)
                elapsed = (time.perf_counter() - started) * 1000
                used = (time.process_time() - processor) * 1000
                statuses.add(response.status_code)
                if index >= 3:
                    times.append(elapsed)
                    cpu.append(used)
            times.sort()
            medians[name] = statistics.median(times)
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(f"{name:<24}{medians[name]:>10.1f}{p95:>9.1f}{statistics.median(cpu):>8.1f}"
                  f"{','.join(map(str, sorted(statuses))):>8}{os.getloadavg()[0]:>7.1f}")
        print(f"\nslowest median: {max(medians.values()):.1f} ms ({max(medians, key=medians.__getitem__)})")
        print(f"deep/first listing page ratio: {medians[f'centre, page {deep}'] / medians['centre, page 1']:.2f}")
        conditional(client, pages, args.runs)
        sizes(client, ids, rng, not args.no_search)


def floor(client: Any, runs: int) -> None:
    """What any request costs here before a page does anything: GET /health (no database, a few
    bytes) through the same in-process client. Subtract it to compare with a real server's time."""
    times: list[float] = []
    cpu: list[float] = []
    for index in range(runs + 3):
        started, processor = time.perf_counter(), time.process_time()
        client.get("/health")
        if index >= 3:
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - processor) * 1000)
    print(f"floor (GET /health): median {statistics.median(times):.1f} ms, cpu {statistics.median(cpu):.1f} ms, "
          f"load {os.getloadavg()[0]:.1f}")


def conditional(client: Any, pages: list[tuple[str, list[str]]], runs: int) -> None:
    """Revalidation: the page's own ETag sent back, answered 304 before any rendering."""
    print(f"\n{'conditional GET (304)':<24}{'median ms':>10}{'p95 ms':>9}{'cpu ms':>8}{'status':>8}{'load':>7}")
    for name, urls in pages:
        if "after" in name or name.startswith("search"):
            continue  # search pages are validated by their body's digest (rendered anyway)
        url = urls[0]
        etag = client.get(url).headers.get("etag", "")
        times: list[float] = []
        cpu: list[float] = []
        statuses: set[int] = set()
        for index in range(runs + 3):
            started, processor = time.perf_counter(), time.process_time()
            response = client.get(url, headers={"If-None-Match": etag})
            elapsed = (time.perf_counter() - started) * 1000
            used = (time.process_time() - processor) * 1000
            statuses.add(response.status_code)
            if index >= 3:
                times.append(elapsed)
                cpu.append(used)
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"{name:<24}{statistics.median(times):>10.1f}{p95:>9.1f}{statistics.median(cpu):>8.1f}"
              f"{','.join(map(str, sorted(statuses))):>8}{os.getloadavg()[0]:>7.1f}")


def sizes(client: Any, ids: list[int], rng: random.Random, search: bool) -> None:
    """Bytes on the wire: uncompressed, gzip and Brotli."""
    import brotli
    import gzip

    print(f"\n{'page':<24}{'identity':>10}{'gzip':>9}{'br':>9}{'load':>7}")
    urls = [("home", "/"), ("landing page", f"/works/{rng.choice(ids)}"), ("sitemap block", "/sitemaps/works-1.xml"),
            ("sitemap index", "/sitemap.xml")] + ([("search", "/search?q=desigualdad")] if search else [])
    for name, url in urls:
        row = []
        for coding in ("identity", "gzip", "br"):
            with client.stream("GET", url, headers={"Accept-Encoding": coding}) as response:
                raw = b"".join(response.iter_raw())
                assert response.headers.get("content-encoding", "identity") == coding or len(raw) < 512, (url, coding)
                used = response.headers.get("content-encoding", "identity")
                decoded = {"gzip": gzip.decompress, "br": brotli.decompress}.get(used, bytes)(raw)
                assert len(decoded) >= len(raw)
            row.append(len(raw))
        print(f"{name:<24}{row[0]:>10,}{row[1]:>9,}{row[2]:>9,}{os.getloadavg()[0]:>7.1f}")


if __name__ == "__main__":
    main()
