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
from ingest.loaders.text import TITLE_MAX, first_short_line, from_text, read_text, sectioned_parts

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


def looks_like_markdown(text: str) -> bool:
    return bool(_FRONT_MATTER.match(text) or _ATX_ANYWHERE.search(text))


def load(path: Path) -> list[LoadedDoc]:
    return [from_markdown(read_text(path), path, mdx=path.suffix.lower() == ".mdx")]


def load_txt(path: Path) -> list[LoadedDoc]:
    text = read_text(path)
    return [from_markdown(text, path) if looks_like_markdown(text) else from_text(text, path)]


def from_markdown(text: str, path: Path, mdx: bool = False) -> LoadedDoc:
    fm, body, warnings = _split_front_matter(text)
    blocks = list(_blocks(body, mdx))
    title = _clean_title(fm.get("title")) or next((t for lvl, t in blocks if lvl == 1), None)
    if not title:
        title = first_short_line("\n".join(t for _, t in blocks), TITLE_MAX) or path.stem
    meta = _meta(fm)
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


def _blocks(body: str, mdx: bool):
    """Yield (level, text): headings as (1-6, text), prose lines and whole code blocks as (0, text)."""
    for is_code, chunk in _fence_split(body):
        if is_code:
            yield 0, chunk
            continue
        for line in _clean_prose(chunk, mdx).split("\n"):
            m = _HEADING.match(line)
            if m:
                yield len(m.group(1)), _clean_inline(m.group(2)).strip()
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
