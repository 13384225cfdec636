"""ingest/fetch.py against a real HTTP server on 127.0.0.1: feeds, pages, and every way a server can misbehave.

The fetcher refuses loopback addresses, so these settings allow 127.0.0.1 explicitly (STUDYBOT_FETCH_ALLOW_HOSTS);
tests/security/test_fetch_ssrf.py covers the refusals themselves.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import make_settings
from stubs import free_port

pytestmark = pytest.mark.timeout(120)

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Prompt Weekly</title><link>https://example.org/</link>
<item><title>第12期：检索增强生成</title><link>https://example.org/12</link><guid>w12</guid>
<description>本期介绍检索增强生成（RAG）与向量数据库的基础：切分、嵌入、召回与重排。</description></item>
<item><title>Issue 11: evaluation</title><link>https://example.org/11</link><guid>w11</guid>
<description>How to measure retrieval quality with recall at k and MRR on a small question set.</description></item>
</channel></rss>"""
ATOM = """<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom notes</title>
<entry><title>Zettelkasten</title><id>a1</id><content type="html">Linking notes builds understanding.</content></entry></feed>"""
PAGE = """<!doctype html><html><head><title>Barbell reading</title>
<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>
<body><h1>Barbell reading</h1><p>Read one very hard book and one easy book at the same time.</p></body></html>"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, to: str) -> None:
        self.send(302, b"", "text/plain", {"Location": to})

    def do_GET(self):  # noqa: C901 - one route per misbehaviour
        p = self.path
        self.server.hits.append(p)
        if p == "/feed.xml":
            self.send(200, RSS.encode(), "application/rss+xml; charset=utf-8")
        elif p == "/atom":
            self.send(200, ATOM.encode(), "text/xml")
        elif p == "/feed-as-text":
            self.send(200, RSS.encode(), "text/plain")
        elif p == "/page":
            self.send(200, PAGE.encode(), "text/html; charset=utf-8")
        elif p == "/not-a-feed.xml":
            self.send(200, b"<?xml version='1.0'?><config><a>1</a></config>", "application/xml")
        elif p == "/json":
            self.send(200, json.dumps({"items": []}).encode(), "application/json")
        elif p == "/missing":
            self.send(404, b"not here", "text/plain")
        elif p == "/huge":  # no Content-Length: only counting while streaming can stop it
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"<!-- " + b"x" * 8000 + b" -->"
            try:
                for _ in range(1000):  # ~8 MB unless the client hangs up
                    self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.server.aborted.set()
        elif p == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(500 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"<rss>")
        elif p == "/slow":  # headers, then silence
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(RSS)))
            self.end_headers()
            self.wfile.flush()
            time.sleep(3)
        elif p == "/redirect":
            self.redirect("/feed.xml")
        elif p == "/loop":
            self.redirect("/loop")
        elif p == "/to-file":
            self.redirect("file:///etc/passwd")
        else:
            self.send(404, b"", "text/plain")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        pass  # clients hanging up on too-large or slow answers is what several tests do


@pytest.fixture(scope="module")
def site():
    srv = Server(("127.0.0.1", free_port()), Handler)
    srv.hits, srv.aborted = [], threading.Event()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.fixture
def settings(tmp_path):
    lib = tmp_path / "library"
    lib.mkdir()
    (lib / "sources.yaml").write_text("# the registry\n# keep this comment\nsources: []\n", encoding="utf-8")
    return make_settings(lib, tmp_path / "index", embedder="fake", fetch_max_mb=0.05, fetch_read_timeout=0.5,
                         fetch_connect_timeout=2, fetch_max_redirects=3, fetch_allow_hosts="127.0.0.1")


def test_rss_feed_is_fetched_and_classified(site, settings):
    from ingest.fetch import fetch

    got = fetch(site[1] + "/feed.xml", settings, expect="feed")
    assert got.kind == "feed" and b"Prompt Weekly" in got.body and got.content_type == "application/rss+xml"
    assert fetch(site[1] + "/atom", settings).kind == "feed"
    assert fetch(site[1] + "/feed-as-text", settings).kind == "feed"  # sniffed, not trusted by label


def test_html_page_is_a_page_not_a_feed(site, settings):
    from ingest.fetch import FetchError, fetch

    assert fetch(site[1] + "/page", settings).kind == "page"
    with pytest.raises(FetchError, match="web page, not an RSS"):
        fetch(site[1] + "/page", settings, expect="feed")


@pytest.mark.parametrize("path, reason", [
    ("/missing", "HTTP 404"),
    ("/json", "neither an RSS/Atom feed nor an HTML page"),
    ("/not-a-feed.xml", "not an RSS or Atom feed"),
    ("/huge-declared", "over the 0.05 MB limit"),
    ("/loop", "more than 3 redirects"),
    ("/to-file", "only http:// and https://"),
])
def test_bad_answers_are_refused_with_a_reason(site, settings, path, reason):
    from ingest.fetch import FetchError, fetch

    with pytest.raises(FetchError, match=reason):
        fetch(site[1] + path, settings)


def test_too_large_stream_is_aborted_while_downloading(site, settings):
    from ingest.fetch import FetchError, fetch

    srv, base = site
    with pytest.raises(FetchError, match="over the 0.05 MB limit"):
        fetch(base + "/huge", settings)
    assert srv.aborted.wait(10), "the client kept reading after the limit"


def test_slow_server_times_out(site, settings):
    from ingest.fetch import FetchError, fetch

    with pytest.raises(FetchError, match="timed out"):
        fetch(site[1] + "/slow", settings)


def test_redirects_are_followed_within_the_limit(site, settings):
    from ingest.fetch import fetch

    got = fetch(site[1] + "/redirect", settings)
    assert got.kind == "feed" and got.final_url.endswith("/feed.xml") and got.url.endswith("/redirect")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed.xml", "javascript:alert(1)",
                                 "http:///nohost", "http://user:secret@127.0.0.1/feed.xml", ""])
def test_only_plain_http_urls_are_accepted(settings, url):
    from ingest.fetch import FetchError, fetch

    with pytest.raises(FetchError):
        fetch(url, settings)


def test_saved_feed_is_registered_and_ingested_as_newsletter(site, settings, components):
    from ingest.fetch import fetch_into_library
    from ingest.pipeline import ingest

    lib = Path(settings.library_dir).resolve()
    saved = fetch_into_library(site[1] + "/feed.xml", settings, title="Prompt Weekly 周刊", lang="zh")
    assert saved.path.is_relative_to(lib / "feeds") and saved.path.suffix == ".xml"
    text = (lib / "sources.yaml").read_text(encoding="utf-8")
    assert text.startswith("# the registry\n# keep this comment\n")
    entry = yaml.safe_load(text)["sources"][0]
    assert entry["url"].endswith("/feed.xml") and entry["kind"] == "newsletter" and entry["language"] == "zh"
    assert entry["title"] == "Prompt Weekly 周刊" and (lib / entry["path"]) == saved.path

    again = fetch_into_library(site[1] + "/feed.xml", settings)  # refresh: same file, same entry
    assert again.path == saved.path and again.source_id == saved.source_id
    assert len(yaml.safe_load((lib / "sources.yaml").read_text(encoding="utf-8"))["sources"]) == 1

    rep = ingest(None, settings, embed=False, index=components.index(settings))
    assert not rep.failed and rep.indexed == 1
    rows = components.index(settings).manifest.sources()
    assert rows[0]["kind"] == "newsletter" and rows[0]["path"] == str(saved.path)


def test_page_is_saved_under_pages(site, settings):
    from ingest.fetch import fetch_into_library
    from ingest.pipeline import ingest

    saved = fetch_into_library(site[1] + "/page", settings)
    assert saved.kind == "page" and saved.path.parent.name == "pages" and saved.path.suffix == ".html"
    rep = ingest(None, settings, embed=False)
    assert not rep.failed and rep.indexed == 1


def test_cli_add_feed(site, settings, monkeypatch, capsys):
    from ui.cli import main

    monkeypatch.setenv("STUDYBOT_LIBRARY_DIR", str(settings.library_dir))
    monkeypatch.setenv("STUDYBOT_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("STUDYBOT_EMBEDDER", "fake")
    monkeypatch.setenv("STUDYBOT_FETCH_ALLOW_HOSTS", settings.fetch_allow_hosts)
    assert main(["add-feed", site[1] + "/feed.xml", "--title", "Weekly", "--lang", "en", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "feed" and out["ingest"]["indexed"] == 1 and not out["ingest"]["failed"]
    assert Path(out["path"]).exists()

    assert main(["add-feed", site[1] + "/page"]) == 1  # a page is not a feed
    assert "not an RSS or Atom feed" in capsys.readouterr().err
    assert main(["fetch", site[1] + "/page", "--no-ingest", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "page"
