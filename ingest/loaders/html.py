"""HTML -> Parts split at h1-h4, with page chrome (nav, header, footer...) left out.

``html_to_parts`` is shared with the feed and e-mail loaders, whose bodies are HTML fragments.
"""
from __future__ import annotations

import codecs
import re
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from bot.core.types import LoadedDoc, Part
from ingest.loaders.text import decode_bytes, sectioned_parts

_DROP = ["script", "style", "nav", "footer", "header", "aside", "noscript", "template", "svg", "iframe", "form"]
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4}
_BLOCK = {
    "address", "article", "blockquote", "body", "dd", "details", "div", "dl", "dt", "figcaption", "figure",
    "h5", "h6", "hr", "li", "main", "ol", "p", "pre", "section", "summary", "table", "tr", "ul",
}
_CELL = {"td", "th"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# Pages often declare a narrower charset than they use; decode with the superset browsers use.
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030", "iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}


def load(path: Path) -> list[LoadedDoc]:
    html = decode_html(path.read_bytes())
    tree = HTMLParser(html)
    title = _title(tree) or path.stem
    return [LoadedDoc(path=str(path), title=title, parts=_parts(tree, title))]


def decode_html(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_bytes(data)
    m = _META_CHARSET.search(data[:4096])
    if m:
        name = m.group(1).decode("ascii").lower()
        try:
            codec = codecs.lookup(_SUPERSET.get(name, name)).name
        except LookupError:
            codec = None
        # A page declaring UTF-16 in ASCII bytes is lying; let the sniffing decide.
        if codec and not codec.startswith("utf-16"):
            try:
                return data.decode(codec).replace("\r\n", "\n")
            except UnicodeDecodeError:
                pass
    return decode_bytes(data)


def html_to_parts(html: str, title: str | None = None, items: bool = False) -> list[Part]:
    """``items``: the HTML is a newsletter (a feed entry, an e-mail): a heading that links somewhere
    starts an item, its own Part carrying that link."""
    return _parts(HTMLParser(html), title, items)


def html_to_text(html: str) -> str:
    return "\n\n".join(p.text for p in html_to_parts(html))


def _title(tree: HTMLParser) -> str | None:
    for sel in ("title", "h1"):
        node = tree.css_first(sel)
        if node is not None:
            text = " ".join(node.text(deep=True).split())
            if text:
                return text
    return None


def _parts(tree: HTMLParser, title: str | None, items: bool = False) -> list[Part]:
    tree.strip_tags(_DROP)
    root = tree.body or tree.root
    if root is None:
        return []
    return sectioned_parts(_blocks(root, items), title)


def _heading_link(node) -> str | None:
    a = node.css_first("a[href]") or (node.parent if node.parent is not None and node.parent.tag == "a" else None)
    href = (a.attributes.get("href") or "").strip() if a is not None else ""
    return href if href.startswith(("http://", "https://")) else None


def _blocks(root, items: bool = False):
    """Walk the tree in document order without recursion (deeply nested pages exist) and yield
    (level, text): headings as (1-4, text), runs of body text as (0, line)."""
    line: list[str] = []
    pre_depth = 0
    # The stack holds nodes to enter and ("exit", tag) markers so block ends can break lines.
    stack: list = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            tag = item[1]
            if tag in _BLOCK:
                yield from _flush(line, keep_indent=pre_depth > 0)
            if tag == "pre":
                pre_depth -= 1
            elif tag in _CELL:
                line.append(" | ")
            continue
        tag = item.tag
        if tag == "-text":
            text = item.text_content or ""
            line.append(text if pre_depth else re.sub(r"\s+", " ", text))
            continue
        if tag in _HEADINGS:
            yield from _flush(line)
            text = " ".join(item.text(deep=True).split())
            link = _heading_link(item) if items else None
            yield (_HEADINGS[tag], text, link) if link else (_HEADINGS[tag], text)
            continue
        if tag == "br":
            yield from _flush(line)
            continue
        if tag in _BLOCK:
            yield from _flush(line)
        if tag == "pre":
            pre_depth += 1
        stack.append(("exit", tag))
        stack.extend(reversed(list(item.iter(include_text=True))))
    yield from _flush(line)


def _flush(line: list[str], keep_indent: bool = False):
    text = "".join(line)
    line.clear()
    for piece in text.split("\n"):
        piece = piece.rstrip() if keep_indent else piece.strip(" \t|")
        if piece.strip():
            yield 0, piece
