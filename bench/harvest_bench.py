"""Harvest benchmark: `repo harvest run` against a local OAI-PMH source, end to end into SQL.

A local provider (the ingest tests' ``oai_source.py``, in a process of its own) serves N
deterministic synthetic oai_dc records (titles in es/pt/en, 1–4 creators, subjects, a 600–1200
character abstract, DRIVER type and access terms, a landing page, a DOI for a third of them, 2 %
deleted) in pages of --page-size. For each size, a fresh repository adds the source and runs
`repo harvest run` (a separate process: what an operator runs), then reads the run's counters.

Printed (never asserted): records/s of the run (seen / its duration in SQL), the wall time of
the command, the CPU time of the harvesting process and of its second process (mapping and
validating, from 2,000 records on; reaped by the command, so counted; --one-process: without it)
and of the local source serving it (it shares the machine's cores)
(records per CPU second: what the rate would be with a core of its own, whatever else runs on the machine) and, with a local PostgreSQL, the
server's CPU time over the run (its postmaster's own and reaped children's), its peak RSS (VmHWM),
and the median over --runs. Search
indexing is not part of it: works reach the search outbox and the indexer drains it later.

    .venv/bin/python bench/harvest_bench.py                          # 10k and 100k, SQLite
    .venv/bin/python bench/harvest_bench.py --sizes 10000 --runs 3
    .venv/bin/python bench/harvest_bench.py --database-url postgresql://…   # an empty database per run

Target (issue 12): at least 2,000 records/s end to end into SQL; RSS flat between 10k and 100k.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests" / "ingest"

WORDS = {
    "es": "análisis estudio desarrollo educación sociedad política económica región investigación comunidad "
          "evaluación impacto salud pública gestión territorio cambio agua rural urbano historia memoria".split(),
    "pt": "análise estudo desenvolvimento educação sociedade política econômica região pesquisa comunidade "
          "avaliação impacto saúde pública gestão território mudança água rural urbano história memória".split(),
    "en": "analysis study development education society policy economic region research community "
          "evaluation impact health public management territory change water rural urban history memory".split(),
}
LANG3 = {"es": "spa", "pt": "por", "en": "eng"}
TYPES = ["article", "book", "bookPart", "workingPaper", "report", "doctoralThesis", "masterThesis",
         "conferenceObject", "lecture", "preprint", "review", "other"]
ACCESS = ["openAccess"] * 8 + ["restrictedAccess", "closedAccess"]


def items(count: int, seed: int) -> list:  # type: ignore[type-arg]
    """The synthetic corpus, deterministic for a seed."""
    sys.path.insert(0, str(TESTS))
    from oai_source import Item

    rng = random.Random(seed)
    start = datetime(2010, 1, 1, tzinfo=UTC)
    span = (datetime(2026, 1, 1, tzinfo=UTC) - start).total_seconds()
    made = []
    for n in range(1, count + 1):
        stamp = start + timedelta(seconds=int(rng.random() * span))
        if rng.random() < 0.02:
            made.append(Item(f"oai:bench.example.org:{n}", stamp, deleted=True))
            continue
        lang = rng.choice(["es", "es", "pt", "en"])
        words = WORDS[lang]
        fields = [("title", " ".join(rng.choice(words) for _ in range(rng.randint(4, 9))).capitalize(), lang)]
        if rng.random() < 0.4:
            other = rng.choice([x for x in WORDS if x != lang])
            fields.append(("title", " ".join(rng.choice(WORDS[other]) for _ in range(6)).capitalize(), other))
        for _ in range(rng.randint(1, 4)):
            fields.append(("creator", f"{rng.choice(['Pérez', 'Silva', 'Gómez', 'Souza', 'Smith'])}"
                                      f"{rng.randint(1, 999)}, {rng.choice(['Ana', 'João', 'María', 'Paul'])}", None))
        for _ in range(rng.randint(2, 6)):
            fields.append(("subject", rng.choice(words), lang))
        abstract = " ".join(rng.choice(words) for _ in range(rng.randint(80, 160)))
        fields.append(("description", abstract[:1200].capitalize() + ".", lang))
        fields.append(("publisher", "CLACSO", None))
        fields.append(("date", f"{rng.randint(1990, 2025)}-{rng.randint(1, 12):02d}", None))
        fields.append(("type", "info:eu-repo/semantics/" + rng.choice(TYPES), None))
        fields.append(("type", "info:eu-repo/semantics/publishedVersion", None))
        fields.append(("identifier", f"https://bench.example.org/handle/{n}", None))
        if n % 3 == 0:
            fields.append(("identifier", f"https://doi.org/10.5555/bench.{n}", None))
        fields.append(("language", LANG3[lang], None))
        fields.append(("rights", "info:eu-repo/semantics/" + rng.choice(ACCESS), None))
        fields.append(("rights", "https://creativecommons.org/licenses/by/4.0/", None))
        fields.append(("format", "application/pdf", None))
        made.append(Item(f"oai:bench.example.org:{n}", stamp, fields=fields))
    return made


def serve_source(count: int, seed: int, page_size: int, port: int) -> None:
    """(In a child process) serve the corpus until killed."""
    from oai_source import Source, serve

    source = Source(items(count, seed), page_size=page_size)
    import oai_source

    oai_source.Source.selected = _selected_fast  # type: ignore[method-assign]
    served = serve(source)
    next(served)
    print(f"SERVING {source.url}", flush=True)
    threading.Event().wait()


_SORTED: dict[int, list] = {}  # type: ignore[type-arg]


def _selected_fast(self, lower, upper):  # type: ignore[no-untyped-def]
    """The provider's selection, with the sorted corpus computed once (the test provider sorts per request)."""
    key = id(self.items)
    if key not in _SORTED:
        _SORTED[key] = sorted(self.items, key=lambda i: (i.datestamp, i.identifier))
    low, high = self._bound(lower, False), self._bound(upper, True)
    import bisect

    stamped = _SORTED[key]
    stamps = [i.datestamp for i in stamped] if not hasattr(self, "_stamps") else self._stamps
    self._stamps = stamps
    begin = bisect.bisect_left(stamps, low) if low else 0
    end = bisect.bisect_right(stamps, high) if high else len(stamped)
    return stamped[begin:end]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def descendants(pid: int) -> list[int]:
    """The process's children, theirs, and so on (a command's second process)."""
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return children + [d for c in children for d in descendants(c)]


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Children:
    """A command's descendants, sampled while it runs: their largest peak RSS and their CPU time
    (the last sample of each, up to one interval short of the end)."""

    def __init__(self) -> None:
        self.rss = 0.0
        self.cpu: dict[int, float] = {}

    def sample(self, pid: int) -> None:
        for child in descendants(pid):
            self.rss = max(self.rss, peak_rss_mib(child))
            self.cpu[child] = max(self.cpu.get(child, 0.0), cpu_seconds(child))

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())


def harvest_once(url: str, database_url: str | None, workdir: Path, profile: str | None = None,
                 one_process: bool = False, source_pid: int | None = None) -> dict[str, float]:
    env = {**os.environ, "REPO_DATA_DIR": str(workdir), "REPO_SECRET_KEY": "bench-secret",
           "REPO_HARVEST_SCHEDULER_SECONDS": "0"}
    if one_process:  # never a second process (by default from REPO_HARVEST_PARALLEL_FROM_RECORDS records on)
        env["REPO_HARVEST_PARALLEL_FROM_RECORDS"] = str(1 << 50)
    env.pop("REPO_DATABASE_URL", None)
    if database_url:
        env["REPO_DATABASE_URL"] = database_url
    repo = str(BIN / "repo")
    subprocess.run([repo, "centre", "add", "bench", "Bench centre"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([repo, "harvest", "add", url, "--centre", "bench"], env=env, check=True, stdout=subprocess.DEVNULL)
    server_before = postgres_cpu(database_url)
    source_before = cpu_seconds(source_pid) if source_pid else 0.0
    began = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [repo, "harvest", "run", "1"]
    if profile:  # sampled by py-spy (pip install py-spy): folded stacks for flame graphs or grep
        command = [str(BIN / "py-spy"), "record", "--format", "raw", "--rate", "200", "--subprocesses",
                   "-o", profile, "--", *command]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    children = Children()
    while process.poll() is None:
        peak = max(peak, peak_rss_mib(process.pid))
        children.sample(process.pid)
        time.sleep(0.2)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    source_cpu = cpu_seconds(source_pid) - source_before if source_pid else float("nan")
    server_after = postgres_cpu(database_url)
    server_cpu = server_after - server_before if server_before is not None and server_after is not None else None
    output = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise SystemExit(f"harvest failed:\n{output}")
    import json

    shown = subprocess.run([repo, "harvest", "show", "1", "--json"], env=env, check=True, capture_output=True,
                           text=True).stdout
    run = json.loads(shown)["runs"][0]
    return {"seen": run["seen"], "created": run["created"], "failed": run["failed"],
            "seconds": run["duration_seconds"], "rate": run["seen"] / run["duration_seconds"], "wall": wall,
            "rss": peak, "child_rss": children.rss, "child_cpu": children.cpu_seconds, "cpu": cpu, "cpu_rate": run["seen"] / cpu, "server_cpu": server_cpu,
            "source_cpu": source_cpu}


def postgres_cpu(url: str | None) -> float | None:
    """CPU seconds of the PostgreSQL server so far (its postmaster and every backend it reaped),
    when the server runs on this machine and /proc shows it; else ``None``."""
    if not url:
        return None
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        stat = Path(f"/proc/{backend}/stat").read_text()
        postmaster = int(stat.rsplit(")", 1)[1].split()[1])  # the backend's parent
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
    except (OSError, ValueError, IndexError):
        return None
    finally:
        engine.dispose()


def reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--one-process", action="store_true",
                        help="harvest without the second (mapping and validating) process, whatever the size")
    parser.add_argument("--profile", default=None, help="write py-spy's folded stacks of the run here "
                        "(the CPU figures then include the sampler's)")
    args = parser.parse_args()
    print(f"harvest bench: page size {args.page_size}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for size in (int(s) for s in args.sizes.split(",")):
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); "
                                   f"sys.path.insert(0, {str(TESTS)!r}); import harvest_bench as b; "
                                   f"b.serve_source({size}, {args.seed}, {args.page_size}, {port})"],
                                  stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        line = server.stdout.readline()
        url = line.split()[-1]
        results = []
        try:
            for _ in range(args.runs):
                workdir = Path(tempfile.mkdtemp(prefix="harvest-bench-"))
                try:
                    if args.database_url:
                        reset_postgres(args.database_url)
                    results.append(harvest_once(url, args.database_url, workdir, args.profile, args.one_process,
                                                server.pid))
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
                r = results[-1]
                print(f"  {size:>7,} records: {r['rate']:,.0f} records/s ({r['seen']:,.0f} seen, "
                      f"{r['created']:,.0f} created, {r['failed']:,.0f} failed in {r['seconds']:.1f} s; "
                      f"command {r['wall']:.1f} s, {r['cpu']:.1f} CPU s = {r['cpu_rate']:,.0f} records per CPU s; "
                      f"of which the writer {r['cpu'] - r['child_cpu']:.1f} and the second process {r['child_cpu']:.1f} CPU s; "
                      f"the busier process "
                      f"{r['seen'] / max(r['cpu'] - r['child_cpu'], r['child_cpu']):,.0f} records per CPU s)"
                      + (f", PostgreSQL server {r['server_cpu']:.1f} CPU s (together "
                         f"{r['seen'] / (r['cpu'] + r['server_cpu']):,.0f} records per CPU s)"
                         if r["server_cpu"] is not None else "")
                      + f", the source {r['source_cpu']:.1f} CPU s"
                      + f", peak RSS {r['rss']:.0f} MiB (second process {r['child_rss']:.0f} MiB), load {os.getloadavg()[0]:.1f}", flush=True)
        finally:
            server.kill()
            server.wait()
        print(f"{size:>9,}: median {statistics.median(r['rate'] for r in results):,.0f} records/s, "
              f"peak RSS {max(r['rss'] for r in results):.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
