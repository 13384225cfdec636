"""Where a question points inside the library: a source it names or a language version it asks for.

"Which JS library wraps AWS serverless operations, according to the weekly?", "综述里怎么说",
"In the Chinese version of the guide, what is prompt chaining?": the learner names where the answer
is. Ranked over the whole library, a same-topic page of another source wins, or the asked-for
page's other-language twin does (e5 puts an English question closer to the English twin).

``scope_of`` reads both from the question and from the library's own names: each document's
folder and file name, the title words most documents of a folder share ("周刊" for a newsletter
archive), and the titles of papers, books and slides. The retriever searches the named part beside
the whole library and fuses the two (``Retriever.fuse_scope``). Where the learner named the source
("according to the weekly", not just a file called like the topic), its passages come first
(``Retriever.prefer_scope``).

Pure functions over the manifest's (path, title, kind, lang) rows; no model.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import PurePath
from typing import Iterable

from bot.core.text import has_cjk, tokenize

# "the Chinese page / Chinese version of the guide / Chinese LLM survey / in Chinese", "中文版", "英文原文".
# Two words may stand between the language and the thing ("the Chinese LLM survey").
_THING = (r"(?:version|edition|translation|original|page|pages|doc|docs|documentation|course|tutorial|guide|"
          r"survey|paper|weekly|newsletter|article|text|term|slides?|lecture|book|site|wiki)")
_ASKED = {
    "zh": re.compile(r"\b(?:in|from|per|of)\s+(?:the\s+)?chinese\b(?!\s+(?:people|government|market|company|companies))"
                     r"|\bchinese\s+(?:[\w-]+\s+){0,2}" + _THING + r"\b"
                     r"|中文(?:版|页面|文档|教程|课程|原文|资料|网页|译本|术语|说法)", re.I),
    "en": re.compile(r"\b(?:in|from|per|of)\s+(?:the\s+)?english\b(?!\s+(?:people|speakers?))"
                     r"|\benglish\s+(?:[\w-]+\s+){0,2}" + _THING + r"\b"
                     r"|英文(?:版|页面|文档|教程|课程|原文|资料|网页|讲义|幻灯片|术语|说法)|英语版", re.I),
}
_LANG_WORDS = {"chinese", "english", "中文", "英文"}

# Path words that name no source: structure, languages, extensions.
_STRUCTURE = {
    "doc", "docs", "page", "pages", "chapter", "chapters", "current", "index", "issue", "readme", "content",
    "plugin", "docusaurus", "i18n", "hans", "en", "zh", "cn", "main", "src", "md", "mdx", "txt", "pdf", "html",
    "第", "期",
}
# Documents learners name by their title ("the survey", "综述", "the lecture").
_TITLED_KINDS = {"pdf", "epub", "docx", "pptx", "book", "paper", "slides"}
# A folder's documents share a title word ("科技爱好者周刊（第 200 期）") when this share of them has it.
_SHARED_TITLE = 0.5
_SHARED_MIN_DOCS = 10  # fewer documents share topic words ("模型", "tips") more than a series name


@dataclass(frozen=True)
class Scope:
    """The part of the library a question points at: ``paths`` (documents; None: any) in ``lang``
    (None: any). ``named``: the question's words that named it."""
    paths: frozenset[str] | None = None
    lang: str | None = None
    named: tuple[str, ...] = ()
    # The learner said where to look ("according to the weekly", "综述里", "the Chinese version"): its
    # passages come first. Otherwise (a file named like the topic) they only count in the ranking.
    explicit: bool = False


def language_asked(question: str) -> str | None:
    """'zh' or 'en' when the question asks for that language's version of a source."""
    found = [lang for lang, rx in _ASKED.items() if rx.search(question or "")]
    return found[0] if len(found) == 1 else None


# Words of a request for a language version that name no source ("the Chinese version of the guide").
_VERSION_WORDS = re.compile(r"\b(?:chinese|english|version|edition|translation|original)\b|中文版?|英文版?|英语版?", re.I)


def _words(name: str) -> set[str]:
    """A file or folder name's words: split at separators and camelCase, digits and structure dropped."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", re.sub(r"[_\-.]+", " ", name))
    return {t for t in tokenize(spaced) if len(t) > 1 and not re.search(r"\d", t) and t not in _STRUCTURE}


class SourceNames:
    """Which documents each name word points at: the words of every folder above a document, the
    title words most documents of its folder share, its file name and, for papers, books and slides,
    its title. A word that names every document (the library's own root folders) names nothing."""

    def __init__(self, docs: Iterable[dict]) -> None:
        docs = list(docs)
        by_folder: dict[str, list[dict]] = defaultdict(list)
        for d in docs:
            by_folder[str(PurePath(d["path"]).parent)].append(d)
        self.docs_of: dict[str, set[str]] = defaultdict(set)
        # What a word names as a source, not only as a file: a folder, a shared title, a paper's title.
        self.sources_of: dict[str, set[str]] = defaultdict(set)
        for folder, members in by_folder.items():
            shared: set[str] = set()
            if len(members) >= _SHARED_MIN_DOCS:
                counts = Counter(w for d in members for w in _words(d.get("title") or ""))
                shared = {w for w, n in counts.items() if n >= _SHARED_TITLE * len(members)}
            folder_words = shared.union(*(_words(part) for part in PurePath(folder).parts))
            for d in members:
                source = set(folder_words)
                if (d.get("kind") or "") in _TITLED_KINDS:
                    source |= _words(d.get("title") or "")
                for w in source:
                    self.sources_of[w].add(d["path"])
                for w in source | _words(PurePath(d["path"]).stem):
                    self.docs_of[w].add(d["path"])
        self.paths = frozenset(d["path"] for d in docs)
        self.titles = {d["path"]: d.get("title") or PurePath(d["path"]).stem for d in docs}

    def describe(self, scope: Scope) -> dict:
        """Where a named search looked first, for the learner: how many documents, the words that named
        them, the title of one (the only one, when there is one) and the language version."""
        paths = sorted(scope.paths or ())
        return {"documents": len(paths), "named": list(scope.named), "lang": scope.lang,
                "title": self.titles.get(paths[0]) if paths else None}

    def named(self, question: str) -> tuple[frozenset[str], tuple[str, ...], bool] | None:
        """The documents the question names, the words that named them, and whether it named them
        as a source; None when it names none.

        Where the question names a source ("according to the weekly", "in the lecture slides",
        "周刊推荐过", "综述里"), the source's names alone choose, each weighing the same: a collection's
        name is meant to name many documents. Otherwise every name word counts, weighed by how few
        documents it names ("prompt chaining" names the pages called so)."""
        words = set(tokenize(question or "")) - _LANG_WORDS
        n = len(self.paths)
        usable = {w: self.docs_of[w] for w in words if w in self.docs_of and len(self.docs_of[w]) < n}
        cued = {w: self.sources_of[w] for w in cued_words(question, set(self.sources_of)) - _LANG_WORDS
                if w in self.sources_of and len(self.sources_of[w]) < n}
        if cued:
            usable, weight = cued, {w: 1.0 for w in cued}
        else:
            weight = {w: math.log(n / len(docs)) for w, docs in usable.items()}
        score: dict[str, float] = defaultdict(float)
        for w in weight:
            for path in usable[w]:
                score[path] += weight[w]
        if not score:
            return None
        best = max(score.values())
        chosen = frozenset(p for p, v in score.items() if v >= best - 1e-9)
        used = tuple(sorted((w for w in weight if chosen <= usable[w]), key=lambda w: (-weight[w], w)))
        return chosen, used, bool(cued)


# Where a question names a source: "according to / per / in / from / of the X", "the X says / recommended
# / lists...", "X's"; "X里 / X中 / X说 / X提到 / X推荐 / X哪期", "据 / 根据 / 那份 X". X is up to three words.
_VERBS = (r"says?|said|recommends?|recommended|suggests?|suggested|mentions?|mentioned|lists?|listed|features?|"
          r"featured|covers?|covered|describes?|described|explains?|explained|discuss(?:es|ed)?|calls?|called|notes?|noted")
_CUE_EN = re.compile(r"\b(?:according\s+to|per|in|from|of|by)\s+(?:the|this|that)\s+((?:[\w-]+\s+){0,2}[\w-]+)"
                     r"|\b(?:the|this|that)\s+((?:[\w-]+\s+){0,2}[\w-]+)\s+(?:" + _VERBS + r")\b"
                     r"|([\w-]+'s\s+[\w-]+)", re.I)
_CUE_ZH_AFTER = "里|中|上|说|提到|提过|推荐|介绍|讲|聊|哪"
_CUE_ZH_BEFORE = "据|根据|按照|那份|这份|那篇|这篇|那本|这本|哪期|哪一期"


# What a source is called, besides its own name ("the lecture slides", "the agents guide").
_SOURCE_NOUNS = set(tokenize("slides pages docs documentation course guide weekly newsletter survey paper lecture book "
                             "tutorial article notes plan roadmap handbook report site wiki"))


def cued_words(question: str, names: set[str]) -> set[str]:
    """The words a question uses as the name of a source. In English the phrase must end in one
    (``names``) or in a word for a source: "the model card" names no source, "the lecture slides" does."""
    q = question or ""
    out: set[str] = set()
    for m in _CUE_EN.finditer(q):
        toks = tokenize(next(g for g in m.groups() if g))
        if toks and (toks[-1] in names or toks[-1] in _SOURCE_NOUNS):
            out |= set(toks)
    # In Chinese, a source's own name next to the words that name it: "综述里", "周刊推荐过", "哪期周刊".
    for w in names:
        if has_cjk(w) and w in q and re.search(f"{re.escape(w)}(?:{_CUE_ZH_AFTER})|(?:{_CUE_ZH_BEFORE}){re.escape(w)}", q):
            out.add(w)
    return out


def scope_of(question: str, names: SourceNames | None) -> Scope | None:
    """The part of the library ``question`` points at (``Scope``), or None for the whole of it."""
    lang = language_asked(question)
    # "the Chinese version of the guide": the guide is named, the version is not.
    rest = _VERSION_WORDS.sub(" ", question) if lang else question
    named = names.named(rest) if names is not None else None
    if lang is None and named is None:
        return None
    paths, words, cued = named if named else (None, (), False)
    return Scope(paths=paths, lang=lang, named=words, explicit=cued or lang is not None)
