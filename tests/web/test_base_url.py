"""Links follow the address ``repo serve`` was started on unless REPO_BASE_URL says otherwise, and
the API documentation works offline (its files come from this server)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from lxml import etree, html

from repo.cli import listen_url
from repo.config import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(tmp_path: Path, port: int, base_url: str | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPO_")}
    env["REPO_DATA_DIR"] = str(tmp_path / "data")
    if base_url is not None:
        env["REPO_BASE_URL"] = base_url
    return subprocess.Popen([str(Path(sys.executable).parent / "repo"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "repo serve exited")
        try:
            httpx.get(url + "/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("repo serve did not start")


@pytest.mark.parametrize("configured", [None, "https://repo.example.org/base"])
def test_links_follow_the_served_address_unless_the_base_url_is_configured(tmp_path: Path, configured: str | None) -> None:
    port = _free_port()
    served = f"http://127.0.0.1:{port}"
    process = _serve(tmp_path, port, configured)
    try:
        _wait(served, process)
        expected = configured or served
        identify = etree.fromstring(httpx.get(f"{served}/oai?verb=Identify").content)
        assert identify.findtext(".//{http://www.openarchives.org/OAI/2.0/}baseURL") == f"{expected}/oai"
        assert f"Sitemap: {expected}/sitemap.xml" in httpx.get(f"{served}/robots.txt").text
        page = html.fromstring(httpx.get(f"{served}/", headers={"Host": "evil.example"}).text)
        assert page.xpath("//link[@rel='canonical']/@href") == [f"{expected}/?lang=es"]  # never the Host header
        sitemap = httpx.get(f"{served}/sitemaps/pages.xml").text
        assert f"<loc>{expected}/</loc>" in sitemap
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_listen_url_and_settings() -> None:
    assert listen_url("0.0.0.0", 8101) == "http://127.0.0.1:8101"
    assert listen_url("::", 8101) == "http://[::1]:8101"
    assert listen_url("repo.local", 80) == "http://repo.local:80"
    assert Settings(listen_url="http://127.0.0.1:8101").base_url == "http://127.0.0.1:8101"
    assert Settings(listen_url="http://127.0.0.1:8101", base_url="https://a.example/").base_url == "https://a.example"
    assert Settings().base_url == "http://127.0.0.1:8000"


def test_api_docs_load_their_files_from_this_server(shared_room: object) -> None:
    from conftest import Room

    assert isinstance(shared_room, Room)
    client = shared_room.client
    for path in ("/api/docs", "/api/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        tree = html.fromstring(page.text)
        sources = tree.xpath("//script/@src") + tree.xpath("//link[@rel='stylesheet']/@href")
        assert sources and all(s.startswith("/api/docs/assets/") for s in sources), sources
        assert "https://" not in page.headers["content-security-policy"]
        for source in sources:
            asset = client.get(source)
            assert asset.status_code == 200 and len(asset.content) > 10_000, source
