"""OAI-PMH benchmark: one harvester over HTTP on loopback against `repo serve` (uvicorn, SQLite).

Measures, printing medians and ratios (never asserts):

1. full ListRecords oai_dc harvest of a synthetic corpus: records/s (median of --runs);
2. latency of the page near 90 % of the list / latency of the first page (keyset paging should
   keep this near 1 however deep the page), at each size in --latency-sizes;
   (the deep page's token is built from SQL with the server's codec: no full harvest needed);
3. server peak RSS (VmHWM from /proc/<pid>/status) after a full harvest, per size in --rss-sizes,
   for the OAI endpoint alone (an app with only the OAI router) and for the whole `repo serve` app
   (whose reading-room warmer and search runtime hold memory of their own).

    .venv/bin/python bench/oai_bench.py                      # 100k works, 10k vs 100k RSS
    .venv/bin/python bench/oai_bench.py --latency-sizes 100000,1000000 --rss-sizes 10000,1000000

Targets (issue 3): >= 10,000 records/s; latency ratio <= 1.2; RSS <= 200 MB and <= 20 MB above 10k.
"""

from __future__ import annotations

import argparse
import os
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


def generate(directory: Path, count: int, seed: int) -> float:
    """Load ``count`` synthetic works with `repo demo --synthetic`; return works/s."""
    env = {**os.environ, "REPO_DATA_DIR": str(directory), "REPO_SECRET_KEY": "bench-secret"}
    env.pop("REPO_DATABASE_URL", None)
    started = time.perf_counter()
    subprocess.run([str(BIN / "repo"), "demo", "--synthetic", str(count), "--seed", str(seed)], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return count / (time.perf_counter() - started)


def oai_only_app() -> object:
    """The OAI-PMH endpoint alone (no reading-room warmer, no search indexer): what OAI itself costs
    in memory, apart from the other subsystems `repo serve` also starts."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from fastapi import FastAPI

    from repo.clock import Clock
    from repo.config import Settings
    from repo.db import Database, upgrade
    from repo.oai.endpoints import router

    settings = Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upgrade(settings.resolved_database_url)
        app.state.db = Database(settings.resolved_database_url)
        yield
        app.state.db.dispose()

    app = FastAPI(lifespan=lifespan)
    app.state.settings, app.state.clock, app.state.on_commit = settings, Clock(), []
    app.include_router(router)
    return app


class Server:
    def __init__(self, directory: Path, page_size: int, oai_only: bool = False) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {**os.environ, "REPO_DATA_DIR": str(directory), "REPO_SECRET_KEY": "bench-secret",
               "REPO_LOG_LEVEL": "warning", "REPO_OAI_PAGE_SIZE": str(page_size),
               # The public URL, not the listen address: the same for every server on a corpus,
               # as in production (it is part of the records' bytes, so of the OAI cache's variant).
               "REPO_BASE_URL": "https://repo.bench.example"}
        env.pop("REPO_DATABASE_URL", None)
        command = [str(BIN / "repo"), "serve", "--port", str(self.port)]
        if oai_only:  # the same uvicorn settings as `repo serve`
            command = [sys.executable, "-m", "uvicorn", "oai_bench:oai_only_app", "--factory", "--app-dir",
                       str(Path(__file__).parent), "--port", str(self.port), "--http", "h11",
                       "--h11-max-incomplete-event-size", str(256 * 1024), "--log-level", "warning"]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}/oai"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url, params={"verb": "Identify"}, timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.2)

    def memory_mb(self, field: str = "VmHWM") -> float:
        """``VmHWM`` (peak RSS) or ``VmRSS`` (current) of the server process."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field}")

    def settle(self) -> tuple[float, float]:
        """Wait until the server's background start-up work (warmers) is done; return its RSS then and
        its start-up peak, and reset the peak (``/proc/<pid>/clear_refs``) so that what is read
        afterwards is the peak of the harvest alone."""
        before = -1.0
        while True:
            time.sleep(2)
            cpu = self.cpu_seconds()
            if cpu - before < 0.05:
                break
            before = cpu
        settled, startup_peak = self.memory_mb("VmRSS"), self.memory_mb("VmHWM")
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        return settled, startup_peak

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used (load-independent cost)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def harvest(url: str, client: httpx.Client) -> tuple[int, float, list[str]]:
    """Full ListRecords oai_dc harvest: (records, seconds, the token of every page)."""
    params = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    tokens: list[str] = []
    records = 0
    started = time.perf_counter()
    while True:
        response = client.get(url, params=params)
        root = etree.fromstring(response.content)
        records += len(root.findall(f"{OAI}ListRecords/{OAI}record"))
        token = root.findtext(f"{OAI}ListRecords/{OAI}resumptionToken")
        if not token:
            break
        tokens.append(token)
        params = {"verb": "ListRecords", "resumptionToken": token}
    return records, time.perf_counter() - started, tokens


def token_at(directory: Path, fraction: float) -> tuple[str, int]:
    """The resumptionToken the server issues for the page starting at ``fraction`` of the list
    (built with the server's own codec and secret from the SQL position, so measuring a deep page
    of a million works does not need a full harvest first); and that page's cursor."""
    import sqlalchemy as sa

    from repo.clock import utcnow
    from repo.db import create_engine
    from repo.oai.tokens import Position, TokenCodec
    from repo.works import visibility
    from repo.works.models import Work

    engine = create_engine(f"sqlite:///{directory / 'repo.sqlite3'}")
    with engine.connect() as connection:
        total = connection.scalar(sa.select(sa.func.count()).select_from(Work).where(visibility.public_or_tombstone()))
        cursor = int(total * fraction)
        row = connection.execute(sa.select(Work.datestamp, Work.id).where(visibility.public_or_tombstone())
                                 .order_by(Work.datestamp, Work.id).offset(cursor - 1).limit(1)).one()
    engine.dispose()
    now = utcnow()
    position = Position("ListRecords", "oai_dc", None, None, now, (row.datestamp, row.id), cursor, total)
    return TokenCodec("bench-secret", 24 * 3600).encode(position, now), cursor


def timed(client: httpx.Client, url: str, params: dict[str, str], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        client.get(url, params=params).raise_for_status()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--works", type=int, default=100_000, help="corpus for the throughput runs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latency-sizes", default="100000")
    parser.add_argument("--rss-sizes", default="10000,100000")
    parser.add_argument("--rss-apps", default="oai,full", help="oai (the endpoint alone), full (repo serve)")
    parser.add_argument("--repeats", type=int, default=15, help="timed requests per page for latency")
    parser.add_argument("--keep", type=Path, default=None, help="keep corpora here (reused when present)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="oai-bench-"))
    sizes = sorted({args.works, *map(int, args.latency_sizes.split(",")), *map(int, args.rss_sizes.split(","))})
    corpora: dict[int, Path] = {}
    print(f"OAI-PMH benchmark — page size {args.page_size}, SQLite, uvicorn (h11) on loopback, {os.cpu_count()} CPUs")
    for size in sizes:
        directory = root / f"works-{size}"
        if not (directory / "repo.sqlite3").exists():
            directory.mkdir(parents=True, exist_ok=True)
            rate = generate(directory, size, seed=1)
            print(f"generated {size:>9,} works: {rate:,.0f} works/s (repo demo --synthetic)")
        corpora[size] = directory
    try:
        # 1. throughput
        server = Server(corpora[args.works], args.page_size)
        rates, cpu_rates = [], []
        with httpx.Client(timeout=120) as client:
            for run in range(args.runs):
                cpu = server.cpu_seconds()
                records, seconds, _ = harvest(server.url, client)
                cpu = server.cpu_seconds() - cpu
                rates.append(records / seconds)
                cpu_rates.append(records / cpu)
                print(f"  run {run + 1}: {records:,} records in {seconds:.2f} s = {records / seconds:,.0f} records/s"
                      f" (server CPU {cpu:.1f} s: {records / cpu:,.0f} records per CPU-second)")
        server.stop()
        print(f"full harvest of {args.works:,} works: median {statistics.median(rates):,.0f} records/s (target >= 10,000);"
              f" median {statistics.median(cpu_rates):,.0f} records per server CPU-second; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

        # 2. deep-page latency
        for size in map(int, args.latency_sizes.split(",")):
            server = Server(corpora[size], args.page_size)
            deep, cursor = token_at(corpora[size], 0.9)
            second_token, _ = token_at(corpora[size], args.page_size / size)
            with httpx.Client(timeout=120) as client:
                check = etree.fromstring(client.get(server.url, params={"verb": "ListRecords", "resumptionToken": deep}).content)
                assert check.find(f"{OAI}ListRecords/{OAI}resumptionToken").get("cursor") == str(cursor), "bad token"
                first = timed(client, server.url, {"verb": "ListRecords", "metadataPrefix": "oai_dc"}, args.repeats)
                second = timed(client, server.url, {"verb": "ListRecords", "resumptionToken": second_token}, args.repeats)
                late = timed(client, server.url, {"verb": "ListRecords", "resumptionToken": deep}, args.repeats)
            server.stop()
            print(f"{size:>9,} works: first page {first * 1000:.1f} ms (second {second * 1000:.1f} ms), "
                  f"page at 90 % {late * 1000:.1f} ms: ratio {late / first:.2f} (target <= 1.2), "
                  f"vs second page {late / second:.2f}")

        # 3. peak RSS over a full harvest: the OAI endpoint alone, and the whole app (`repo serve`)
        apps = {"oai": (True, "OAI endpoint alone"), "full": (False, "whole app (repo serve)")}
        for oai_only, label in (apps[name] for name in args.rss_apps.split(",")):
            peaks: dict[int, float] = {}
            for size in map(int, args.rss_sizes.split(",")):
                server = Server(corpora[size], args.page_size, oai_only=oai_only)
                settled, startup_peak = server.settle()
                with httpx.Client(timeout=120) as client:
                    records, seconds, _ = harvest(server.url, client)
                peaks[size] = server.memory_mb("VmHWM")
                server.stop()
                print(f"{label}, {size:>9,} works: RSS {settled:.1f} MB after start-up (start-up peak "
                      f"{startup_peak:.1f} MB), peak during the harvest {peaks[size]:.1f} MB "
                      f"({records:,} records, {records / seconds:,.0f} records/s)")
            if len(peaks) >= 2:
                small, large = min(peaks), max(peaks)
                print(f"{label}: peak RSS {large:,} vs {small:,} works: {peaks[large]:.1f} MB vs {peaks[small]:.1f} MB,"
                      f" +{peaks[large] - peaks[small]:.1f} MB, ratio {peaks[large] / peaks[small]:.2f} "
                      f"(target <= 200 MB and <= +20 MB)")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
