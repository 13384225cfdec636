"""Fetch an RSS/Atom feed or a web page into the library, so the next ingest indexes it.

    got = fetch("https://example.org/feed.xml", settings)          # raises FetchError("…reason…")
    saved = save_fetched(got, settings, title="Example weekly")  # library/feeds/… + sources.yaml entry

A remote server decides what it sends, so every limit is enforced here rather than trusted:
http/https only (checked again on every redirect hop), public addresses only unless allowed
(checked on the address actually connected to, every hop: ingest/netguard.py), a redirect limit,
connect/read timeouts plus a deadline for the whole download, a size cap on the decoded bytes
enforced while streaming and decompressing, and a content-type check.
"""
from __future__ import annotations

import hashlib
import os
import re
import time
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from bot.core.settings import Settings
from ingest.loaders.feeds import is_feed

FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml"}
PAGE_TYPES = {"text/html", "application/xhtml+xml"}
# Servers often label feeds as plain text or a generic binary; accepted only if the bytes are a feed.
SNIFF_TYPES = {"text/plain", "application/octet-stream", ""}
REDIRECTS = {301, 302, 303, 307, 308}
USER_AGENT = "studybot/0.1 (+feed fetcher)"
# Only what _Decoder can inflate within the size cap; httpx's own decoding inflates whole blocks.
ACCEPT_ENCODING = "gzip, deflate"
WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_MB = 1024 * 1024


class FetchError(Exception):
    """A URL that could not be added; str(e) is a short reason meant for the admin."""


@dataclass
class Fetched:
    url: str  # as asked
    final_url: str  # after redirects
    content_type: str
    body: bytes
    kind: str  # "feed" | "page"


@dataclass
class Saved:
    path: Path
    source_id: str
    kind: str
    url: str
    bytes: int


def check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"only http:// and https:// URLs can be fetched, not {url[:80]!r}")
    if not parts.hostname:
        raise FetchError(f"no host in URL {url[:80]!r}")
    if parts.username or parts.password:
        raise FetchError("URLs with a user name or password are not accepted (they would be stored in sources.yaml)")
    return url


def fetch(url: str, settings: Settings, *, expect: str = "any") -> Fetched:
    """Download ``url``; ``expect`` is "feed", "page" or "any"."""
    import httpx

    from ingest.netguard import AddressPolicy, AddressRefused, GuardedTransport

    url = check_url(url)
    try:
        policy = AddressPolicy.parse(settings.fetch_allow_hosts)
    except ValueError as e:
        raise FetchError(f"STUDYBOT_FETCH_ALLOW_HOSTS: {e}") from e
    limit = int(settings.fetch_max_mb * _MB)
    timeout = httpx.Timeout(connect=settings.fetch_connect_timeout, read=settings.fetch_read_timeout,
                            write=settings.fetch_read_timeout, pool=settings.fetch_connect_timeout)
    deadline = time.monotonic() + settings.fetch_total_timeout
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
    current = url
    try:
        # trust_env=False: a proxy from the environment would make the connection for us, to an
        # address the guarded transport never sees, so its checks would mean nothing.
        with httpx.Client(transport=GuardedTransport(policy), trust_env=False, timeout=timeout,
                          follow_redirects=False, headers=headers) as client:
            for _hop in range(settings.fetch_max_redirects + 1):
                with client.stream("GET", current) as resp:
                    if resp.status_code in REDIRECTS and resp.headers.get("location"):
                        current = check_url(urljoin(current, resp.headers["location"]))
                        continue
                    if resp.status_code >= 400:
                        raise FetchError(f"the server answered HTTP {resp.status_code} {resp.reason_phrase}".strip())
                    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                    if ctype not in FEED_TYPES | PAGE_TYPES | SNIFF_TYPES:
                        raise FetchError(f"content type {ctype!r} is neither an RSS/Atom feed nor an HTML page")
                    declared = resp.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise FetchError(_too_big(int(declared), settings))
                    body = _read_capped(resp, limit, deadline, settings)
                    return Fetched(url, current, ctype, body, _classify(ctype, body, expect))
            raise FetchError(f"more than {settings.fetch_max_redirects} redirects")
    except AddressRefused as e:
        raise FetchError(str(e)) from e
    except httpx.InvalidURL as e:  # e.g. 0177.0.0.1: not an HTTPError
        raise FetchError(f"invalid URL {current[:80]!r}: {e}") from e
    except httpx.TimeoutException as e:
        raise FetchError(f"timed out ({type(e).__name__}) talking to {urlsplit(current).netloc}") from e
    except httpx.HTTPError as e:
        raise FetchError(f"could not fetch {urlsplit(current).netloc}: {type(e).__name__}: {e}") from e


def _read_capped(resp, limit: int, deadline: float, settings: Settings) -> bytes:
    """The decoded body, never holding more than ``limit`` + 1 decoded bytes, however well it compresses."""
    decoder = _Decoder.for_encoding(resp.headers.get("content-encoding", ""))
    buf = bytearray()
    for block in resp.iter_raw():
        buf += decoder.decode(block, limit + 1 - len(buf))
        if len(buf) > limit:
            raise FetchError(_too_big(len(buf), settings, partial=True))
        if time.monotonic() > deadline:
            raise FetchError(f"download took longer than {settings.fetch_total_timeout:g} s (STUDYBOT_FETCH_TOTAL_TIMEOUT)")
        if decoder.done:
            break  # whatever follows the end of the compressed stream is not part of the body
    decoder.finish()
    return bytes(buf)


class _Decoder:
    """Content-Encoding decoding that returns at most as many bytes as the caller has room for.

    Output shorter than that room means zlib consumed the whole block; output filling it means the
    cap is exceeded and the download stops. So one call per block loses nothing.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._inflater = zlib.decompressobj(WBITS[encoding]) if encoding != "identity" else None
        self._may_be_raw = encoding == "deflate"

    @classmethod
    def for_encoding(cls, header: str) -> _Decoder:
        codings = [c for c in (c.strip().lower() for c in header.split(",")) if c not in ("", "identity")]
        if not codings:
            return cls("identity")
        if len(codings) == 1 and codings[0] in WBITS:
            return cls(codings[0])
        raise FetchError(f"the server sent Content-Encoding {header!r}; only gzip and deflate can be read")

    @property
    def done(self) -> bool:
        return self._inflater is not None and self._inflater.eof

    def decode(self, block: bytes, room: int) -> bytes:
        if self._inflater is None:
            return block[:room]
        try:
            out = self._inflater.decompress(block, room)
        except zlib.error as e:
            if self._may_be_raw:
                # Some servers send raw deflate without the zlib wrapper that "deflate" means.
                self._may_be_raw = False
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(block, room)
            raise FetchError(f"the {self.encoding}-compressed download is corrupt ({e})") from e
        self._may_be_raw = False
        return out

    def finish(self) -> None:
        if self._inflater is not None and not self._inflater.eof:
            raise FetchError(f"the {self.encoding}-compressed download was cut off before its end")


def _too_big(n: int, settings: Settings, partial: bool = False) -> str:
    size = f"over {n / _MB:.1f} MB" if partial else f"{n / _MB:.1f} MB"
    return f"the download is {size}, over the {settings.fetch_max_mb:g} MB limit (STUDYBOT_FETCH_MAX_MB)"


def _classify(ctype: str, body: bytes, expect: str) -> str:
    if ctype in PAGE_TYPES and _looks_html(body):
        kind = "page"
    elif is_feed(body):
        kind = "feed"
    elif ctype in PAGE_TYPES or (ctype in SNIFF_TYPES and _looks_html(body)):
        kind = "page"
    elif ctype in FEED_TYPES:
        raise FetchError("the XML is not an RSS or Atom feed")
    else:
        raise FetchError(f"content ({ctype or 'no content type'}) is neither an RSS/Atom feed nor an HTML page")
    if expect == "feed" and kind != "feed":
        raise FetchError("this is a web page, not an RSS or Atom feed (add it as a page, or give the feed's URL)")
    if expect == "page" and kind != "page":
        raise FetchError("this is a feed, not a web page")
    return kind


def _looks_html(body: bytes) -> bool:
    return bool(re.search(rb"<(?:!doctype\s+html|html|body)[\s>]", body[:4096], re.I))


# --- into the library ------------------------------------------------------------------------

FOLDERS = {"feed": ("feeds", ".xml", "newsletter"), "page": ("pages", ".html", "doc")}


def slug(text: str, max_len: int = 60) -> str:
    text = unicodedata.normalize("NFKC", text)
    s = re.sub(r"[^\w.]+", "-", text, flags=re.UNICODE).strip("-._")
    return s[:max_len].rstrip("-._") or "source"


def saved_path(url: str, kind: str, library_dir: Path) -> Path:
    """The same URL always lands in the same file, so fetching again refreshes it in place."""
    folder, ext, _ = FOLDERS[kind]
    p = urlsplit(url)
    name = slug(f"{p.hostname}{p.path}")
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return Path(library_dir).resolve() / folder / f"{name}-{digest}{ext}"


def save_fetched(got: Fetched, settings: Settings, *, title: str | None = None, lang: str | None = None) -> Saved:
    from ingest.sources import upsert_source

    root = Path(settings.library_dir).resolve()
    target = saved_path(got.url, got.kind, root)
    if not target.parent.resolve().is_relative_to(root):  # e.g. library/feeds is a symlink to elsewhere
        raise FetchError(f"{target.parent} leads outside the library")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(got.body)
    os.replace(tmp, target)  # never a half-written file for ingest to read
    _, _, kind = FOLDERS[got.kind]
    sid = upsert_source(root, {
        "id": f"{got.kind}-{target.stem}", "title": title, "kind": kind,
        "path": str(target.relative_to(root)), "url": got.url, "language": lang,
    })
    return Saved(target, sid, got.kind, got.url, len(got.body))


def fetch_into_library(url: str, settings: Settings, *, expect: str = "any", title: str | None = None,
                       lang: str | None = None) -> Saved:
    return save_fetched(fetch(url, settings, expect=expect), settings, title=title, lang=lang)
