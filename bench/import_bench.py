"""Import and export benchmark: `repo import` of N JSON Lines works (no files), then `repo export`.

The works are the synthetic corpus's (``repo.synthetic.metadata``: every work type, 1–4 creators,
abstracts, subjects, journals, books, DOIs for some articles), one deposit record per line with an
``external_id``, published (``--publish``). For each size, a fresh repository runs, each as a
separate process (what an operator runs):

1. ``repo import FILE --centre bench --publish``: works/s from the import's own times in SQL
   (started → finished), the command's wall time, its CPU time and its peak RSS (VmHWM) — a file
   of 4 MiB or more is validated in a second process (its CPU time counted in the command's, its
   peak RSS shown apart); ``--one-process`` imports without it;
2. ``repo export -o FILE`` (JSON Lines) and ``repo export --format csv``: works/s over the
   command's wall time (process start included), and without the wall time of an empty export
   (the start-up: imports, migration check); the same per CPU second; peak RSS.

Printed, never asserted; the machine's load is printed beside each line (2 shared cores: compare
ratios, not absolute figures). Search indexing is not part of it (works reach the search outbox;
the indexer drains it later), nor is rendering OAI records.

    .venv/bin/python bench/import_bench.py                          # 10k and 100k, SQLite
    .venv/bin/python bench/import_bench.py --sizes 10000 --runs 3
    .venv/bin/python bench/import_bench.py --database-url postgresql://…   # an empty database per run

Targets (issue 13): import ≥ 2,000 works/s on SQLite (PostgreSQL reported); export ≥ 10,000
works/s; RSS flat between 10k and 100k.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harvest_bench import Children, peak_rss_mib, postgres_cpu, reset_postgres  # noqa: E402  (the same measures as the harvest bench)


def write_corpus(path: Path, count: int, seed: int) -> None:
    from repo.synthetic import metadata
    from repo.works.vocabularies import WorkType

    rng = random.Random(seed)
    types = list(WorkType)
    with path.open("w", encoding="utf-8") as out:
        for n in range(1, count + 1):
            kind = rng.choice(types)
            record = {"external_id": f"bench-{n}", "type": kind.value, "access_right": "open",
                      "metadata": metadata(rng, kind, n)}
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


CHILDREN: dict[str, Children] = {}  # the last command's child processes (an import's second process)


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS MiB, output) of one command; its children's CPU time is
    included (the command waits for them); CHILDREN["last"] has their peak RSS and CPU time."""
    began = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0.0
    children = CHILDREN["last"] = Children()
    while process.poll() is None:
        peak = max(peak, peak_rss_mib(process.pid))
        children.sample(process.pid)
        time.sleep(0.1)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{output[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, peak, output


def import_seconds(database_url: str) -> tuple[float, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        started, finished, created = connection.execute(
            sa.text("SELECT started_at, finished_at, created + linked FROM imports ORDER BY id DESC LIMIT 1")).one()
    engine.dispose()
    if isinstance(started, str):  # SQLite
        from datetime import datetime

        started, finished = datetime.fromisoformat(started), datetime.fromisoformat(finished)
    return (finished - started).total_seconds(), created


def once(corpus: Path, count: int, database_url: str | None, workdir: Path, one_process: bool = False,
         ) -> dict[str, float]:
    env = {**os.environ, "REPO_DATA_DIR": str(workdir), "REPO_SECRET_KEY": "bench-secret"}
    if one_process:  # never a second process (the default: from REPO_IMPORT_PARALLEL_FROM_BYTES of file on)
        env["REPO_IMPORT_PARALLEL_FROM_BYTES"] = str(1 << 50)
    env.pop("REPO_DATABASE_URL", None)
    if database_url:
        env["REPO_DATABASE_URL"] = database_url
    url = database_url or f"sqlite:///{workdir / 'repo.sqlite3'}"
    repo = str(BIN / "repo")
    subprocess.run([repo, "centre", "add", "bench", "Bench centre"], env=env, check=True, stdout=subprocess.DEVNULL)
    server_before = postgres_cpu(database_url)
    wall, cpu, rss, output = run([repo, "import", str(corpus), "--centre", "bench", "--publish"], env)
    child_rss, child_cpu = CHILDREN["last"].rss, CHILDREN["last"].cpu_seconds
    server_after = postgres_cpu(database_url)
    server_cpu = server_after - server_before if server_before is not None and server_after is not None else None
    seconds, created = import_seconds(url.replace("postgresql://", "postgresql+psycopg://", 1))
    if created != count:  # the synthetic ISBN pool repeats: a few rows are linked, not created
        raise SystemExit(f"the import created or linked {created} works of {count}:\n{output[-3000:]}")
    out = workdir / "export.jsonl"
    empty_wall, empty_cpu, _, _ = run([repo, "export", "--centre", "nowhere", "-o", str(out)], env)  # start-up
    export_wall, export_cpu, export_rss, _ = run([repo, "export", "-o", str(out)], env)
    lines = sum(1 for _ in out.open("rb"))  # works exported (the linked rows made no work of their own)
    csv_wall, csv_cpu, csv_rss, _ = run([repo, "export", "--format", "csv", "-o", str(workdir / "export.csv")], env)
    return {"rate": count / seconds, "seconds": seconds, "wall": wall, "cpu": cpu, "cpu_rate": count / cpu,
            "rss": rss, "child_rss": child_rss, "child_cpu": child_cpu, "export_rate": lines / export_wall, "export_wall": export_wall, "export_rss": export_rss,
            "export_net": lines / max(export_wall - empty_wall, 1e-3), "export_cpu": export_cpu,
            "export_cpu_rate": lines / export_cpu, "export_net_cpu": lines / max(export_cpu - empty_cpu, 1e-3),
            "csv_rate": lines / csv_wall, "csv_net": lines / max(csv_wall - empty_wall, 1e-3),
            "csv_cpu_rate": lines / csv_cpu, "csv_net_cpu": lines / max(csv_cpu - empty_cpu, 1e-3),
            "csv_rss": csv_rss, "startup_cpu": empty_cpu, "server_cpu": server_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--one-process", action="store_true",
                        help="import without the second (validating) process, whatever the file's size")
    args = parser.parse_args()
    print(f"import bench: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}{', one process' if args.one_process else ''}")
    for size in (int(s) for s in args.sizes.split(",")):
        scratch = Path(tempfile.mkdtemp(prefix="import-bench-corpus-"))
        corpus = scratch / "works.jsonl"
        write_corpus(corpus, size, args.seed)
        results = []
        try:
            for _ in range(args.runs):
                workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
                try:
                    if args.database_url:
                        reset_postgres(args.database_url)
                    results.append(once(corpus, size, args.database_url, workdir, args.one_process))
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
                r = results[-1]
                print(f"  {size:>7,} works: import {r['rate']:,.0f} works/s ({r['seconds']:.1f} s in SQL; command "
                      f"{r['wall']:.1f} s, {r['cpu']:.1f} CPU s = {r['cpu_rate']:,.0f} works per CPU s, of which the "
                      f"second process {r['child_cpu']:.1f} CPU s; the busier process "
                      f"{size / max(r['cpu'] - r['child_cpu'], r['child_cpu']):,.0f} works per CPU s"
                      + (f"; PostgreSQL server {r['server_cpu']:.1f} CPU s, together "
                         f"{size / (r['cpu'] + r['server_cpu']):,.0f} works per CPU s" if r["server_cpu"] is not None
                         else "")
                      + f"), peak RSS "
                      f"{r['rss']:.0f} MiB (second process {r['child_rss']:.0f} MiB); export {r['export_rate']:,.0f} works/s ({r['export_wall']:.1f} s, "
                      f"{r['export_net']:,.0f} works/s without the start-up of an empty export, "
                      f"{r['export_cpu']:.1f} CPU s = {r['export_cpu_rate']:,.0f} works per CPU s, "
                      f"{r['export_net_cpu']:,.0f} without the start-up's {r['startup_cpu']:.1f} CPU s; "
                      f"peak RSS {r['export_rss']:.0f} MiB); export CSV {r['csv_rate']:,.0f} works/s "
                      f"({r['csv_net']:,.0f} without the start-up; {r['csv_cpu_rate']:,.0f} works per CPU s, "
                      f"{r['csv_net_cpu']:,.0f} without the start-up; peak RSS {r['csv_rss']:.0f} MiB); "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        print(f"{size:>9,}: median import {statistics.median(r['rate'] for r in results):,.0f} works/s, export "
              f"{statistics.median(r['export_rate'] for r in results):,.0f} works/s, peak RSS import "
              f"{max(r['rss'] for r in results):.0f} MiB, export {max(r['export_rss'] for r in results):.0f} MiB",
              flush=True)


if __name__ == "__main__":
    main()
