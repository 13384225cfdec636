"""The source viewer (/source/{chunk_id}) and the admin's per-source events, called as an anonymous
stranger would on the real server: only indexed passages of enabled sources are served, by opaque id,
escaped, with no script allowed; nothing else under the library or the index can be reached; every
per-source admin action needs the admin's session."""
from __future__ import annotations

import urllib.parse

import httpx
import pytest
from served import admin_session, secrets_in, serve

pytestmark = pytest.mark.timeout(300)

XSS = "<script>alert('pwned')</script>"
NOTE = f"""---
title: "Payload {XSS}"
date: 2024-05-01
url: "javascript:alert(document.cookie)"
---
# Payload <img src=x onerror=alert(1)>

## Section <svg onload=alert(2)>

Quokka fermentation notes {XSS} and <iframe src="https://evil.example/"></iframe> end of the
passage about quokka fermentation.
"""
# Plain text keeps markup as it is (the Markdown loader drops HTML): the passage itself carries the payload.
TEXT_NOTE = f"""Quokka field notes {XSS}

Quokka fermentation notes {XSS} and <iframe src="https://evil.example/"></iframe> <img src=x onerror=alert(3)>
end of the passage about quokka fermentation.
"""
SECRET_NOTE = "# Hidden\n\nThe narwhal ledger is confidential and must be disabled before anyone reads it.\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("viewer")
    notes = base / "library" / "notes"
    notes.mkdir(parents=True)
    (notes / "payload.md").write_text(NOTE, encoding="utf-8")
    (notes / "narwhal.md").write_text(SECRET_NOTE, encoding="utf-8")
    (notes / "payload.txt").write_text(TEXT_NOTE, encoding="utf-8")
    with serve(base) as s:
        yield s


def _ids(site, name: str) -> list[str]:
    path = str(site.lib / "notes" / name)
    return [c.id for c in site.bot.index.manifest.file_passages(path)]


@pytest.mark.parametrize("name", ["payload.md", "payload.txt"])
def test_a_passage_page_is_escaped_and_allows_no_script(site, name):
    cid = _ids(site, name)[0]
    r = httpx.get(f"{site.url}/source/{cid}", params={"q": "Quokka fermentation notes" + (" " + XSS if "txt" in name else "")})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp  # no script source at all
    assert r.headers["x-content-type-options"] == "nosniff"
    page = r.text
    for raw in (XSS, "<img src=x", "<svg onload", "<iframe", "javascript:"):
        assert raw not in page, raw
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page  # shown as text
    assert "<mark id='quote'>Quokka fermentation notes" in page
    if name == "payload.md":  # its front matter: the date shows, the javascript: link does not
        assert "2024-05-01" in page and "<a href" not in page
    else:
        assert "<mark id='quote'>Quokka fermentation notes &lt;script&gt;" in page
    # Parsed as a browser would: only the page's own elements, no handler, no script, no remote source.
    tags = _elements(page)
    assert {t for t, _ in tags} <= {"html", "head", "meta", "title", "style", "body", "header", "div", "h1", "nav",
                                    "span", "main", "mark", "a"}, tags
    assert not [a for _, attrs in tags for a, _ in attrs if a.startswith("on") or a == "src"]


def _elements(page: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    found = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    P().feed(page)
    return found


@pytest.mark.parametrize("path", [
    "/source/../../etc/passwd", "/source/..%2F..%2Fetc%2Fpasswd", "/source/%2e%2e/%2e%2e/etc/passwd",
    "/source/manifest.sqlite", "/source/..%2Findex%2Fmanifest.sqlite", "/source/" + "a" * 20000,
    "/source/" + "0" * 24, "/source/" + "f" * 64 + "%00", "/source/%00", "/source/",
    "/source/seeds%2F001_241450faf596187f.txt", "/source/0123456789abcdef0123456789abcdef0123456789abcdef"
    "0123456789abcdef0",
])
def test_anything_but_an_indexed_id_is_a_404_with_no_secret(site, path):
    r = httpx.get(site.url + path)
    assert r.status_code in (404, 414, 400), (path, r.status_code)
    assert not secrets_in(site, r.text)
    assert "Quokka" not in r.text and "narwhal" not in r.text


def test_library_and_index_paths_are_not_reachable_through_the_viewer(site):
    for target in (str(site.lib / "notes" / "payload.md"), str(site.manifest), str(site.canary), "/etc/passwd"):
        for url in (f"/source/{urllib.parse.quote(target, safe='')}", f"/source/x?q={urllib.parse.quote(target)}",
                    f"/source{target}"):
            r = httpx.get(site.url + url)
            assert r.status_code in (404, 405), (url, r.status_code)
            assert not secrets_in(site, r.text) and "Quokka" not in r.text


def test_a_disabled_or_deleted_source_is_a_404(site):
    from ingest.pipeline import delete_source

    cid = _ids(site, "narwhal.md")[0]
    path = str(site.lib / "notes" / "narwhal.md")
    assert httpx.get(f"{site.url}/source/{cid}").status_code == 200
    site.bot.index.manifest.set_disabled(path, True)
    r = httpx.get(f"{site.url}/source/{cid}")
    assert r.status_code == 404 and "narwhal" not in r.text
    site.bot.index.manifest.set_disabled(path, False)
    assert "narwhal" in httpx.get(f"{site.url}/source/{cid}").text
    delete_source(path, site.settings, index=site.bot.index, file="keep")
    assert httpx.get(f"{site.url}/source/{cid}").status_code == 404


ADMIN_EVENTS = ["admin_source_disable", "admin_source_enable", "admin_source_reparse", "admin_source_delete",
                "admin_source_passages", "admin_search_test"]


def test_per_source_admin_events_need_the_session(site):
    path = "seeds/001_241450faf596187f.txt"
    for name in ADMIN_EVENTS:
        for url in (f"/admin/gradio_api/call/{name}", f"/admin/gradio_api/run/{name}"):
            r = httpx.post(site.url + url, json={"data": [path, "delete", path]})
            assert r.status_code == 401, (url, r.status_code)
        # The learner app at / has no such endpoint at all.
        r = httpx.post(f"{site.url}/gradio_api/call/{name}", json={"data": [path]})
        assert r.status_code in (404, 405, 422) or "error" in r.text.lower(), (name, r.status_code)
    assert not any(name in httpx.get(site.url + "/config").text for name in ADMIN_EVENTS)
    with admin_session(site) as admin:
        config = admin.get("/admin/config").text
        assert all(name in config for name in ADMIN_EVENTS)
    # Nothing was done by the refused calls.
    assert site.bot.index.manifest.file_passages(str(site.lib / path))
