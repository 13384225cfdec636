"""Markdown and MDX -> Parts split at headings, with front matter as title and metadata.

Markup is reduced to readable text (links keep their words, images and JSX go), but fenced code
stays byte for byte: a ``# comment`` inside a code block is code, never a heading.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from bot.core.types import LoadedDoc
from ingest.loaders.text import ITEM_LEVEL, TITLE_MAX, first_short_line, from_text, read_text, sectioned_parts

_FRONT_MATTER = re.compile(r"\A\ufeff?\s*---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.S | re.M)
_YAML_KEY = re.compile(r"^[\w-]+[ \t]*:", re.M)
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_ANYWHERE = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.M)

_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_MDX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.S)
_MDX_IMPORT = re.compile(r"^(?:import|export)\b.*$", re.M)
# An HTML tag on one line: the tag goes, whatever it wraps stays. (MDX tags get a real scanner.)
_TAG = re.compile(r"</?[A-Za-z][\w.:-]*(?:[ \t][^<>\n]*?)?/?>")
_JSX_START = re.compile(r"`+|<(?=[A-Za-z/>])")
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)|!\[\[[^\]\n]*\]\]")
# Link text may hold one level of brackets ("[Guide [GPT-3]](url)") and may wrap, but not span paragraphs.
_LINK = re.compile(r"\[((?:\\.|\[[^\[\]\n]*\]|[^\[\]\n\\]|\n(?!\s*\n))*)\]\([^)\n]*\)")
_REF_LINK = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_ANCHOR = re.compile(r"\[\[[^\]\n]*\]\]|\{#[\w-]+\}")  # "## Title[[title]]", "## Title {#id}"
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_CALLOUT = re.compile(r"^\s*>\s?\[!\w+\]\s*$", re.M)  # GitHub "> [!TIP]" marker lines
_QUOTE = re.compile(r"^ {0,3}>[ \t]?", re.M)
_LINK_DEF = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s+\S+.*$", re.M)


# Newsletter issues (ruanyf's weekly and its like): an item starts at a numbered headline,
# "1、[Title](url)（英文）", "**1、Title**", or a bare "1、" before a quote; a heading that is a link,
# "### [Title](url)", is an item too. Its link is the headline's, else the first one in its body.
_ITEM_LINKED = re.compile(r"^ {0,3}(\d{1,3})、\s*\[([^\]\n]+)\]\((\S+?)(?:\s+\"[^\"]*\")?\)(.*)$")
_ITEM_BOLD = re.compile(r"^ {0,3}\*\*(\d{1,3})、\s*(.+?)\*\*\s*$")
_ITEM_BARE = re.compile(r"^ {0,3}(\d{1,3})、\s*$")
_HEADING_LINK = re.compile(r"^ {0,3}#{1,6}[ \t]+\[[^\]\n]+\]\((\S+?)(?:\s+\"[^\"]*\")?\)[ \t]*$")
_BODY_LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\((https?://[^)\s]+)")
# Marks an item line through the cleaning that strips links: \x1f starts an item, \x1e<n> ends
# a line whose link is the n-th one recorded.
_MARK = re.compile(r"\x1e(\d+)$")
# A newsletter issue without a date of its own is dated by its images: they are uploaded in the
# week it is written, with the day in their address (".../202405/bg2024051501.webp"), while a lone
# later one is an edit. The newest day that one more image backs up within a week is the date.
_IMAGE_URL = re.compile(r"!\[[^\]\n]*\]\(([^)\s]+)")
_STAMP = re.compile(r"(20\d\d)[-/]?(0[1-9]|1[0-2])[-/]?([0-3]\d)(?!\d{3})")


def looks_like_markdown(text: str) -> bool:
    return bool(_FRONT_MATTER.match(text) or _ATX_ANYWHERE.search(text))


def load(path: Path) -> list[LoadedDoc]:
    from ingest.loaders import is_newsletter_path

    return [from_markdown(read_text(path), path, mdx=path.suffix.lower() == ".mdx", items=is_newsletter_path(path))]


def load_txt(path: Path) -> list[LoadedDoc]:
    text = read_text(path)
    return [from_markdown(text, path) if looks_like_markdown(text) else from_text(text, path)]


def from_markdown(text: str, path: Path, mdx: bool = False, items: bool = False) -> LoadedDoc:
    """``items``: the file is a newsletter issue: each item is its own Part with its link, and the
    issue is dated by its images when nothing else dates it."""
    fm, body, warnings = _split_front_matter(text)
    blocks = list(_blocks(body, mdx, items))
    title = _clean_title(fm.get("title")) or next((b[1] for b in blocks if b[0] == 1), None)
    if not title:
        title = first_short_line("\n".join(b[1] for b in blocks), TITLE_MAX) or path.stem
    meta = _meta(fm)
    if items and "date" not in meta:
        date = image_date(body)
        if date:
            meta["date"], meta["date_from"] = date, "images"
    if warnings:
        meta["warnings"] = warnings
    return LoadedDoc(path=str(path), title=title, parts=sectioned_parts(blocks, title), meta=meta)


def _split_front_matter(text: str) -> tuple[dict, str, list[str]]:
    m = _FRONT_MATTER.match(text)
    # A document may also open with a "---" rule: only key: value lines make it front matter.
    if not m or (m.group(1).strip() and not _YAML_KEY.match(m.group(1).lstrip())):
        return {}, text, []
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        return {}, text[m.end():], ["front matter is not valid YAML"]
    return (data if isinstance(data, dict) else {}), text[m.end():], []


def _clean_title(value) -> str | None:
    if value is None:
        return None
    title = " ".join(str(value).split())
    return title or None


def _meta(fm: dict) -> dict:
    meta: dict = {}
    for key in ("date", "date-created", "date_created", "created", "pubDate", "published"):
        if fm.get(key):
            meta["date"] = _iso(fm[key])
            break
    tags = fm.get("tags")
    if isinstance(tags, str):
        tags = [t.strip() for t in re.split(r"[,，]", tags)]
    if isinstance(tags, list):
        tags = [str(t).strip() for t in tags if t is not None and str(t).strip()]
        if tags:
            meta["tags"] = tags
    for key, out in (("description", "description"), ("url", "link"), ("link", "link")):
        if fm.get(key) and isinstance(fm[key], (str, int, float)):
            meta[out] = str(fm[key]).strip()
    return meta


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value).strip()


def image_date(body: str) -> str | None:
    """The day a newsletter issue was written, read from its images' addresses (see ``_STAMP``)."""
    days = []
    for url in _IMAGE_URL.findall(body):
        for y, mo, d in _STAMP.findall(url):
            try:
                days.append(dt.date(int(y), int(mo), int(d)))
            except ValueError:
                continue
    days.sort()
    backed = [b for a, b in zip(days, days[1:]) if (b - a).days <= 7]
    return (backed[-1] if backed else days[-1] if len(days) == 1 else None).isoformat() if days else None


def _mark_items(chunk: str, links: list[str | None]) -> str:
    """Marks item headlines and linked headings (see ``_MARK``), recording each one's link."""
    out = []
    open_item: int | None = None  # an item still looking for its link in its body
    for line in chunk.split("\n"):
        linked = _ITEM_LINKED.match(line)
        bold = None if linked else _ITEM_BOLD.match(line) or _ITEM_BARE.match(line)
        heading = _HEADING_LINK.match(line)
        if linked or bold or heading:
            links.append(linked.group(3) if linked else heading.group(1) if heading else None)
            open_item = len(links) - 1 if links[-1] is None else None
            if linked:
                line = f"\x1f{linked.group(1)}、{linked.group(2)}{linked.group(4)}"
            elif bold:
                line = f"\x1f{bold.group(1)}、{bold.group(2) if bold.re is _ITEM_BOLD else ''}"
            out.append(f"{line}\x1e{len(links) - 1}")
            continue
        if _HEADING.match(line):
            open_item = None
        elif open_item is not None:
            m = _BODY_LINK.search(line)
            if m:
                links[open_item] = m.group(1)
                open_item = None
        out.append(line)
    return "\n".join(out)


def _blocks(body: str, mdx: bool, items: bool = False):
    """Yield (level, text): headings as (1-6, text), prose lines and whole code blocks as (0, text).
    With ``items``, newsletter items as (ITEM_LEVEL, headline, link) and linked headings with their link."""
    links: list[str | None] = []
    for is_code, chunk in _fence_split(body):
        if is_code:
            yield 0, chunk
            continue
        if items:
            chunk = _mark_items(chunk, links)
        for line in _clean_prose(chunk, mdx).split("\n"):
            mark = _MARK.search(line) if items else None
            link = links[int(mark.group(1))] if mark else None
            if mark:
                line = line[: mark.start()]
            m = _HEADING.match(line)
            if m:
                head = _clean_inline(m.group(2)).strip()
                yield (len(m.group(1)), head, link) if link else (len(m.group(1)), head)
            elif mark and line.startswith("\x1f"):
                yield ITEM_LEVEL, line[1:].strip(), link
            else:
                yield 0, line.rstrip()


def _fence_split(body: str) -> list[tuple[bool, str]]:
    """Split into (is_code, text) runs; an unclosed fence runs to the end, as CommonMark says."""
    runs: list[tuple[bool, str]] = []
    prose: list[str] = []
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            prose.append(lines[i])
            i += 1
            continue
        fence = m.group(1)
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        if prose:
            runs.append((False, "\n".join(prose)))
            prose = []
        runs.append((True, "\n".join(lines[i : j + 1])))
        i = j + 1
    if prose:
        runs.append((False, "\n".join(prose)))
    return runs


def _clean_prose(text: str, mdx: bool) -> str:
    text = _HTML_COMMENT.sub("", text)
    if mdx:
        text = _MDX_COMMENT.sub("", text)
        text = _MDX_IMPORT.sub("", text)
    text = strip_jsx(text) if mdx else _TAG.sub("", text)
    text = _CALLOUT.sub("", text)
    text = _QUOTE.sub("", text)
    text = _LINK_DEF.sub("", text)
    return _clean_inline(text)


def _clean_inline(text: str) -> str:
    text = _IMAGE.sub("", text)
    text = _ANCHOR.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    return _BOLD.sub(r"\1", text)


def strip_jsx(text: str) -> str:
    """Remove JSX tags (props and all) but keep the text they wrap; inline code is left alone.

    Props may hold expressions with quotes, braces and even HTML strings ("<Question choices={[...
    explain: "a <code>pipeline</code>"]} />"), which no regular expression can skip safely.
    """
    out: list[str] = []
    i = 0
    while True:
        m = _JSX_START.search(text, i)
        if not m:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i : m.start()])
        if m.group(0).startswith("`"):  # a code span runs to the next run of as many backticks
            close = text.find(m.group(0), m.end())
            end = m.end() if close < 0 else close + len(m.group(0))
            out.append(text[m.start() : end])
            i = end
            continue
        end = _tag_end(text, m.end())
        if end is None:  # not a tag after all: keep the "<"
            out.append("<")
            i = m.end()
        else:
            i = end


def _tag_end(text: str, i: int) -> int | None:
    depth = 0
    quote = None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ">" and depth <= 0:
            return i + 1
        elif depth <= 0 and (c == "<" or text.startswith("\n\n", i)):
            return None  # a second "<" or a blank line before any ">": this was prose, not a tag
        i += 1
    return None
