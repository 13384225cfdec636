"""The admin's URL fetcher must not reach into the server's own network (SSRF) nor blow up its memory.

Stub servers on 127.0.0.x record every request they get, so "refused" also means "not a byte was sent".
Host names are resolved by a monkeypatched socket.getaddrinfo, which also counts the lookups.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import threading
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import make_settings
from stubs import free_port

from ingest.fetch import FetchError, fetch

pytestmark = pytest.mark.timeout(120)

_MB = 1024 * 1024
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Intranet weekly</title><link>https://example.org/</link>
<item><title>Issue 1</title><link>https://example.org/1</link><guid>i1</guid>
<description>Spaced repetition schedules reviews just before you would forget.</description></item>
</channel></rss>"""
HINT = r"\(only public hosts can be fetched; STUDYBOT_FETCH_ALLOW_HOSTS lists exceptions\)"


# --- stub servers ------------------------------------------------------------------------------

@dataclass
class Page:
    body: bytes = RSS
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/rss+xml"})
    status: int = 200
    sized: bool = True  # False: no Content-Length, the body ends when the connection closes


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Stub

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.server.hits.append((self.path, dict(self.headers)))
        page = self.server.pages.get(self.path, Page(b"", {}, 404))
        self.send_response(page.status)
        for k, v in page.headers.items():
            self.send_header(k, v)
        if page.sized:
            self.send_header("Content-Length", str(len(page.body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(page.body)
        except OSError:
            pass  # the fetcher hanging up on an oversized answer is the point


class Stub(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int) -> None:
        super().__init__((host, port), Handler)
        self.hits: list[tuple[str, dict[str, str]]] = []
        self.pages: dict[str, Page] = {"/feed.xml": Page()}

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.hits]

    def handle_error(self, request, client_address):
        pass


@contextmanager
def running(host: str = "127.0.0.1", port: int = 0) -> Iterator[Stub]:
    srv = Stub(host, port)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running() as srv:
        yield srv


@pytest.fixture
def twins() -> Iterator[tuple[Stub, Stub]]:
    """Stubs on 127.0.0.2 and 127.0.0.3 sharing one port, so a URL's port fits either."""
    port = free_port()
    with running("127.0.0.2", port) as a, running("127.0.0.3", port) as b:
        yield a, b


def settings_for(tmp_path: Path, **kw):
    lib = tmp_path / "library"
    lib.mkdir(exist_ok=True)
    base = dict(embedder="fake", fetch_connect_timeout=2, fetch_read_timeout=2, fetch_total_timeout=30)
    return make_settings(lib, tmp_path / "index", **(base | kw))


def fake_dns(monkeypatch, table: dict[str, Callable[[], list[str]]]) -> Counter:
    """Answer getaddrinfo for the names in ``table``; returns how often each was looked up."""
    real = socket.getaddrinfo
    calls: Counter = Counter()

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host not in table:
            return real(host, port, family, type, proto, flags)
        calls[host] += 1
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0)) if ":" in ip
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in table[host]()]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


def no_connects(monkeypatch) -> list:
    """Record connection attempts and fail them, so only the fetcher's own refusal gives the right message."""
    attempts: list = []

    def connect(self, address):
        attempts.append(address)
        raise ConnectionRefusedError(f"test: connect to {address!r} attempted")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    return attempts


# --- (a) loopback, however it is spelled -----------------------------------------------------

@pytest.mark.parametrize("host, reason", [
    ("127.0.0.1", "refused: 127.0.0.1 is a loopback address"),
    ("0x7f000001", "refused: 0x7f000001 resolves to 127.0.0.1, a loopback address"),
    ("2130706433", "refused: 2130706433 resolves to 127.0.0.1, a loopback address"),
    ("127.1", "refused: 127.1 resolves to 127.0.0.1, a loopback address"),
    ("localhost", "refused: localhost resolves to .*, a loopback address"),
    ("0177.0.0.1", "invalid URL"),  # octal: httpx rejects it before anything else runs
    ("[::ffff:127.0.0.1]", "refused: ::ffff:127.0.0.1 is an IPv4-mapped address for 127.0.0.1, a loopback address"),
])
def test_loopback_is_refused_in_any_notation(stub, tmp_path, host, reason):
    if host.startswith("[") and not socket.has_ipv6:
        pytest.skip("no IPv6 support in this Python")
    with pytest.raises(FetchError, match=reason):
        fetch(f"http://{host}:{stub.port}/feed.xml", settings_for(tmp_path))
    assert stub.hits == []


# --- (b) private, link-local, metadata, ... literals ---------------------------------------------

@pytest.mark.parametrize("host, reason", [
    ("169.254.169.254", "169.254.169.254 is a link-local address"),  # cloud metadata service
    ("10.0.0.1", "10.0.0.1 is a private address"),
    ("192.168.1.1", "192.168.1.1 is a private address"),
    ("172.16.0.1", "172.16.0.1 is a private address"),
    ("100.64.0.1", "100.64.0.1 is a shared \\(carrier-grade NAT\\) address"),
    ("224.0.0.1", "224.0.0.1 is a multicast address"),
    ("0.0.0.0", "0.0.0.0 is an unspecified address"),
    ("[::1]", "::1 is a loopback address"),
    ("[fe80::1]", "fe80::1 is a link-local address"),
    ("[fc00::1]", "fc00::1 is a private address"),
    ("[2002:7f00:1::1]", "2002:7f00:1::1 is a 6to4 address for 127.0.0.1, a loopback address"),
    ("[2002:a9fe:a9fe::1]", "2002:a9fe:a9fe::1 is a 6to4 address for 169.254.169.254, a link-local address"),
    ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1 is a NAT64 address for 127.0.0.1, a loopback address"),
    ("[64:ff9b::a00:1]", "64:ff9b::a00:1 is a NAT64 address for 10.0.0.1, a private address"),
    ("[::ffff:a9fe:a9fe]", "::ffff:a9fe:a9fe is an IPv4-mapped address for 169.254.169.254, a link-local address"),
    ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "2001:0:4136:e378:8000:63bf:3fff:fdd2 is a private address"),  # Teredo
])
def test_non_public_addresses_are_refused_before_connecting(tmp_path, monkeypatch, host, reason):
    attempts = no_connects(monkeypatch)
    with pytest.raises(FetchError, match=f"refused: {reason} {HINT}"):
        fetch(f"http://{host}/latest/meta-data/", settings_for(tmp_path))
    assert attempts == []


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:93.184.215.14",
                                     "64:ff9b::5db8:d70e", "2002:5db8:d70e::1"])
def test_public_addresses_pass_the_policy(address):
    from ingest.netguard import AddressPolicy, refusal_reason

    assert refusal_reason(ipaddress.ip_address(address)) is None
    AddressPolicy().check("example.org", [ipaddress.ip_address(address)])


# --- (c) names that resolve inwards ---------------------------------------------------------

def test_name_resolving_to_a_private_address_is_refused(tmp_path, monkeypatch):
    fake_dns(monkeypatch, {"intranet.example": lambda: ["10.1.2.3"]})
    attempts = no_connects(monkeypatch)
    with pytest.raises(FetchError, match=f"refused: intranet.example resolves to 10.1.2.3, a private address {HINT}"):
        fetch("https://intranet.example/feed.xml", settings_for(tmp_path))
    assert attempts == []


def test_one_inward_address_among_public_ones_refuses_the_name(stub, tmp_path, monkeypatch):
    fake_dns(monkeypatch, {"mixed.example": lambda: ["93.184.215.14", "127.0.0.1"]})
    with pytest.raises(FetchError, match="refused: mixed.example resolves to 127.0.0.1, a loopback address"):
        fetch(f"http://mixed.example:{stub.port}/feed.xml", settings_for(tmp_path))
    assert stub.hits == []


# --- (d) redirects -------------------------------------------------------------------------

def test_redirect_to_a_refused_address_is_not_followed(stub, twins, tmp_path):
    inner = twins[0]
    stub.pages["/away"] = Page(b"", {"Location": f"http://127.0.0.2:{inner.port}/feed.xml"}, 302)
    with pytest.raises(FetchError, match=f"refused: 127.0.0.2 is a loopback address {HINT}"):
        fetch(f"http://127.0.0.1:{stub.port}/away", settings_for(tmp_path, fetch_allow_hosts="127.0.0.1"))
    assert stub.paths == ["/away"] and inner.hits == []


# --- (e) DNS rebinding ----------------------------------------------------------------------

def test_connection_goes_to_the_checked_address_not_a_second_lookup(twins, tmp_path, monkeypatch):
    allowed, inner = twins
    answers = iter([["127.0.0.2"]])
    calls = fake_dns(monkeypatch, {"rebind.test": lambda: next(answers, ["127.0.0.3"])})
    settings = settings_for(tmp_path, fetch_allow_hosts="127.0.0.2")
    url = f"http://rebind.test:{allowed.port}/feed.xml"

    got = fetch(url, settings)
    assert got.kind == "feed" and got.body == RSS
    assert [(p, h["Host"]) for p, h in allowed.hits] == [("/feed.xml", f"rebind.test:{allowed.port}")]
    assert inner.hits == [] and calls["rebind.test"] == 1  # one connection, one lookup

    # The next connection resolves afresh, and the new answer is checked like the first.
    with pytest.raises(FetchError, match="refused: rebind.test resolves to 127.0.0.3, a loopback address"):
        fetch(url, settings)
    assert inner.hits == [] and len(allowed.hits) == 1 and calls["rebind.test"] == 2


# --- (f) the admin's exceptions -------------------------------------------------------------

def test_allowlisted_host_name_may_resolve_to_loopback(stub, tmp_path, monkeypatch):
    fake_dns(monkeypatch, {"feeds.intranet": lambda: ["127.0.0.1"], "other.intranet": lambda: ["127.0.0.1"]})
    settings = settings_for(tmp_path, fetch_allow_hosts=" FEEDS.Intranet , 10.0.0.0/8")
    assert fetch(f"http://feeds.intranet:{stub.port}/feed.xml", settings).kind == "feed"
    assert stub.hits[0][1]["Host"] == f"feeds.intranet:{stub.port}"

    for host in ("other.intranet", "127.0.0.1"):  # the name is allowed, not the address it has
        with pytest.raises(FetchError, match=f"refused: {host} .*loopback"):
            fetch(f"http://{host}:{stub.port}/feed.xml", settings)
    assert len(stub.hits) == 1


def test_allowlisted_network_covers_every_address_in_it(stub, twins, tmp_path):
    inner = twins[0]
    stub.pages["/away"] = Page(b"", {"Location": f"http://127.0.0.2:{inner.port}/feed.xml"}, 302)
    url = f"http://127.0.0.1:{stub.port}/away"

    got = fetch(url, settings_for(tmp_path, fetch_allow_hosts="127.0.0.0/30"))
    assert got.kind == "feed" and got.final_url.startswith("http://127.0.0.2:") and inner.paths == ["/feed.xml"]

    with pytest.raises(FetchError, match="refused: 127.0.0.1 is a loopback address"):
        fetch(url, settings_for(tmp_path, fetch_allow_hosts="10.0.0.0/8,[::1]"))
    assert stub.paths == ["/away"]


def test_malformed_allowlist_is_reported(stub, tmp_path):
    settings = settings_for(tmp_path, fetch_allow_hosts="127.0.0.1, http://feeds.intranet")
    with pytest.raises(FetchError, match="STUDYBOT_FETCH_ALLOW_HOSTS: 'http://feeds.intranet' is neither"):
        fetch(f"http://127.0.0.1:{stub.port}/feed.xml", settings)
    assert stub.hits == []


# --- (g) compression --------------------------------------------------------------------------

def compress(data: bytes, wbits: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return z.compress(data) + z.flush()


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """64 MB of zeros, compressed to about 64 KB: gzip, zlib-wrapped deflate, raw deflate."""
    out = {}
    for name, wbits in (("gzip", 31), ("deflate", 15), ("raw-deflate", -15)):
        z, block = zlib.compressobj(9, zlib.DEFLATED, wbits), bytes(_MB)
        out[name] = b"".join([z.compress(block) for _ in range(64)] + [z.flush()])
    return out


@pytest.mark.parametrize("kind", ["gzip", "deflate", "raw-deflate"])
def test_compression_bomb_stops_at_the_cap_without_inflating(stub, tmp_path, bombs, kind):
    encoding = "gzip" if kind == "gzip" else "deflate"
    stub.pages["/bomb"] = Page(bombs[kind], {"Content-Type": "application/rss+xml", "Content-Encoding": encoding},
                               sized=False)
    settings = settings_for(tmp_path, fetch_allow_hosts="127.0.0.1", fetch_max_mb=1)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match=r"over the 1 MB limit \(STUDYBOT_FETCH_MAX_MB\)"):
            fetch(f"http://127.0.0.1:{stub.port}/bomb", settings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * _MB, f"{peak / _MB:.1f} MB allocated while fetching a 1 MB capped bomb"


@pytest.mark.parametrize("encoding, body", [
    ("gzip", compress(RSS, 16 + zlib.MAX_WBITS)),
    ("x-gzip", compress(RSS, 16 + zlib.MAX_WBITS)),
    ("deflate", compress(RSS, zlib.MAX_WBITS)),
    ("deflate", compress(RSS, -zlib.MAX_WBITS)),  # raw deflate, as some servers send it
    ("identity", RSS),
])
def test_compressed_feed_still_parses(stub, tmp_path, encoding, body):
    stub.pages["/feed.xml"] = Page(body, {"Content-Type": "application/rss+xml", "Content-Encoding": encoding})
    got = fetch(f"http://127.0.0.1:{stub.port}/feed.xml", settings_for(tmp_path, fetch_allow_hosts="127.0.0.1"))
    assert got.kind == "feed" and got.body == RSS
    assert stub.hits[0][1]["Accept-Encoding"] == "gzip, deflate"  # only what the capped decoder reads


@pytest.mark.parametrize("encoding, body, reason", [
    ("br", b"\x8b\x02\x80hello\x03", "Content-Encoding 'br'; only gzip and deflate can be read"),
    ("zstd", b"\x28\xb5\x2f\xfd", "Content-Encoding 'zstd'"),
    ("gzip, gzip", compress(compress(RSS, 31), 31), "Content-Encoding 'gzip, gzip'"),
    ("gzip", compress(RSS, 31)[:-20], "gzip-compressed download was cut off"),
    ("gzip", b"this is not gzip at all", "gzip-compressed download is corrupt"),
])
def test_unreadable_encodings_are_refused(stub, tmp_path, encoding, body, reason):
    stub.pages["/feed.xml"] = Page(body, {"Content-Type": "application/rss+xml", "Content-Encoding": encoding})
    with pytest.raises(FetchError, match=reason):
        fetch(f"http://127.0.0.1:{stub.port}/feed.xml", settings_for(tmp_path, fetch_allow_hosts="127.0.0.1"))


# --- through the CLI --------------------------------------------------------------------------

def test_cli_fetch_refuses_loopback_unless_allowed(stub, tmp_path):
    settings = settings_for(tmp_path)
    (Path(settings.library_dir) / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    env = dict(os.environ, STUDYBOT_LIBRARY_DIR=str(settings.library_dir), STUDYBOT_INDEX_DIR=str(settings.index_dir),
               STUDYBOT_LLM="none", STUDYBOT_EMBEDDER="fake")
    args = [sys.executable, "-m", "ui.cli", "fetch", f"http://127.0.0.1:{stub.port}/feed.xml", "--no-ingest"]

    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1
    assert "error: refused: 127.0.0.1 is a loopback address" in p.stderr and "STUDYBOT_FETCH_ALLOW_HOSTS" in p.stderr
    assert stub.hits == []

    p = subprocess.run(args, capture_output=True, text=True, env=env | {"STUDYBOT_FETCH_ALLOW_HOSTS": "127.0.0.1"},
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert stub.paths == ["/feed.xml"]
