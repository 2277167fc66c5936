"""The production profile under load and faults, with its checks.

Starts PostgreSQL (a throwaway cluster), osmem-server (OpenSearch-compatible) behind a TCP proxy
that can cut it off, moto's S3 server, two ``repo serve --workers 2`` with ``REPO_WORKER=external``
and two ``repo worker``; loads a synthetic corpus; then runs, for ``--minutes``:

* harvesters doing full OAI-PMH ListRecords harvests (oai_dc), retrying a 503 after its Retry-After;
* depositors creating, uploading to (text and PDF), editing, publishing and withdrawing works;
* searchers (the search API and the reading room's search page);
* readers of landing pages and downloads.

Requests go to either web server, and to the other when one does not answer (as a load balancer
would). Faults, spread over the run: ``kill -9`` of a worker while there is work, ``kill -9`` of a
web server (restarted 5 s later), a restart of PostgreSQL, and the search server unreachable for
30 s (``--search-outage``; the proxy refuses connections: osmem-server keeps its data in memory, so
stopping the process itself would lose the index, which a real OpenSearch keeps).

Then it waits for the outbox and the extraction queue to drain and checks: no 5xx but 503 with
Retry-After during an outage; no lost update (every acknowledged change of every depositor's work
is what the API returns, in a later revision at worst); every harvest complete without duplicates;
a final full harvest equal to SQL's records; an incremental harvest from the start holding every
published or withdrawn work of the depositors; ``repo index check`` clean; ``repo files verify``
clean. Prints throughput and p50/p95 per request kind (of every answer, and of the answers other
than 503: what a served request costs) and the machine load; ``--json`` writes it all. Every client
honours a 503's Retry-After, as a well-behaved one does. Exit status 0 when every check holds.

    .venv/bin/python bench/load.py                       # 5 minutes, 2,000 works
    .venv/bin/python bench/load.py --minutes 1 --works 300 --search-outage 12 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from pg import Cluster, find_bindir, free_port  # noqa: E402

BIN = Path(sys.executable).parent
OAI = "{http://www.openarchives.org/OAI/2.0/}"
WORDS = ["educación", "trabajo", "política", "cooperativas", "vivienda", "salud", "migración", "género",
         "desarrollo", "ciudad", "memoria", "derechos", "economía", "estado", "juventud", "tierra"]


# -- the search server's plug: a TCP proxy that can refuse connections --------------------------------


class Proxy:
    """Forwards ``127.0.0.1:port`` to ``target``; :meth:`down` refuses connections and cuts the open ones.

    It runs in a process of its own (``load.py --serve-proxy PORT TARGET``; SIGUSR1: down, SIGUSR2:
    up), so the load generator's threads do not slow the search traffic down.
    """

    def __init__(self, target: tuple[str, int], port: int) -> None:
        self.target, self.port = target, port
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.listener: socket.socket | None = None

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self.lock:
            listener, self.listener = self.listener, None
            doomed, self.connections = self.connections, set()
        if listener is not None:
            with suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in doomed:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not listener:
                    client.close()
                    server.close()
                    return
                self.connections |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self.lock:
                self.connections.discard(source)


def serve_proxy(port: int, target: str) -> None:
    host, target_port = target.rsplit(":", 1)
    proxy = Proxy((host, int(target_port)), port)
    proxy.up()
    signal.signal(signal.SIGUSR1, lambda *_: proxy.down())
    signal.signal(signal.SIGUSR2, lambda *_: proxy.up())
    print("ready", flush=True)
    while True:
        signal.pause()


class ProxyProcess:
    def __init__(self, target: str, log: Path) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, __file__, "--serve-proxy", str(self.port), target],
                                        stdout=subprocess.PIPE, stderr=log.open("ab"), text=True,
                                        start_new_session=True)
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def down(self) -> None:
        self.process.send_signal(signal.SIGUSR1)

    def up(self) -> None:
        self.process.send_signal(signal.SIGUSR2)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


# -- measurements -------------------------------------------------------------------------------------


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    served: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # answers but 503
    # (kind, 30-s slice of the run) -> latencies of the answers but 503: where in the run time went
    slices: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[tuple[float, str, bool, str]] = field(default_factory=list)  # 5xx: (answered at, line, Retry-After, kind)
    failovers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    outages: list[tuple[float, float]] = field(default_factory=list)

    def record(self, kind: str, response: httpx.Response, seconds: float, when: float) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            if response.status_code != 503:
                self.served[kind].append(seconds)
                self.slices[kind, int((when - self.started) // 30)].append(seconds)
            self.statuses[kind][response.status_code] += 1
            if response.status_code >= 500:
                line = (f"{kind} {response.request.method} {response.request.url.path} -> {response.status_code} "
                        f"at {when + seconds - self.started:.1f}s: {response.text[:200]}")
                ok = response.status_code == 503 and "retry-after" in response.headers
                self.errors.append((when + seconds, line, ok, kind))

    def bad(self, grace: float = 10.0) -> list[str]:
        """5xx other than a 503 with Retry-After answered during an outage (or ``grace`` after it)."""
        return [line for at, line, ok, _ in self.errors
                if not (ok and any(start <= at <= end + grace for start, end in self.outages))]


class Client:
    """Requests to either web server; the other when one does not answer (a load balancer's job)."""

    def __init__(self, bases: list[str], stats: Stats, headers: dict[str, str] | None = None) -> None:
        self.bases, self.stats = bases, stats
        self.http = httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0), headers=headers or {})

    def __call__(self, kind: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        order = random.sample(self.bases, len(self.bases))
        for attempt in range(60):
            base = order[attempt % len(order)]
            started = time.monotonic()
            try:
                response = self.http.request(method, base + path, **kwargs)
            except httpx.TransportError:
                with self.stats.lock:
                    self.stats.failovers += 1
                time.sleep(0.2 if attempt % len(order) else 0.0)
                continue
            self.stats.record(kind, response, time.monotonic() - started, started)
            return response
        raise RuntimeError(f"no web server answered {method} {path}")

    def retrying(self, kind: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """As a well-behaved client: a 503 is retried after its Retry-After (at most 5 s)."""
        for _ in range(120):
            response = self(kind, method, path, **kwargs)
            if response.status_code != 503:
                return response
            time.sleep(min(float(response.headers.get("retry-after", "1")), 5.0))
        return response


# -- the installation ---------------------------------------------------------------------------------


class Installation:
    def __init__(self, directory: Path, works: int) -> None:
        self.directory, self.works = directory, works
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = directory / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("PostgreSQL binaries not found")
        self.cluster = Cluster(bindir)
        server = self.cluster.start()
        import sqlalchemy as sa

        admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE repo")
        admin.dispose()
        self.database_url = f"{server}/repo"
        from osmem_server import OsmemServer

        self.osmem = OsmemServer.start(japanese=False)
        self.proxy = ProxyProcess(self.osmem.url.removeprefix("http://"), self.logs / "proxy.log")
        s3_port = free_port()
        self.spawn("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)])
        self.s3_url = f"http://127.0.0.1:{s3_port}"
        self.wait(f"{self.s3_url}/", any_status=True)
        import boto3

        boto3.client("s3", endpoint_url=self.s3_url, region_name="us-east-1", aws_access_key_id="load",
                     aws_secret_access_key="load").create_bucket(Bucket="repo-load")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REPO_") and k != "PROMETHEUS_MULTIPROC_DIR"}
        self.env.update(
            REPO_DATA_DIR=str(self.directory / "data"), REPO_DATABASE_URL=self.database_url,
            REPO_SECRET_KEY="load-secret", REPO_SEARCH_URL=f"http://127.0.0.1:{self.proxy.port}",
            REPO_SEARCH_INDEX="load-works", REPO_S3_BUCKET="repo-load", REPO_S3_ENDPOINT_URL=self.s3_url,
            REPO_S3_ACCESS_KEY_ID="load", REPO_S3_SECRET_ACCESS_KEY="load", REPO_WORKER="external",
            REPO_BASE_URL="http://load.example.org", REPO_OAI_PAGE_SIZE="100", REPO_LOG_LEVEL="info")
        self.prepare()
        self.web_ports = [free_port(), free_port()]
        for index in range(2):
            self.start_web(index)
        for index in range(2):
            self.start_worker(index)
        for port in self.web_ports:
            self.wait(f"http://127.0.0.1:{port}/ready")

    def settings(self) -> Any:
        from repo.config import Settings

        return Settings(**{k.removeprefix("REPO_").lower(): v for k, v in self.env.items() if k.startswith("REPO_")})

    def prepare(self) -> None:
        """What ``repo db upgrade``, ``repo demo --synthetic``, ``repo reindex`` and ``repo token
        create`` do, in this process (a command's start-up costs seconds on a loaded machine)."""
        from repo.app import open_resources
        from repo.cli import CLI
        from repo.clock import Clock
        from repo.context import Context
        from repo.db import upgrade
        from repo.deposit.auth import TokenRole, create_token
        from repo.oai.cli import render_everything
        from repo.search import indexer
        from repo.synthetic import generate

        settings = self.settings()
        upgrade(settings.resolved_database_url)
        resources = open_resources(settings, Clock())
        try:
            with resources.db.session() as session:
                now = Clock().now()
                generate(Context(session, CLI, now, settings, Clock(), resources.files), self.works, seed=7)
                self.editor, _ = create_token(session, name="load", role=TokenRole.editor, centre_slugs=["cebrap"],
                                              now=now)
                self.admin, _ = create_token(session, name="load-admin", role=TokenRole.admin, centre_slugs=[],
                                             now=now)
            render_everything(settings, resources.db)
            indexer.reindex(resources.db, resources.search, Clock())
        finally:
            resources.close()

    def checks(self) -> tuple[Any, Any]:
        """``repo index check`` and ``repo files verify``, in this process."""
        from repo.app import open_resources
        from repo.clock import Clock
        from repo.files import service
        from repo.search import indexer

        resources = open_resources(self.settings(), Clock())
        try:
            parity = indexer.check(resources.db, resources.search)
            with resources.db.session() as session:
                fixity = service.verify(session, resources.files)
        finally:
            resources.close()
        return parity, fixity

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.web_ports]

    def spawn(self, name: str, argv: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(argv, env=getattr(self, "env", None), stdout=log, stderr=log,
                                                start_new_session=True)

    def start_web(self, index: int) -> None:
        self.spawn(f"web{index + 1}", [str(BIN / "repo"), "serve", "--workers", "2", "--port", str(self.web_ports[index])])

    def start_worker(self, index: int) -> None:
        self.spawn(f"worker{index + 1}", [str(BIN / "repo"), "worker"])

    def kill(self, name: str) -> None:
        process = self.processes[name]
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the server and its uvicorn workers: kill -9
        process.wait()

    @staticmethod
    def answers(url: str) -> bool:
        with suppress(httpx.HTTPError):
            return httpx.get(url, timeout=5).status_code == 200
        return False

    @staticmethod
    def wait(url: str, any_status: bool = False, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with suppress(httpx.HTTPError):
                if httpx.get(url, timeout=5).status_code == 200 or any_status:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{url} did not come up")

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        import sqlalchemy as sa

        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.exec_driver_sql(query)]
        finally:
            engine.dispose()

    def stop(self) -> None:
        for name in list(self.processes):
            with suppress(Exception):
                os.killpg(self.processes[name].pid, signal.SIGTERM)
        for process in self.processes.values():
            with suppress(Exception):
                process.wait(timeout=30)
        for name in list(self.processes):
            with suppress(Exception):
                os.killpg(self.processes[name].pid, signal.SIGKILL)
        with suppress(Exception):
            self.proxy.stop()
        with suppress(Exception):
            self.osmem.close()
        with suppress(Exception):
            self.cluster.stop()


# -- the actors ---------------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the depositors were told: the last acknowledged state of each of their works."""

    works: dict[int, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledge(self, work_id: int, response: httpx.Response) -> None:
        """A 2xx answer about the work: what it says is what the depositor was told."""
        body = response.json()
        with self.lock:
            self.works.setdefault(work_id, {"files": {}}).update(
                title=body["metadata"]["titles"][0]["value"], status=body["status"], version=body["version"])


def harvester(client: Client, stop: threading.Event, results: list[dict[str, Any]]) -> None:
    while not stop.is_set():
        results.append(harvest(client, "harvest", {"verb": "ListRecords", "metadataPrefix": "oai_dc"}, stop))


def harvest(client: Client, kind: str, params: dict[str, str], stop: threading.Event | None = None) -> dict[str, Any]:
    """One complete list (following resumption tokens); identifiers and whether it reached the end."""
    identifiers: list[tuple[str, bool]] = []
    pages = 0
    while True:
        response = client.retrying(kind, "GET", "/oai", params=params)
        if response.status_code != 200:
            return {"complete": False, "identifiers": identifiers, "error": f"HTTP {response.status_code}"}
        root = etree.fromstring(response.content)
        error = root.find(f"{OAI}error")
        if error is not None:
            if error.get("code") == "noRecordsMatch":
                return {"complete": True, "identifiers": identifiers, "pages": pages}
            return {"complete": False, "identifiers": identifiers, "error": error.get("code")}
        pages += 1
        for header in root.iter(f"{OAI}header"):
            identifiers.append((header.findtext(f"{OAI}identifier") or "", header.get("status") == "deleted"))
        token = root.find(f".//{OAI}resumptionToken")
        if token is None or not (token.text or "").strip():
            return {"complete": True, "identifiers": identifiers, "pages": pages}
        if stop is not None and stop.is_set():
            return {"complete": None, "identifiers": identifiers}  # the run ended mid-harvest: not judged
        params = {"verb": params["verb"], "resumptionToken": token.text.strip()}


def _etag(response: httpx.Response) -> str:
    return response.headers.get("etag", "")


def deposit_once(client: Client, number: int, serial: int, ledger: Ledger, anomalies: list[str], pdf: bytes) -> None:
    title = f"Informe de carga {number}-{serial} sobre {random.choice(WORDS)}"
    record = {"type": "report", "centre": "cebrap", "access_right": "open",
              "metadata": {"titles": [{"value": title, "lang": "spa"}], "creators": [{"family": f"Carga{number}"}],
                           "languages": ["spa"], "publication_date": "2025"}}
    created = client.retrying("deposit.create", "POST", "/api/works", json=record,
                              headers={"Idempotency-Key": f"load-{number}-{serial}-{uuid.uuid4().hex[:6]}"})
    if created.status_code != 201:
        anomalies.append(f"create -> {created.status_code}: {created.text[:200]}")
        return
    work = created.json()["id"]
    ledger.acknowledge(work, created)
    text = " ".join(random.choice(WORDS) for _ in range(300)).encode()
    name, body = ("texto.txt", text) if serial % 3 else ("informe.pdf", pdf)
    etag = _etag(created)
    upload = client.retrying("deposit.upload", "PUT", f"/api/works/{work}/files/{name}", content=body,
                             headers={"If-Match": etag})
    if upload.status_code in (200, 201):
        import hashlib

        ledger.works[work]["files"][name] = hashlib.sha256(body).hexdigest()
        etag = _etag(upload)
    else:
        etag = refresh(client, work, upload, anomalies, "upload")
    new_title = title + " (revisado)"
    patched = client.retrying("deposit.edit", "PATCH", f"/api/works/{work}", json={"metadata": {"titles": [
        {"value": new_title, "lang": "spa"}]}}, headers={"If-Match": etag})
    if patched.status_code == 200:
        ledger.acknowledge(work, patched)
    else:
        refresh(client, work, patched, anomalies, "edit")
    published = client.retrying("deposit.publish", "POST", f"/api/works/{work}/publish")
    if published.status_code == 200:
        ledger.acknowledge(work, published)
    elif published.status_code != 409:
        anomalies.append(f"publish {work} -> {published.status_code}: {published.text[:200]}")
    if random.random() < 0.15:
        withdrawn = client.retrying("deposit.withdraw", "POST", f"/api/works/{work}/withdraw",
                                    json={"reason": "load test"})
        if withdrawn.status_code == 200:
            ledger.acknowledge(work, withdrawn)
        elif withdrawn.status_code != 409:
            anomalies.append(f"withdraw {work} -> {withdrawn.status_code}: {withdrawn.text[:200]}")


def refresh(client: Client, work: int, response: httpx.Response, anomalies: list[str], what: str) -> str:
    """After a refusal: 412 is legitimate when an earlier attempt committed but its answer was lost."""
    if response.status_code != 412:
        anomalies.append(f"{what} {work} -> {response.status_code}: {response.text[:200]}")
    return _etag(client.retrying("deposit.read", "GET", f"/api/works/{work}"))


def depositing(client: Client, number: int, stop: threading.Event, ledger: Ledger, anomalies: list[str]) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "files"))
    from file_pdfs import text_pdf

    pdf = text_pdf([f"Informe de carga del depositante {number}", "Segunda página"])
    serial = 0
    while not stop.is_set():
        serial += 1
        try:
            deposit_once(client, number, serial, ledger, anomalies, pdf)
        except Exception as exc:  # a bug of this script or of the server: counted, never hidden
            anomalies.append(f"depositor {number}: {type(exc).__name__}: {exc}")


def searcher(client: Client, stop: threading.Event) -> None:
    while not stop.is_set():
        word = random.choice(WORDS)
        if random.random() < 0.5:
            client.retrying("search.api", "GET", "/api/search", params={"q": word, "size": 20})
        else:
            client.retrying("search.page", "GET", "/search", params={"q": word}, headers={"Accept": "text/html"})


def reader(client: Client, stop: threading.Event, public: list[int], ledger: Ledger) -> None:
    while not stop.is_set():
        work = random.choice(public)
        client.retrying("read.landing", "GET", f"/works/{work}", headers={"Accept": "text/html"})
        with ledger.lock:
            mine = [(w, s) for w, s in ledger.works.items() if s.get("status") == "published" and s["files"]]
        if mine and random.random() < 0.5:
            work, state = random.choice(mine)
            client.retrying("read.download", "GET", f"/works/{work}/files/{next(iter(state['files']))}")


# -- faults -------------------------------------------------------------------------------------------


def faults(installation: Installation, stats: Stats, seconds: float, outage: float, log: list[str]) -> list[threading.Thread]:
    """Each fault on its own timer (a slow restart does not push the next fault back)."""

    def note(text: str) -> None:
        log.append(f"{time.monotonic() - stats.started:6.1f}s {text}")

    def kill_worker() -> None:
        note(f"kill -9 worker1 (outbox backlog {outbox(installation)})")
        installation.kill("worker1")
        time.sleep(5)
        installation.start_worker(0)
        note("worker1 started again")

    def kill_web() -> None:
        installation.kill("web2")
        note("kill -9 web2 (and its uvicorn workers)")
        time.sleep(5)
        installation.start_web(1)
        deadline = time.monotonic() + 120
        while not installation.answers(installation.bases[1] + "/health"):
            # `repo serve` exits when the database is away as it starts (the restart below may fall
            # in its start-up): started again, as compose's `restart: unless-stopped` does
            if installation.processes["web2"].poll() is not None:
                note("web2 exited while starting (database away): started again")
                installation.start_web(1)
            if time.monotonic() > deadline:
                raise RuntimeError("web2 did not come up")
            time.sleep(0.3)
        note("web2 serving again")

    def restart_database() -> None:
        started = time.monotonic()
        stats.outages.append((started, float("inf")))
        note("PostgreSQL restarting")
        installation.cluster.restart()
        stats.outages[stats.outages.index((started, float("inf")))] = (started, time.monotonic())
        note(f"PostgreSQL back ({time.monotonic() - started:.1f} s)")

    def search_away() -> None:
        started = time.monotonic()
        stats.outages.append((started, float("inf")))
        installation.proxy.down()
        note(f"search server unreachable for {outage:g} s")
        time.sleep(outage)
        installation.proxy.up()
        stats.outages[stats.outages.index((started, float("inf")))] = (started, time.monotonic())
        note("search server reachable again")

    timers = [threading.Timer(fraction * seconds, action) for fraction, action in
              ((0.2, kill_worker), (0.3, kill_web), (0.45, restart_database), (0.6, search_away))]
    for timer in timers:
        timer.daemon = True
        timer.start()
    return timers


def outbox(installation: Installation) -> int:
    return int(installation.sql("SELECT count(*) FROM search_outbox")[0][0])


# -- the run ------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--works", type=int, default=2000)
    parser.add_argument("--harvesters", type=int, default=10)
    parser.add_argument("--depositors", type=int, default=5)
    parser.add_argument("--searchers", type=int, default=20)
    parser.add_argument("--readers", type=int, default=5)
    parser.add_argument("--search-outage", type=float, default=30.0, help="seconds the search server is away")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    parser.add_argument("--serve-proxy", nargs=2, metavar=("PORT", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_proxy:
        serve_proxy(int(args.serve_proxy[0]), args.serve_proxy[1])
    if 0.6 * args.minutes * 60 + args.search_outage >= args.minutes * 60:
        parser.error("the search outage must end before the run does (it starts at 60 % of it)")
    random.seed(17)
    directory = Path(tempfile.mkdtemp(prefix="repo-load-"))
    installation = Installation(directory, args.works)
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    try:
        t0 = time.monotonic()
        installation.start()
        print(f"profile up in {time.monotonic() - t0:.0f} s ({args.works} works); running {args.minutes:g} min",
              flush=True)
        results = run(installation, args)
    finally:
        if installation.processes or hasattr(installation, "cluster"):
            installation.stop()
        if args.keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    results["load"] = {"before": load_before, "after": os.getloadavg(), "cores": os.cpu_count()}
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0 if all(results["checks"].values()) else 1


def run(installation: Installation, args: argparse.Namespace) -> dict[str, Any]:
    seconds = args.minutes * 60
    stats, ledger, stop = Stats(), Ledger(), threading.Event()
    anomalies: list[str] = []
    fault_log: list[str] = []
    harvests: list[dict[str, Any]] = []
    public = [row[0] for row in installation.sql("SELECT id FROM works WHERE status = 'published' LIMIT 2000")]
    begun = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    editor = {"Authorization": f"Bearer {installation.editor}"}
    threads = [threading.Thread(target=harvester, args=(Client(installation.bases, stats), stop, harvests))
               for _ in range(args.harvesters)]
    threads += [threading.Thread(target=depositing, args=(Client(installation.bases, stats, editor), n, stop, ledger,
                                                           anomalies)) for n in range(args.depositors)]
    threads += [threading.Thread(target=searcher, args=(Client(installation.bases, stats), stop))
                for _ in range(args.searchers)]
    threads += [threading.Thread(target=reader, args=(Client(installation.bases, stats), stop, public, ledger))
                for _ in range(args.readers)]
    stats.started = time.monotonic()
    for thread in threads:
        thread.daemon = True
        thread.start()
    timers = faults(installation, stats, seconds, args.search_outage, fault_log)
    time.sleep(seconds)
    stop.set()
    for thread in [*threads, *timers]:
        thread.join(timeout=120)
    elapsed = time.monotonic() - stats.started
    bad = stats.bad()
    print(f"load stopped after {elapsed:.0f} s; draining", flush=True)
    phases: dict[str, float] = {}
    mark = time.monotonic()

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        pending = installation.sql("SELECT (SELECT count(*) FROM search_outbox), "
                                   "(SELECT count(*) FROM files WHERE text_state = 'pending')")[0]
        if pending == (0, 0):
            break
        time.sleep(1)
    drained = time.monotonic() < deadline
    phases["drain"], mark = time.monotonic() - mark, time.monotonic()
    admin = Client(installation.bases, Stats(), {"Authorization": f"Bearer {installation.admin}"})
    lost, later = check_ledger(admin, ledger)
    records = {(f"oai:repo.example.org:{i}", status == "withdrawn") for i, status in installation.sql(
        "SELECT id, status FROM works WHERE status IN ('published', 'withdrawn')")}
    final = harvest(admin, "check", {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    incremental = harvest(admin, "check", {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc",
                                           "from": begun.strftime("%Y-%m-%dT%H:%M:%SZ")})
    changed = {(f"oai:repo.example.org:{w}", s["status"] == "withdrawn") for w, s in ledger.works.items()
               if s["status"] in ("published", "withdrawn")}
    phases["ledger and harvests"], mark = time.monotonic() - mark, time.monotonic()
    parity, fixity = installation.checks()
    phases["index check and verify"] = time.monotonic() - mark
    judged = [h for h in harvests if h.get("complete") is not None]
    duplicates = [h for h in judged if len({i for i, _ in h["identifiers"]}) != len(h["identifiers"])]
    five_hundreds = {kind: sum(n for code, n in counts.items() if code >= 500) for kind, counts in stats.statuses.items()}
    kinds = {}
    for kind, values in sorted(stats.latency.items()):
        kinds[kind] = {"requests": len(values), "per_second": len(values) / elapsed,
                       "p50_ms": percentile(values, 0.5) * 1000, "p95_ms": percentile(values, 0.95) * 1000,
                       "served_p50_ms": percentile(stats.served[kind], 0.5) * 1000,
                       "served_p95_ms": percentile(stats.served[kind], 0.95) * 1000,
                       "statuses": dict(stats.statuses[kind]),
                       "served_p50_ms_by_30s": [round(percentile(stats.slices[kind, n], 0.5) * 1000)
                                                if stats.slices.get((kind, n)) else None
                                                for n in range(int(elapsed // 30) + 1)]}
    checks = {
        "no 5xx but 503 with Retry-After during an outage": not bad,
        "no lost update": not lost,
        "depositors saw no unexpected refusal": not anomalies,
        "every harvest complete": bool(judged) and all(h["complete"] for h in judged),
        "no harvest with duplicates": not duplicates,
        "final full harvest = SQL records": final["complete"] and sorted(final["identifiers"]) == sorted(records)
        and len(final["identifiers"]) == len(records),
        "incremental harvest holds every change": incremental["complete"] and changed <= set(incremental["identifiers"]),
        "outbox and extraction drained": drained,
        "repo index check clean": parity.parity,
        "repo files verify clean": not (fixity.missing or fixity.mismatches),
    }
    return {
        "seconds": elapsed, "works": args.works, "kinds": kinds, "faults": fault_log, "checks": checks,
        "failovers": stats.failovers, "five_hundreds": five_hundreds, "bad_responses": bad[:50],
        "phases": phases,
        "anomalies": anomalies[:50], "lost": lost[:50], "changed_later_unacknowledged": later,
        "harvests": {"judged": len(judged), "complete": sum(1 for h in judged if h["complete"]),
                     "errors": [h.get("error") for h in judged if not h["complete"]][:20],
                     "with_duplicates": len(duplicates)},
        "deposited_works": len(ledger.works),
        "index_check": {"checked": parity.checked, "missing": parity.missing[:20], "stale": parity.stale[:20],
                        "extra": parity.extra[:20], "wrong_visibility": parity.wrong_visibility[:20]},
        "files_verify": {"checked": fixity.checked, "missing": fixity.missing[:20], "mismatches": fixity.mismatches[:20]},
    }


def check_ledger(admin: Client, ledger: Ledger) -> tuple[list[str], int]:
    """Every acknowledged change is there; ``later``: works changed again by a request whose answer
    was lost (an outage during its commit), which the ledger cannot judge field by field."""
    lost: list[str] = []
    later = 0
    for work, state in ledger.works.items():
        response = admin.retrying("check", "GET", f"/api/works/{work}")
        if response.status_code != 200:
            lost.append(f"work {work}: HTTP {response.status_code}")
            continue
        body = response.json()
        version = body.get("version")
        if version is None or version < state["version"]:
            lost.append(f"work {work}: version {version} < acknowledged {state['version']}")
            continue
        if version > state["version"]:
            later += 1
            continue
        title = body["metadata"]["titles"][0]["value"]
        if body["status"] != state["status"]:
            lost.append(f"work {work}: status {body['status']} != {state['status']}")
        elif title != state["title"]:
            lost.append(f"work {work}: title {title!r} != {state['title']!r}")
        files = {f["name"]: f["sha256"] for f in admin.retrying("check", "GET", f"/api/works/{work}/files").json()
                 .get("items", [])}
        if any(files.get(name) != sha for name, sha in state["files"].items()):  # (an upload whose answer
            lost.append(f"work {work}: files {files} lack {state['files']}")    # was lost may add one more)
    return lost, later


def report(results: dict[str, Any]) -> None:
    load = results.get("load", {})
    print(f"\nmachine: {load.get('cores')} cores, load average {load.get('before', [0])[0]:.1f} before, "
          f"{load.get('after', [0])[0]:.1f} after")
    if "kinds" not in results:
        return
    print(f"run: {results['seconds']:.0f} s over {results['works']} works; {results['deposited_works']} works deposited; "
          f"{results['failovers']} requests failed over to the other web server")
    print(f"{'request kind':<18}{'requests':>9}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'served p50':>11}{'served p95':>11}  statuses")
    for kind, row in results["kinds"].items():
        print(f"{kind:<18}{row['requests']:>9}{row['per_second']:>8.1f}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
              f"{row['served_p50_ms']:>11.1f}{row['served_p95_ms']:>11.1f}  {row['statuses']}")
    print("served p50 ms by 30 s of the run:")
    for kind, row in results["kinds"].items():
        print(f"  {kind:<16}" + " ".join("-" if v is None else str(v) for v in row["served_p50_ms_by_30s"]))
    print("faults:")
    for line in results["faults"]:
        print(f"  {line}")
    print(f"harvests: {results['harvests']}")
    print("after the run: " + ", ".join(f"{k} {v:.0f} s" for k, v in results["phases"].items()))
    print("checks:")
    for name, ok in results["checks"].items():
        print(f"  [{'ok' if ok else 'FAILED'}] {name}")
    for key in ("bad_responses", "anomalies", "lost"):
        for line in results[key][:10]:
            print(f"  {key}: {line}")


if __name__ == "__main__":
    sys.exit(main())
