"""The source viewer: a cited passage in its document, served from the index.

``GET /source/{chunk_id}?q=quote`` is a read-only HTML page: the passage with its neighbours (for a PDF,
the passages of its page) in reading order, the quote highlighted, and the document's title, section,
page, date and link when the index knows them. Everything comes from the manifest
(``Manifest.source_view``, ``Manifest.document_passages``), never from the library's files, so the route
can reach nothing but indexed passages: the id must look like a chunk id (ingest/splitter.py:
``chunk_id``), an unknown id or a disabled source is a 404, and ``q`` is only ever searched for in the
passage, never shown. Library text is escaped, and the page carries a CSP that allows no script at all.
"""
from __future__ import annotations

import html
import re
import urllib.parse
from dataclasses import dataclass

from bot.core.citation import cite_label
from bot.core.types import Chunk
from bot.index.manifest import Manifest

# Chunk ids are hex digests (sha256 cut to 24 characters); anything else is refused before the index is asked.
CHUNK_ID = re.compile(r"[0-9a-f]{16,64}")
MAX_QUOTE = 1000  # a citation's quote is at most a few hundred characters
RADIUS = 3  # passages shown either side of the cited one (documents without pages)
MAX_PAGE_PASSAGES = 60  # a PDF page's passages shown at most
ROUTE = "/source/{chunk_id}"

HEADERS = {
    # No script, no frames, no forms, no remote anything: the page is text and inline style.
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}

TEXT = {"title": "出处 / Source", "missing": "没有这段资料 / No such passage in the library",
        "earlier": "◀ 前文 / earlier", "later": "后文 / later ▶", "date": "日期 / date", "link": "原文链接 / original",
        "page": "第 {p} 页 / page {p}", "cited": "引用段落 / cited passage"}

CSS = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:48rem;margin:0 auto;padding:1rem 1.25rem 3rem;
line-height:1.65;color:#1f2328;background:#fff}
header{border-bottom:1px solid #d0d7de;margin-bottom:1rem;padding-bottom:.5rem}
h1{font-size:1.3rem;margin:.2rem 0}.where{color:#57606a;font-size:.9rem}.meta{font-size:.85rem;color:#57606a}
.p{white-space:pre-wrap;margin:0 0 1rem;color:#57606a}
.cited{color:#1f2328;border-left:4px solid #f97316;padding:.25rem .75rem;background:#fff7ed}
mark{background:#fde68a;padding:0 .1em}nav{display:flex;justify-content:space-between;font-size:.9rem;margin:1rem 0}
a{color:#0969da}
@media (prefers-color-scheme: dark){body{background:#0d1117;color:#e6edf3}.p{color:#9198a1}
.cited{color:#e6edf3;background:#2d1f0e}mark{background:#7c5e10;color:#fff}}
"""


@dataclass
class View:
    chunk: Chunk
    meta: dict
    passages: list[Chunk]  # in reading order, the cited one among them
    earlier: str | None = None  # chunk id of the passage before the shown ones
    later: str | None = None


def valid_id(chunk_id: str) -> bool:
    return bool(CHUNK_ID.fullmatch(chunk_id or ""))


def source_url(chunk_id: str, quote: str = "") -> str:
    """The viewer's address for a citation, relative to the learner app's root (so it also works behind
    a proxy that serves the app under a sub-path). Empty when there is no chunk id to show."""
    if not valid_id(chunk_id):
        return ""
    q = squash_quote(quote)
    # "#cited": the page opens scrolled to the passage, its neighbours above and below.
    return f"source/{chunk_id}" + (f"?q={urllib.parse.quote(q)}" if q else "") + "#cited"


def squash_quote(quote: str) -> str:
    q = " ".join((quote or "").replace("…", " ").split())
    return q if len(q) <= MAX_QUOTE else ""


def load_view(manifest: Manifest, chunk_id: str) -> View | None:
    """The passage and its neighbours, or None (bad or unknown id, or a source the admin disabled)."""
    if not valid_id(chunk_id):
        return None
    got = manifest.source_view(chunk_id)
    if got is None or not got["enabled"]:
        return None
    c: Chunk = got["chunk"]
    if c.page is not None:
        shown = manifest.document_passages(c.source_hash, page=c.page)
        if len(shown) > MAX_PAGE_PASSAGES:  # a huge page: the window around the passage
            shown = [x for x in shown if abs(x.ordinal - c.ordinal) <= MAX_PAGE_PASSAGES // 2]
    else:
        shown = manifest.document_passages(c.source_hash, around=c.ordinal, radius=RADIUS)
    if not any(x.id == c.id for x in shown):
        shown = [c]
    before = manifest.document_passages(c.source_hash, around=shown[0].ordinal - 1, radius=0)
    after = manifest.document_passages(c.source_hash, around=shown[-1].ordinal + 1, radius=0)
    return View(chunk=c, meta=got["meta"], passages=shown, earlier=before[0].id if before else None,
                later=after[0].id if after else None)


def _overlap(a: str, b: str, most: int = 600) -> int:
    """Length of the longest end of ``a`` that ``b`` starts with (neighbouring passages overlap)."""
    for k in range(min(len(a), len(b), most), 8, -1):
        if a.endswith(b[:k]):
            return k
    return 0


def _texts(view: View) -> list[str]:
    """Each shown passage's text without the overlap it repeats from its neighbour; the cited passage
    stays whole (the quote must be found in it)."""
    ps = view.passages
    at = next(i for i, p in enumerate(ps) if p.id == view.chunk.id)
    out = [p.text for p in ps]
    for i in range(at - 1, -1, -1):  # before the cited one: drop their ends the next one repeats
        k = _overlap(out[i], ps[i + 1].text)
        out[i] = out[i][: len(out[i]) - k] if k else out[i]
    for i in range(at + 1, len(ps)):  # after it: drop their starts the previous one already showed
        k = _overlap(ps[i - 1].text, out[i])
        out[i] = out[i][k:]
    return out


def highlighted(text: str, quote: str) -> str:
    """``text`` escaped, with ``quote`` (whitespace runs matching any whitespace) in <mark>."""
    q = squash_quote(quote)
    m = re.search(r"\s+".join(re.escape(w) for w in q.split()), text) if q else None
    if m is None:
        return html.escape(text)
    return (html.escape(text[: m.start()]) + "<mark id='quote'>" + html.escape(m.group(0)) + "</mark>"
            + html.escape(text[m.end():]))


def _safe_link(link) -> str | None:
    """A document's link, only when it is plain http(s): never javascript: or data: from a feed."""
    if not isinstance(link, str):
        return None
    parts = urllib.parse.urlsplit(link.strip())
    return link.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def render(view: View, quote: str = "") -> str:
    c, e = view.chunk, html.escape
    title = c.title or "—"
    where = cite_label(None, c.section, c.page)
    meta = []
    date = view.meta.get("date")
    if date:
        meta.append(f"{TEXT['date']}: {e(str(date)[:40])}")
    link = _safe_link(view.meta.get("link"))
    if link:
        meta.append(f"<a href='{e(link, quote=True)}' rel='noopener noreferrer nofollow' target='_blank'>"
                    f"{TEXT['link']} ↗</a>")
    body = []
    for p, text in zip(view.passages, _texts(view)):
        if p.id == c.id:
            body.append(f"<div class='p cited' id='cited' aria-label='{TEXT['cited']}'>{highlighted(text, quote)}</div>")
        elif text.strip():
            page = f" data-page='{p.page}'" if p.page is not None else ""
            body.append(f"<div class='p'{page}>{e(text)}</div>")

    def nav(cid: str | None, label: str) -> str:
        return f"<a href='{e(cid)}' rel='nofollow'>{label}</a>" if cid else "<span></span>"

    navigation = f"<nav>{nav(view.earlier, TEXT['earlier'])}{nav(view.later, TEXT['later'])}</nav>"
    return (f"<!doctype html><html><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><meta name='robots' content='noindex'>"
            f"<title>{e(title)} · {TEXT['title']}</title><style>{CSS}</style></head><body>"
            f"<header><div class='where'>📖 {TEXT['title']}</div><h1 id='doc-title'>{e(title)}</h1>"
            + (f"<div class='where' id='doc-where'>{e(where)}</div>" if where else "")
            + (f"<div class='meta' id='doc-meta'>{' · '.join(meta)}</div>" if meta else "")
            + f"</header>{navigation}<main>{''.join(body)}</main>{navigation}</body></html>")


def not_found_page() -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>404</title><style>{CSS}</style></head>"
            f"<body><h1>404</h1><p>{TEXT['missing']}</p></body></html>")


def add_viewer_route(server, manifest_of) -> None:
    """Registers the viewer on the FastAPI ``server`` (before the "/" mount, which would swallow it).
    ``manifest_of()``: the served index's manifest."""
    from fastapi.responses import HTMLResponse

    def source(chunk_id: str, q: str = "") -> HTMLResponse:
        view = load_view(manifest_of(), chunk_id[:100])
        if view is None:
            return HTMLResponse(not_found_page(), status_code=404, headers=HEADERS)
        return HTMLResponse(render(view, q[: MAX_QUOTE * 4]), headers=HEADERS)

    server.add_api_route(ROUTE, source, methods=["GET"], response_class=HTMLResponse, include_in_schema=False)
