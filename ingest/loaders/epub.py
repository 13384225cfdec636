"""EPUB -> one or more Parts per chapter (spine item): the book title is the document title, the
chapter's heading (or its table-of-contents label) the section.

An EPUB is a zip of XHTML files listed in reading order by the package document (OPF); the XHTML
goes through the HTML loader's walk, so headings inside a chapter nest under it.
"""
from __future__ import annotations

import posixpath
import zipfile
import zlib
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree as ET

from bot.core.types import LoadedDoc, Part
from ingest.loaders import LoadError
from ingest.loaders.html import decode_html, html_to_parts
from ingest.loaders.office import check_zip

_NS = {"c": "urn:oasis:names:tc:opendocument:xmlns:container", "opf": "http://www.idpf.org/2007/opf",
       "dc": "http://purl.org/dc/elements/1.1/", "ncx": "http://www.daisy.org/z3986/2005/ncx/"}
_XHTML = {"application/xhtml+xml", "text/html", "application/xml"}
BROKEN = "broken EPUB"


def load(path: Path) -> list[LoadedDoc]:
    check_zip(path, "EPUB")
    try:
        return _load(path)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:  # a damaged member (CRC, truncated data)
        raise LoadError(f"{BROKEN}: {' '.join(str(e).split())[:160]}") from e


def _load(path: Path) -> list[LoadedDoc]:
    warnings: list[str] = []
    with zipfile.ZipFile(path) as z:
        if _drm(z):
            raise LoadError("DRM-protected EPUB: its chapters are encrypted; only a DRM-free copy can be read")
        opf_path = _rootfile(z)
        opf = _xml(z, opf_path, "package document")
        base = posixpath.dirname(opf_path)
        title = " ".join("".join(opf.findtext(".//dc:title", default="", namespaces=_NS)).split())
        items = {}
        for it in opf.iterfind(".//opf:manifest/opf:item", _NS):
            href = posixpath.normpath(posixpath.join(base, unquote(it.get("href", ""))))
            items[it.get("id")] = (href, it.get("media-type", ""), it.get("properties", ""))
        labels = _toc_labels(z, opf, items)
        parts: list[Part] = []
        for ref in opf.iterfind(".//opf:spine/opf:itemref", _NS):
            href, media, props = items.get(ref.get("idref"), (None, "", ""))
            if href is None or media not in _XHTML or "nav" in props.split():
                continue
            try:
                html = decode_html(z.read(href))
            except KeyError:
                warnings.append(f"chapter file {href} is missing from the EPUB")
                continue
            chapter = html_to_parts(html, None)
            label = labels.get(href) or _first_section(chapter)
            for p in chapter:
                parts.append(Part(text=p.text, section=p.section or label))
    if not parts:
        raise LoadError("no text found in the EPUB (only pictures, or DRM-protected)")
    meta = {"warnings": warnings[:20]} if warnings else {}
    return [LoadedDoc(path=str(path), title=title or path.stem, parts=parts, meta=meta)]


def _drm(z: zipfile.ZipFile) -> bool:
    """Encrypted chapters (not just obfuscated fonts, which EPUBs may legally carry)."""
    try:
        root = ET.fromstring(z.read("META-INF/encryption.xml"))
    except (KeyError, ET.ParseError):
        return False
    uris = [el.get("URI", "") for el in root.iter() if el.tag.endswith("CipherReference")]
    return any(u.lower().endswith((".xhtml", ".html", ".htm", ".xml")) for u in uris)


def _rootfile(z: zipfile.ZipFile) -> str:
    container = _xml(z, "META-INF/container.xml", "container")
    root = container.find(".//c:rootfile", _NS)
    if root is None or not root.get("full-path"):
        raise LoadError(f"{BROKEN}: META-INF/container.xml names no package document")
    return root.get("full-path")


def _xml(z: zipfile.ZipFile, name: str, what: str) -> ET.Element:
    try:
        return ET.fromstring(z.read(name))
    except KeyError as e:
        raise LoadError(f"{BROKEN}: the {what} ({name}) is missing") from e
    except ET.ParseError as e:
        raise LoadError(f"{BROKEN}: the {what} ({name}) is not valid XML: {e}") from e


def _toc_labels(z: zipfile.ZipFile, opf: ET.Element, items: dict) -> dict[str, str]:
    """Chapter file -> its table-of-contents label (EPUB 2's NCX), for chapters without a heading."""
    spine = opf.find(".//opf:spine", _NS)
    ncx = items.get(spine.get("toc")) if spine is not None else None
    if not ncx:
        return {}
    try:
        root = ET.fromstring(z.read(ncx[0]))
    except (KeyError, ET.ParseError):
        return {}
    base = posixpath.dirname(ncx[0])
    out: dict[str, str] = {}
    for point in root.iterfind(".//ncx:navPoint", _NS):
        label = " ".join("".join(point.findtext("ncx:navLabel/ncx:text", default="", namespaces=_NS)).split())
        content = point.find("ncx:content", _NS)
        if label and content is not None:
            href = posixpath.normpath(posixpath.join(base, unquote(content.get("src", "").split("#")[0])))
            out.setdefault(href, label)
    return out


def _first_section(parts: list[Part]) -> str | None:
    return next((p.section.split(" > ")[0] for p in parts if p.section), None)
