"""Search benchmark: query latency with facets, and `repo reindex` throughput, per backend.

On a synthetic corpus (`repo demo --synthetic N`, plus extracted full text for --text-share of the
works, written here as File rows the way the extractor leaves them), for each backend:

1. `repo reindex` (the in-process function the command runs): works/s;
2. 200 mixed queries (words, phrases, fields, exclusions, OR, truncation, filters, year ranges,
   browse) with facets, through the search service exactly as `GET /api/search` calls it:
   p50/p95/mean in ms (words are stemmed: the embedded index analyses them in Python);
3. the same for free-text queries combined with a year range (FTS with range filters).

Prints medians and percentiles, wall time and this process's CPU time (``time.process_time``: the
embedded backend runs in-process, so its CPU time is the query's own work whatever else the
machine runs), and the machine's load average; never asserts. Targets (issues 4 and 15, embedded backend, 100k works, stemming on):
p50 <= 20 ms, p95 <= 60 ms for both query sets; reindex >= 2,000 works/s.

    .venv/bin/python bench/search_bench.py                          # 100k works, embedded + osmem
    .venv/bin/python bench/search_bench.py --works 1000000 --backends embedded
    .venv/bin/python bench/search_bench.py --backends embedded --dir /tmp/sb --no-reindex   # queries only
    .venv/bin/python bench/search_bench.py --backends osmem --budget 600   # stop a query set after 10 min

An out-of-process server's CPU time (osmem-server's, from ``/proc``) is reported beside the
client's, for the reindex and per query set. ``--budget`` bounds the wall time of each query set:
past it, the set stops and the figures say how many queries ran (a server too slow to finish is
a finding, reported as such).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

BIN = Path(sys.executable).parent


def prepare(directory: Path, count: int, seed: int, text_share: float) -> None:
    """The corpus: synthetic works (the shared generator) and extracted texts for some of them."""
    marker = directory / f"corpus-{count}-{seed}-{text_share}"
    env = {**os.environ, "REPO_DATA_DIR": str(directory), "REPO_SECRET_KEY": "bench-secret"}
    env.pop("REPO_DATABASE_URL", None)
    if marker.exists():  # a corpus kept from an older version: bring its schema up to date
        subprocess.run([str(BIN / "repo"), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        return
    started = time.perf_counter()
    subprocess.run([str(BIN / "repo"), "demo", "--synthetic", str(count), "--seed", str(seed)], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    print(f"generated {count:,} works in {time.perf_counter() - started:.0f} s")
    from repo.db import Database
    from repo.files.models import File
    from repo.works.models import Work

    database = Database(f"sqlite:///{directory / 'repo.sqlite3'}")
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with database.session() as session:
        vocabulary = _vocabulary(session)
        ids = session.scalars(sa.select(Work.id)).all()
        chosen = [i for i in ids if rng.random() < text_share]
        rows = [{"work_id": i, "name": "texto.pdf", "media_type": "application/pdf", "size": 4096, "sha256": "0" * 64,
                 "md5": "0" * 32, "text_state": "done", "has_thumbnail": False, "created_at": now, "updated_at": now,
                 "text": " ".join(rng.choices(vocabulary, k=400))} for i in chosen]
        for start in range(0, len(rows), 5000):
            session.execute(sa.insert(File), rows[start:start + 5000])
    database.dispose()
    marker.touch()
    print(f"added extracted text (400 words) to {len(chosen):,} works")


def _vocabulary(session) -> list[str]:  # type: ignore[no-untyped-def]
    from repo.works.models import Work

    words: set[str] = set()
    for doc in session.scalars(sa.select(Work.doc).limit(3000)):
        for title in doc.get("titles", []):
            words.update(w for w in re.findall(r"[^\W\d_]{4,}", title["value"]))
        for abstract in doc.get("abstracts", []):
            words.update(w for w in re.findall(r"[^\W\d_]{4,}", abstract["value"]))
    return sorted(words)


def queries(session, seed: int, n: int) -> tuple[list[dict], list[dict]]:  # type: ignore[no-untyped-def, type-arg]
    """``n`` mixed queries and ``n`` free-text + year-range queries, drawn from the corpus."""
    from repo.works.models import Work

    rng = random.Random(seed)
    vocabulary = _vocabulary(session)
    creators = []
    for doc in session.scalars(sa.select(Work.doc).limit(500)):
        creators += [c["family"] for c in doc.get("creators", []) if c.get("family")]
    titles = [t["value"] for doc in session.scalars(sa.select(Work.doc).limit(500)) for t in doc.get("titles", [])]
    types = ["book", "working_paper", "journal_article", "report", "lecture"]
    languages = ["spa", "por", "eng", "fra"]
    mixed: list[dict] = []  # type: ignore[type-arg]
    for i in range(n):
        kind = i % 25
        word = rng.choice(vocabulary)
        if kind < 7:
            q = {"q": word}
        elif kind < 10:
            q = {"q": f"{word} {rng.choice(vocabulary)}"}
        elif kind < 12:
            words = rng.choice(titles).split()
            start = rng.randrange(max(len(words) - 1, 1))
            q = {"q": '"' + " ".join(words[start:start + 2]) + '"'}
        elif kind < 13:
            q = {"q": f"author:{rng.choice(creators)}"}
        elif kind < 14:
            q = {"q": f"title:{word}"}
        elif kind < 15:
            q = {"q": f"{word} -{rng.choice(vocabulary)}"}
        elif kind < 17:
            q = {"q": word, "type": [rng.choice(types)]}
        elif kind < 18:
            q = {"q": word, "language": [rng.choice(languages)], "sort": "newest"}
        elif kind < 19:
            q = {"type": [rng.choice(types)], "sort": "newest"}  # browse a facet
        elif kind < 20:
            q = {}  # the landing page: everything, newest first
        elif kind < 22:
            q = {"q": f"{word} OR {rng.choice(vocabulary)}"}
        elif kind < 24:
            q = {"q": word[:rng.choice((3, 4, 5))] + "*"}  # truncation
        else:
            start = rng.randrange(1950, 2020)
            q = {"q": f"{word} {rng.choice(vocabulary)}", "year_from": start, "year_to": start + 10}
        mixed.append(q)
    ranged = []
    for _ in range(n):
        start = rng.randrange(1950, 2020)
        ranged.append({"q": rng.choice(vocabulary), "year_from": start, "year_to": start + rng.choice((1, 5, 10))})
    return mixed, ranged


def kind(params: dict) -> str:  # type: ignore[type-arg]
    """A query's kind for the report: its text's shape plus the other parameters it sets."""
    text = params.get("q") or ""
    shape = ("browse" if not text else "phrase" if text.startswith('"') else text.split(":")[0] if ":" in text
             else "or" if " OR " in text else "truncation" if text.endswith("*")
             else "exclusion" if " -" in text else "two words" if " " in text else "word")
    return "+".join([shape, *sorted(k for k in params if k != "q")])


def bounded_reindex(database, backend, budget: float) -> int:  # type: ignore[no-untyped-def]
    """``repo reindex``'s rebuild, stopped after ``budget`` seconds: the works written so far."""
    from repo.search import documents

    deadline = time.perf_counter() + budget
    with database.session() as session:
        def produce():  # type: ignore[no-untyped-def]
            for batch in documents.batches(session, 1000):
                yield batch
                if time.perf_counter() > deadline:
                    return

        return int(backend.rebuild(produce()))


def server_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) a server process has used so far (Linux ``/proc``), or None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    """The machine's load average (1, 5, 15 min): reported with every figure."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run(backend, database, label: str, mixed: list[dict], ranged: list[dict],  # type: ignore[no-untyped-def, type-arg]
        cpu_kinds: bool, budget: float | None = None, server_pid: int | None = None) -> None:
    from repo.clock import Clock
    from repo.config import Settings
    from repo.context import Context
    from repo.deposit.auth import ANONYMOUS
    from repo.search import service
    from repo.search.schemas import SearchQuery

    settings = Settings(data_dir=Path(tempfile.gettempdir()), secret_key="bench-secret")

    def measure(batch: list[dict], budget: float | None = None) -> tuple[list[float], list[float], list[int]]:  # type: ignore[type-arg]
        times, cpu, totals = [], [], []
        begun = time.perf_counter()
        for params in batch:
            if budget is not None and time.perf_counter() - begun > budget:
                break
            with database.session() as session:
                ctx = Context(session, ANONYMOUS, Clock().now(), settings)
                started, started_cpu = time.perf_counter(), time.process_time()
                result = service.search(ctx, SearchQuery(**params), backend=backend)
                cpu.append((time.process_time() - started_cpu) * 1000)
                times.append((time.perf_counter() - started) * 1000)
                totals.append(result.total)
        return times, cpu, totals

    measure(mixed[:20], budget)  # warm caches
    for name, batch in (("mixed queries + facets", mixed), ("free text + year range + facets", ranged)):
        if not batch:
            continue
        before = server_cpu(server_pid)
        begun = time.perf_counter()
        times, cpu, totals = measure(batch, budget)
        elapsed = time.perf_counter() - begun
        used = server_cpu(server_pid)
        if len(times) < len(batch):
            print(f"  [{label}] {name}: budget of {budget:.0f} s spent after {len(times)} of {len(batch)} queries "
                  f"({elapsed:.0f} s); figures below are over those {len(times)}")
        if len(times) < 2:
            print(f"  [{label}] {name}: too few queries for percentiles "
                  f"({', '.join(f'{t:.0f} ms' for t in times)}) [{load()}]")
            continue
        q, qc = statistics.quantiles(times, n=100), statistics.quantiles(cpu, n=100)
        print(f"  [{label}] {name}: n={len(times)} p50={statistics.median(times):.1f} ms p95={q[94]:.1f} ms "
              f"mean={statistics.fmean(times):.1f} ms max={max(times):.1f} ms (median hits {statistics.median(totals):,.0f}) "
              f"[{load()}]")
        print(f"      CPU time of this process (in-process backends: the query's own work; osmem: the client's): "
              f"p50={statistics.median(cpu):.1f} ms p95={qc[94]:.1f} ms mean={statistics.fmean(cpu):.1f} ms")
        if before is not None and used is not None:
            print(f"      CPU time of the server process: {(used - before) * 1000 / len(times):.1f} ms per query "
                  f"(mean over {len(times)} queries, {used - before:.1f} s)")
        by_kind: dict[str, list[float]] = {}
        for params, ms in zip(batch, cpu if cpu_kinds else times):
            by_kind.setdefault(kind(params), []).append(ms)
        print(f"      by kind ({'CPU' if cpu_kinds else 'wall'} median / max ms, count): " + "; ".join(
            f"{k} {statistics.median(v):.1f}/{max(v):.1f} ({len(v)})"
            for k, v in sorted(by_kind.items(), key=lambda kv: -statistics.median(kv[1]))))
        slowest = sorted(zip(cpu if cpu_kinds else times, totals, batch), key=lambda entry: -entry[0])[:5]
        print("      slowest: " + "; ".join(f"{ms:.1f} ms {params} ({hits:,} hits)" for ms, hits, params in slowest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--text-share", type=float, default=0.1, help="Share of works with extracted text")
    parser.add_argument("--backends", default="embedded,osmem")
    parser.add_argument("--dir", type=Path, default=None, help="Keep the corpus here (reused when present)")
    parser.add_argument("--budget", type=float, default=None,
                        help="Stop each query set after this many seconds (wall) and report what ran")
    parser.add_argument("--reindex-budget", type=float, default=None,
                        help="Stop the reindex after this many seconds (wall): the index then holds the first works "
                             "(by id) written so far, and the queries run on those")
    parser.add_argument("--parts", action="store_true",
                        help="osmem: run the mixed set again without highlighting, without aggregations (facets) "
                             "and without both, to see what the server's time goes to")
    parser.add_argument("--no-reindex", action="store_true",
                        help="Embedded: query the index already in --dir instead of rebuilding it")
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="search-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    prepare(directory, args.works, args.seed, args.text_share)

    from repo.clock import Clock
    from repo.db import Database
    from repo.search import indexer

    database = Database(f"sqlite:///{directory / 'repo.sqlite3'}")
    with database.session() as session:
        mixed, ranged = queries(session, args.seed, args.queries)
    print(f"corpus: {indexer.total_works(database):,} works in {directory}")
    for kind in args.backends.split(","):
        server = None
        server_pid: int | None = None
        if kind == "embedded":
            from repo.search.embedded.backend import EmbeddedBackend

            backend = EmbeddedBackend(directory / "search.sqlite3")
            label = "embedded (SQLite FTS5)"
        else:
            from osmem_server import OsmemServer

            from repo.search.opensearch.backend import OpenSearchBackend

            server = OsmemServer.start(japanese=False)
            server_pid = server.pid
            backend = OpenSearchBackend(server.url, "bench-works")
            label = "osmem-server (OpenSearch-compatible, in memory)"
        backend.ensure()
        if args.no_reindex and kind == "embedded" and backend.count():
            print(f"[{label}] reindex skipped: {backend.count():,} works already indexed")
        else:
            started, started_cpu, before = time.perf_counter(), time.process_time(), server_cpu(server_pid)
            if args.reindex_budget is None:
                count = indexer.reindex(database, backend, Clock())
            else:
                count = bounded_reindex(database, backend, args.reindex_budget)
            seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
            if args.reindex_budget is not None and count < indexer.total_works(database):
                print(f"[{label}] reindex budget of {args.reindex_budget:.0f} s spent: {count:,} of "
                      f"{indexer.total_works(database):,} works indexed; the queries run on those")
            print(f"[{label}] reindex: {count:,} works in {seconds:.1f} s = {count / seconds:,.0f} works/s; "
                  f"CPU time of this process {cpu:.1f} s = {count / cpu:,.0f} works per CPU-second [{load()}]")
            used = server_cpu(server_pid)
            if before is not None and used is not None:
                print(f"      CPU time of the server process {used - before:.1f} s; this process and the server "
                      f"together: {count / (cpu + used - before):,.0f} works per CPU-second")
        run(backend, database, label, mixed, ranged, kind == "embedded", args.budget, server_pid)
        if args.parts and server is not None:
            original = backend.client.search
            for dropped in (("highlight",), ("aggs",), ("highlight", "aggs")):
                def without(*a, body, dropped=dropped, **k):  # type: ignore[no-untyped-def]
                    return original(*a, body={key: v for key, v in body.items() if key not in dropped}, **k)

                backend.client.search = without
                run(backend, database, f"{label}, requests without {' and '.join(dropped)}", mixed, [], False,
                    args.budget, server_pid)
            backend.client.search = original
        backend.close()
        if server is not None:
            server.close()
    database.dispose()


if __name__ == "__main__":
    main()
