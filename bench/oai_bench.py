"""OAI-PMH benchmark: one harvester over HTTP on loopback against `repo serve`, on SQLite or PostgreSQL.

Prints medians and ratios (never asserts), each with the machine's load average:

1. full ListRecords oai_dc harvests of a synthetic corpus (`repo demo --synthetic`, which renders
   every record): the first harvest after the server starts, then the later ones; records/s and
   records per server CPU-second (the load-independent cost);
2. GetRecord and Identify latency (median of --repeats);
3. at each size in --latency-sizes: the page at 90 % of the list / the first page (keyset paging
   should keep this near 1 however deep the page; the deep page's token is built from SQL with
   the server's codec, so a million works need no full harvest), and the first page of
   `set=openaire` / the plain first page (set sizes come from counters, not counts);
4. at each size in --rss-sizes: the server's peak RSS (VmHWM, the largest of its processes) over a
   full harvest;
5. with --formats: full ListRecords harvests in each metadata format beside oai_dc, against the same
   server in the same run (--runs each, the formats interleaved, after one unmeasured request per
   format), each format's median records/s and records per server CPU-second, and their ratios to
   oai_dc's; the client parses every page as harvesters do, or with --client bytes only reads it
   (records counted, token found in the bytes): then records/s is the server's rate alone;
6. with --small-journal N: a journal of N articles added to the corpus (through the services, once),
   then the first page of its set (oai_dc and JATS), of JATS and of `set=openaire` beside the
   plain first page, wall (interleaved medians) and server CPU per request.

    .venv/bin/python bench/oai_bench.py                                     # 100k works, SQLite
    .venv/bin/python bench/oai_bench.py --latency-sizes 100000,1000000 --rss-sizes 1000000 --keep /tmp/oai
    .venv/bin/python bench/oai_bench.py --database-url postgresql://postgres@127.0.0.1:5432 --workers 2
    .venv/bin/python bench/oai_bench.py --formats all --latency-sizes '' --rss-sizes ''   # every format
    .venv/bin/python bench/oai_bench.py --formats all --client bytes --skip-throughput --latency-sizes '' --rss-sizes ''
    .venv/bin/python bench/oai_bench.py --small-journal 10 --skip-throughput --latency-sizes '' --rss-sizes ''

With --database-url (a PostgreSQL server) each corpus gets its own database, ``oai_bench_<N>``,
created and loaded when missing (and kept). The side-by-side comparison with other OAI-PMH servers
on the same records is ../shared/peers (its README says how).

Targets (issue 14): deep/first <= 1.2 at 100k and 1M; openaire/first <= 1.5 at 1M; peak RSS <= 150
MiB at 1M; the throughput and latency targets are relative to the peers (../shared/peers).
Target (issue 11): every format's full-harvest rate >= 80 % of oai_dc's, in the same run.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from lxml import etree

OAI = "{http://www.openarchives.org/OAI/2.0/}"
BIN = Path(sys.executable).parent
SECRET = "bench-secret"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} CPUs"


class Corpus:
    """A synthetic corpus of ``size`` works: a data directory, and a PostgreSQL database if asked."""

    def __init__(self, root: Path, size: int, server_url: str | None) -> None:
        self.size = size
        self.directory = root / f"works-{size}"
        self.database_url = f"{server_url.rstrip('/')}/oai_bench_{size}" if server_url else None
        self.server_url = server_url

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.directory / 'repo.sqlite3'}"

    def env(self) -> dict[str, str]:
        env = {**os.environ, "REPO_DATA_DIR": str(self.directory), "REPO_SECRET_KEY": SECRET,
               # The public URL, not the listen address: the same for every server on a corpus, as
               # in production (it is part of the records' bytes, so of their variant).
               "REPO_BASE_URL": "https://repo.bench.example", "REPO_LOG_LEVEL": "warning"}
        env.pop("REPO_DATABASE_URL", None)
        env.pop("REPO_SEARCH_URL", None)
        if self.database_url:
            env["REPO_DATABASE_URL"] = self.database_url
        return env

    def exists(self) -> bool:
        import sqlalchemy as sa

        from repo.db import create_engine

        if self.database_url is None:
            if not (self.directory / "repo.sqlite3").exists():
                return False
        else:
            admin = create_engine(f"{self.server_url}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                found = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                          {"name": f"oai_bench_{self.size}"})
                if not found:
                    connection.exec_driver_sql(f"CREATE DATABASE oai_bench_{self.size}")
            admin.dispose()
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return bool(connection.scalar(sa.text("SELECT count(*) FROM works")))
        except sa.exc.DBAPIError:
            return False
        finally:
            engine.dispose()

    def generate(self, seed: int = 1) -> None:
        """`repo demo --synthetic` (bulk insert, then every record rendered), then statistics."""
        self.directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        subprocess.run([str(BIN / "repo"), "demo", "--synthetic", str(self.size), "--seed", str(seed)],
                       env=self.env(), check=True, stdout=subprocess.DEVNULL)
        print(f"generated and rendered {self.size:,} works in {time.perf_counter() - started:.0f} s ({load()})")
        if self.database_url:
            from repo.db import create_engine

            engine = create_engine(self.database_url)  # what autovacuum does soon after a bulk load
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
            engine.dispose()


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


class Server:
    """`repo serve` on a free port (its uvicorn workers are its child processes)."""

    def __init__(self, corpus: Corpus, page_size: int, workers: int) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {**corpus.env(), "REPO_OAI_PAGE_SIZE": str(page_size)}
        command = [str(BIN / "repo"), "serve", "--port", str(self.port), "--workers", str(workers)]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}/oai"
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(self.url, params={"verb": "Identify"}, timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.2)

    def _status(self, pid: int, field: str) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def peak_mb(self) -> float:
        """The largest VmHWM (peak RSS) among the server's processes, MiB."""
        return max(self._status(pid, "VmHWM") for pid in _tree(self.process.pid))

    def cpu_seconds(self) -> float:
        """User + system CPU time used by the server's processes."""
        total = 0.0
        for pid in _tree(self.process.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


_HEADER = re.compile(rb"<header[ >]")
_TOKEN = re.compile(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>")


def harvest(url: str, client: httpx.Client, prefix: str = "oai_dc", parse: bool = True,
            **arguments: str) -> tuple[int, float]:
    """A full ListRecords harvest in format ``prefix``: (records, seconds). ``parse``: as a harvester
    does, the whole page parsed with lxml; else (``--client bytes``) the body read (gzip still
    negotiated and decoded), records counted and the token taken by a bytes search, no XML parse,
    so the rate is the server's and the transport's alone."""
    params = {"verb": "ListRecords", "metadataPrefix": prefix, **arguments}
    records = 0
    started = time.perf_counter()
    while True:
        if not parse:
            body = client.get(url, params=params).content
            records += len(_HEADER.findall(body))  # an OAI header per record (no format has a <header>)
            found = _TOKEN.search(body)
            if not found:
                return records, time.perf_counter() - started
            params = {"verb": "ListRecords", "resumptionToken": html.unescape(found[1].decode())}
            continue
        root = etree.fromstring(client.get(url, params=params).content)
        records += len(root.findall(f"{OAI}ListRecords/{OAI}record"))
        token = root.findtext(f"{OAI}ListRecords/{OAI}resumptionToken")
        if not token:
            return records, time.perf_counter() - started
        params = {"verb": "ListRecords", "resumptionToken": token}


def token_at(corpus: Corpus, fraction: float) -> tuple[str, int]:
    """The resumptionToken the server issues for the page starting at ``fraction`` of the list
    (built with the server's own codec and secret from the SQL position); and that page's cursor."""
    import sqlalchemy as sa

    from repo.clock import utcnow
    from repo.db import create_engine
    from repo.oai.tokens import Position, TokenCodec
    from repo.works import visibility
    from repo.works.models import Work

    engine = create_engine(corpus.url)
    with engine.connect() as connection:
        total = connection.scalar(sa.select(sa.func.count()).select_from(Work).where(visibility.public_or_tombstone()))
        cursor = int(total * fraction)
        row = connection.execute(sa.select(Work.datestamp, Work.id).where(visibility.public_or_tombstone())
                                 .order_by(Work.datestamp, Work.id).offset(cursor - 1).limit(1)).one()
    engine.dispose()
    now = utcnow()
    position = Position("ListRecords", "oai_dc", None, None, now, (row.datestamp, row.id), cursor, total)
    return TokenCodec(SECRET, 24 * 3600).encode(position, now), cursor


def middle_identifier(corpus: Corpus) -> str:
    import sqlalchemy as sa

    from repo.db import create_engine
    from repo.works.models import Work

    engine = create_engine(corpus.url)
    with engine.connect() as connection:
        work_id = connection.scalar(sa.select(Work.id).where(Work.status == "published")
                                    .order_by(Work.id).offset(corpus.size // 2).limit(1))
    engine.dispose()
    return f"oai:repo.example.org:{work_id}"


def timed(client: httpx.Client, url: str, requests: dict[str, dict[str, str]], repeats: int) -> dict[str, float]:
    """Median seconds of ``repeats`` requests of each kind (after two unmeasured rounds), the kinds
    interleaved so that a transient (the server's start-up work, another process) weighs on all."""
    samples: dict[str, list[float]] = {name: [] for name in requests}
    for round_ in range(repeats + 2):
        for name, params in requests.items():
            started = time.perf_counter()
            client.get(url, params=params).raise_for_status()
            if round_ >= 2:
                samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


SMALL_JOURNAL = "0034-8597"


def ensure_small_journal(corpus: Corpus, size: int) -> None:
    """Deposit ``size`` journal articles in a journal of their own (ISSN-L :data:`SMALL_JOURNAL`)
    through the services, unless the corpus has them: the synthetic corpus's journals are few and
    large, a portal's journal is often a few dozen articles among a repository's 100,000 works."""
    import sqlalchemy as sa

    from repo.cli import unit_of_work
    from repo.works import service as works
    from repo.works.models import Work
    from repo.works.schemas import WorkIn

    saved = dict(os.environ)
    os.environ.update(corpus.env())
    try:
        with unit_of_work(migrate=False) as ctx:
            have = ctx.session.scalar(sa.select(sa.func.count()).select_from(Work).where(Work.issn_l == SMALL_JOURNAL))
            centre = ctx.session.scalar(sa.text("SELECT slug FROM member_centres ORDER BY id LIMIT 1"))
            for n in range(have or 0, size):
                work = works.create(ctx, WorkIn.model_validate({
                    "type": "journal_article", "centre": centre, "access_right": "open", "metadata": {
                        "titles": [{"value": f"Artículo {n + 1} de una revista pequeña", "lang": "spa"}],
                        "creators": [{"family": "Freire", "given": "Paulo"}], "languages": ["spa"],
                        "publication_date": "2024-05-04", "version": "VoR",
                        "journal": {"title": "Revista Pequeña", "issn": SMALL_JOURNAL, "volume": "1"}}}))
                works.publish(ctx, work.id, None)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def compare_first_pages(corpus: Corpus, args: argparse.Namespace) -> None:
    """The first page of lists of a subset (the small journal's set, JATS, set=openaire) beside the
    plain first page: wall medians interleaved, then server CPU per request, kind by kind."""
    kinds = {
        "plain": {"verb": "ListRecords", "metadataPrefix": "oai_dc"},
        "journal": {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": f"journal:{SMALL_JOURNAL}"},
        "journal jats": {"verb": "ListRecords", "metadataPrefix": "jats", "set": f"journal:{SMALL_JOURNAL}"},
        "jats": {"verb": "ListRecords", "metadataPrefix": "jats"},
        "openaire": {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "openaire"},
    }
    server = Server(corpus, args.page_size, args.workers)
    try:
        with httpx.Client(timeout=300) as client:
            for name, params in kinds.items():
                root = etree.fromstring(client.get(server.url, params=params).content)
                count = len(root.findall(f"{OAI}ListRecords/{OAI}record"))
                assert count, f"{name}: no records"
            wall = timed(client, server.url, kinds, args.repeats)
            cpu = {}
            for name, params in kinds.items():
                before = server.cpu_seconds()
                for _ in range(args.repeats):
                    client.get(server.url, params=params).raise_for_status()
                cpu[name] = (server.cpu_seconds() - before) / args.repeats
    finally:
        server.stop()
    for name in kinds:
        print(f"  first page, {name}: {wall[name] * 1000:.1f} ms ({wall[name] / wall['plain']:.2f} of plain), "
              f"server CPU {cpu[name] * 1000:.1f} ms/request ({cpu[name] / cpu['plain']:.2f} of plain)")
    print(f"{corpus.size:,} works: first pages of subsets / plain first page, wall "
          + ", ".join(f"{n} {wall[n] / wall['plain']:.2f}" for n in kinds if n != "plain") + f" ({load()})")


def _prefixes(value: str) -> list[str]:
    """oai_dc, then the prefixes --formats names (``all``: every format of the registry)."""
    from repo.oai.formats import REGISTRY

    named = list(REGISTRY) if value == "all" else [p.strip() for p in value.split(",") if p.strip()]
    unknown = [p for p in named if p not in REGISTRY]
    if unknown:
        raise SystemExit(f"--formats: unknown prefix {', '.join(unknown)}; the registry has {', '.join(REGISTRY)}")
    return ["oai_dc", *[p for p in named if p != "oai_dc"]]


def compare_formats(corpus: Corpus, prefixes: list[str], args: argparse.Namespace) -> None:
    """Full harvests in every format of ``prefixes`` against one server, oai_dc first."""
    server = Server(corpus, args.page_size, args.workers)
    medians: dict[str, float] = {}
    print("  formats, client: " + ("lxml parse of every page (a harvester's rate)" if args.client == "parse" else
                                   "bytes only, no XML parse (the server's rate; --client bytes)"))
    try:
        with httpx.Client(timeout=300) as client:
            for prefix in prefixes:  # one unmeasured request each: the server's first use of a format
                client.get(server.url, params={"verb": "ListRecords", "metadataPrefix": prefix}).raise_for_status()
            # the formats interleaved, run by run: a load that drifts over the minutes of the
            # comparison (other processes on the machine) weighs on every format alike
            rates: dict[str, list[float]] = {prefix: [] for prefix in prefixes}
            per_cpu: dict[str, list[float]] = {prefix: [] for prefix in prefixes}
            sizes: dict[str, int] = {}
            for _ in range(args.runs):
                for prefix in prefixes:
                    cpu = server.cpu_seconds()
                    sizes[prefix], seconds = harvest(server.url, client, prefix, parse=args.client == "parse")
                    cpu = server.cpu_seconds() - cpu
                    rates[prefix].append(sizes[prefix] / seconds)
                    per_cpu[prefix].append(sizes[prefix] / cpu if cpu else float("nan"))
                print(f"  run {len(rates['oai_dc'])}: " + ", ".join(
                    f"{p} {rates[p][-1]:,.0f}/s {per_cpu[p][-1]:,.0f}/CPU-s" for p in prefixes) + f" ({load()})")
            cpu_medians = {prefix: statistics.median(per_cpu[prefix]) for prefix in prefixes}
            for prefix in prefixes:
                medians[prefix] = statistics.median(rates[prefix])
                ratio = "" if prefix == "oai_dc" else f", {medians[prefix] / medians['oai_dc']:.0%} of oai_dc's (target >= 80 %)"
                print(f"  {prefix}: {sizes[prefix]:,} records, median {medians[prefix]:,.0f} records/s{ratio}; median "
                      f"{cpu_medians[prefix]:,.0f} records per server CPU-second "
                      f"({cpu_medians[prefix] / cpu_medians['oai_dc']:.2f} of oai_dc's)")
            # each run's ratio to that run's oai_dc (the same minute's load), their median
            paired = {prefix: statistics.median(r / d for r, d in zip(rates[prefix], rates["oai_dc"], strict=True))
                      for prefix in prefixes}
            paired_cpu = {prefix: statistics.median(r / d for r, d in zip(per_cpu[prefix], per_cpu["oai_dc"],
                                                                          strict=True)) for prefix in prefixes}
            print("  ratio to oai_dc in the same run, median over runs (records/s; per server CPU-second): " + ", ".join(
                f"{p} {paired[p]:.2f}; {paired_cpu[p]:.2f}" for p in prefixes if p != "oai_dc") + f" ({load()})")
    finally:
        server.stop()
    print(f"{corpus.size:,} works, formats beside oai_dc (median records/s, ratio): " + ", ".join(
        f"{p} {medians[p]:,.0f} ({medians[p] / medians['oai_dc']:.2f})" for p in prefixes))


def throughput(corpus: Corpus, args: argparse.Namespace) -> None:
    """Step 1: the first full oai_dc harvest after the server starts, then the later ones;
    GetRecord and Identify."""
    server = Server(corpus, args.page_size, args.workers)
    rates, per_cpu = [], []
    with httpx.Client(timeout=300) as client:
        for run in range(args.runs):
            cpu = server.cpu_seconds()
            records, seconds = harvest(server.url, client)
            cpu = server.cpu_seconds() - cpu
            rates.append(records / seconds)
            per_cpu.append(records / cpu if cpu else float("nan"))
            print(f"  harvest {run + 1}{' (first)' if run == 0 else ''}: {records:,} records in {seconds:.1f} s"
                  f" = {rates[-1]:,.0f} records/s; {per_cpu[-1]:,.0f} records per server CPU-second ({load()})")
        identifier = middle_identifier(corpus)
        latency = timed(client, server.url, {
            "GetRecord": {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": identifier},
            "Identify": {"verb": "Identify"}}, args.repeats)
        get_record, identify = latency["GetRecord"], latency["Identify"]
    server.stop()
    later = rates[1:] or rates
    print(f"{corpus.size:,} works: first harvest {rates[0]:,.0f} records/s, later harvests median "
          f"{statistics.median(later):,.0f} records/s; GetRecord {get_record * 1000:.2f} ms, "
          f"Identify {identify * 1000:.2f} ms ({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--works", type=int, default=100_000, help="corpus for the throughput runs")
    parser.add_argument("--runs", type=int, default=3, help="full harvests (the first is the first after start)")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latency-sizes", default="100000")
    parser.add_argument("--rss-sizes", default="100000")
    parser.add_argument("--repeats", type=int, default=15, help="timed requests per page or verb")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (no database): one database per corpus")
    parser.add_argument("--workers", type=int, default=1, help="repo serve --workers")
    parser.add_argument("--keep", type=Path, default=None, help="keep corpora here (reused when present)")
    parser.add_argument("--formats", default="",
                        help="also harvest these metadata prefixes beside oai_dc (comma-separated, or 'all')")
    parser.add_argument("--small-journal", type=int, default=0, metavar="N",
                        help="add a journal of N articles to the --works corpus (when missing) and time the "
                             "first pages of its set, of JATS and of set=openaire beside the plain first page")
    parser.add_argument("--client", choices=("parse", "bytes"), default="parse",
                        help="--formats harvester: parse each page with lxml as harvesters do (default), or "
                             "read the bytes only (records counted, token found by a bytes search): the server's rate")
    parser.add_argument("--skip-throughput", action="store_true",
                        help="leave out the oai_dc throughput runs and GetRecord/Identify (step 1)")
    args = parser.parse_args()
    prefixes = _prefixes(args.formats) if args.formats else []
    root = args.keep or Path(tempfile.mkdtemp(prefix="oai-bench-"))
    latency_sizes = [int(n) for n in args.latency_sizes.split(",") if n]
    rss_sizes = [int(n) for n in args.rss_sizes.split(",") if n]
    sizes = sorted({args.works, *latency_sizes, *rss_sizes})
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"OAI-PMH benchmark: {database}, repo serve --workers {args.workers}, page size {args.page_size}, "
          f"loopback, {os.cpu_count()} CPUs")
    corpora = {size: Corpus(root, size, args.database_url) for size in sizes}
    for corpus in corpora.values():
        if not corpus.exists():
            corpus.generate()
    try:
        # 1. throughput: the first harvest after the server starts, then the later ones
        corpus = corpora[args.works]
        if args.small_journal:
            ensure_small_journal(corpus, args.small_journal)
            compare_first_pages(corpus, args)
        if not args.skip_throughput:
            throughput(corpus, args)

        # 2. deep page / first page, and the first page of set=openaire / the plain first page
        for size in latency_sizes:
            corpus = corpora[size]
            server = Server(corpus, args.page_size, args.workers)
            deep, cursor = token_at(corpus, 0.9)
            with httpx.Client(timeout=300) as client:
                check = etree.fromstring(client.get(server.url, params={"verb": "ListRecords", "resumptionToken": deep}).content)
                assert check.find(f"{OAI}ListRecords/{OAI}resumptionToken").get("cursor") == str(cursor), "bad token"
                pages = timed(client, server.url, {
                    "first": {"verb": "ListRecords", "metadataPrefix": "oai_dc"},
                    "deep": {"verb": "ListRecords", "resumptionToken": deep},
                    "openaire": {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "openaire"}}, args.repeats)
                first, late, openaire = pages["first"], pages["deep"], pages["openaire"]
            server.stop()
            print(f"{size:>9,} works: first page {first * 1000:.1f} ms, page at 90 % {late * 1000:.1f} ms "
                  f"(deep/first {late / first:.2f}, target <= 1.2); first page of set=openaire "
                  f"{openaire * 1000:.1f} ms (openaire/first {openaire / first:.2f}, target <= 1.5) ({load()})")

        # 3. peak RSS over a full harvest
        for size in rss_sizes:
            server = Server(corpora[size], args.page_size, args.workers)
            with httpx.Client(timeout=300) as client:
                records, seconds = harvest(server.url, client)
            peak = server.peak_mb()
            server.stop()
            print(f"{size:>9,} works: peak RSS {peak:.0f} MiB over a full harvest ({records:,} records, "
                  f"{records / seconds:,.0f} records/s; target <= 150 MiB at 1,000,000) ({load()})")

        # 5. every metadata format beside oai_dc, in the same run against the same server
        if prefixes:
            compare_formats(corpora[args.works], prefixes, args)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
