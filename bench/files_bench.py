"""Files benchmark: streamed upload and download of a large file over loopback, server memory,
and PDF text extraction.

Runs uvicorn in a subprocess (configured like ``repo serve``: h11, unless ``--http httptools``) on a
fresh SQLite data directory, uploads a SIZE-MB file (PUT, the
raw body streamed in 1 MiB writes), downloads it, and samples the server's RSS from
/proc/<pid>/status throughout. Then extracts the text of a generated PAGES-page PDF through the
same contained child process the server uses. Prints medians of RUNS runs.

    .venv/bin/python bench/files_bench.py [--size-mb 500] [--runs 3] [--pages 300] [--http h11|httptools]

Targets (issue 5): ≥ 200 MB/s each way, server RSS growth ≤ 50 MB, 300-page extraction ≤ 5 s.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "files"))  # the hand-written PDF generator

from file_pdfs import text_pdf  # noqa: E402

from repo.centres.models import MemberCentre  # noqa: E402
from repo.db import Database, upgrade  # noqa: E402
from repo.deposit.auth import TokenRole, create_token  # noqa: E402
from repo.files import extraction  # noqa: E402
from repo.files.storage import Storage  # noqa: E402
from repo.works.models import Work  # noqa: E402

MB = 1_000_000
CHUNK = 1 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (all its threads) from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class RssSampler(threading.Thread):
    """The largest RSS of ``pid`` seen while running (sampled every 20 ms)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak


def make_payload(path: Path, size: int) -> str:
    """A WAV file of ``size`` bytes (header + pseudo-random samples); returns its sha256."""
    block = os.urandom(CHUNK)
    digest = hashlib.sha256()
    header = b"RIFF" + (size - 8).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little") + \
        bytes.fromhex("01000200" "44ac0000" "10b10200" "04001000") + b"data" + (size - 44).to_bytes(4, "little")
    with path.open("wb") as handle:
        handle.write(header)
        digest.update(header)
        remaining = size - len(header)
        while remaining:
            piece = block[: min(CHUNK, remaining)]
            handle.write(piece)
            digest.update(piece)
            remaining -= len(piece)
    return digest.hexdigest()


def setup(data_dir: Path) -> tuple[str, int]:
    """A migrated SQLite database with one centre, an editor token and a draft work."""
    url = f"sqlite:///{data_dir / 'repo.sqlite3'}"
    upgrade(url)
    database = Database(url)
    now = datetime.now(UTC).replace(microsecond=0)
    with database.session() as session:
        session.add(MemberCentre(slug="bench", name="Bench", created_at=now, updated_at=now))
        session.flush()
        raw, _ = create_token(session, name="bench", role=TokenRole.editor, centre_slugs=["bench"], now=now)
        centre = session.query(MemberCentre).one()
        work = Work(status="draft", centre_id=centre.id, access_right="open", doc={}, version=1,
                    created_at=now, updated_at=now, embargo_pending=False)
        session.add(work)
        session.flush()
        work_id = work.id
    database.dispose()
    return raw, work_id


def upload(port: int, token: str, work_id: int, name: str, source: Path) -> float:
    size = source.stat().st_size
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    connection.putrequest("PUT", f"/api/works/{work_id}/files/{name}")
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Content-Type", "audio/wav")
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    with source.open("rb") as handle:
        while data := handle.read(CHUNK):
            connection.send(data)
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status not in (200, 201):
        raise RuntimeError(f"upload failed: {response.status} {body[:300]!r}")
    return elapsed


def download(port: int, token: str, work_id: int, name: str, expected: str) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    digest = hashlib.sha256()
    started = time.perf_counter()
    connection.request("GET", f"/works/{work_id}/files/{name}", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"download failed: {response.status}")
    while count := response.readinto(buffer):
        digest.update(view[:count])
    elapsed = time.perf_counter() - started
    connection.close()
    if digest.hexdigest() != expected:
        raise RuntimeError("downloaded bytes differ from the uploaded ones")
    return elapsed


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def bench_transfer(size: int, runs: int, http_impl: str) -> None:
    with tempfile.TemporaryDirectory(prefix="files-bench-", dir=os.environ.get("BENCH_TMP")) as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        token, work_id = setup(data_dir)
        payload = Path(tmp) / "payload.wav"
        expected = make_payload(payload, size)
        small = Path(tmp) / "small.wav"
        small_sha = make_payload(small, 4 * CHUNK)
        port = free_port()
        env = {**os.environ, "REPO_DATA_DIR": str(data_dir), "REPO_SECRET_KEY": "bench",
               "REPO_LOG_LEVEL": "warning", "REPO_UPLOAD_MAX_BYTES": str(2 * size)}
        env.pop("REPO_DATABASE_URL", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "repo.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log", "--http", http_impl,
             "--h11-max-incomplete-event-size", str(256 * 1024)],
            env=env, cwd=tmp,
        )
        try:
            wait_ready(port, server)
            # Warm up (imports, first connections, thread pool) before the baseline is taken.
            upload(port, token, work_id, "warm.wav", small)
            download(port, token, work_id, "warm.wav", small_sha)
            baseline = rss_kb(server.pid)
            sampler = RssSampler(server.pid)
            sampler.start()
            ups, downs, up_cpu, down_cpu = [], [], [], []
            for run in range(runs):
                before = cpu_seconds(server.pid)
                ups.append(upload(port, token, work_id, f"big-{run}.wav", payload))
                middle = cpu_seconds(server.pid)
                downs.append(download(port, token, work_id, f"big-{run}.wav", expected))
                up_cpu.append(middle - before)
                down_cpu.append(cpu_seconds(server.pid) - middle)
            peak = sampler.stop()
        finally:
            server.terminate()
            server.wait(timeout=30)
    mb = size / MB
    up, down = statistics.median(ups), statistics.median(downs)
    print(f"machine                   {os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"file size                 {mb:.0f} MB, {runs} runs each way (SQLite, uvicorn --http {http_impl}, loopback)")
    print(f"upload   median           {up:.2f} s = {mb / up:.0f} MB/s   (runs: {', '.join(f'{mb / t:.0f}' for t in ups)} MB/s)")
    print(f"download median           {down:.2f} s = {mb / down:.0f} MB/s   (runs: {', '.join(f'{mb / t:.0f}' for t in downs)} MB/s)")
    cpu_up, cpu_down = statistics.median(up_cpu), statistics.median(down_cpu)
    print(f"server CPU time median    upload {cpu_up:.2f} s ({cpu_up / mb * 1000:.1f} ms/MB), "
          f"download {cpu_down:.2f} s ({cpu_down / mb * 1000:.1f} ms/MB) — all threads")
    print(f"server RSS                baseline {baseline / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, "
          f"growth {(peak - baseline) / 1024:.1f} MiB")
    print(f"ratios                    upload {mb / up / 200:.2f}x, download {mb / down / 200:.2f}x of 200 MB/s; "
          f"RSS growth {(peak - baseline) / 1024 / 50:.2f}x of the 50 MB budget")


def bench_extraction(pages: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="files-bench-pdf-") as tmp:
        storage = Storage(Path(tmp))
        pdf = text_pdf([f"Página {i}: pensamiento crítico latinoamericano, educación popular, "
                        f"investigación acción participativa, número {i * 7919}" for i in range(pages)])
        sha = hashlib.sha256(pdf).hexdigest()
        storage.path(sha).parent.mkdir(parents=True)
        storage.path(sha).write_bytes(pdf)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            outcome = extraction.extract(storage, sha, "application/pdf")
            times.append(time.perf_counter() - started)
            if outcome.state != "done" or outcome.text is None or outcome.text.count("\f") != pages - 1:
                raise RuntimeError(f"extraction failed: {outcome.error}")
    median = statistics.median(times)
    print(f"extraction               {pages} pages ({len(pdf) / 1024:.0f} KiB), median {median:.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)} s); {median / 5:.2f}x of the 5 s budget")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--http", choices=["h11", "httptools"], default="h11",
                        help="uvicorn's HTTP implementation (repo serve uses h11)")
    args = parser.parse_args()
    bench_transfer(args.size_mb * MB, args.runs, args.http)
    bench_extraction(args.pages, args.runs)


if __name__ == "__main__":
    main()
