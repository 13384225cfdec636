"""Quizzes and flashcards from the library, generated without an LLM.

Facts are read straight off the indexed passages: definitions ("大模型是指……", "X refers to …") and
glossary-style list items ("- 生成式AI原理：理解GPT……", "- **Term**: …"). Each quiz question is a
cloze on one fact; its three distractors are terms of other facts of the same kind. Every
explanation quotes the passage verbatim (a slice of the indexed chunk text), so a learner can
check it. When configured (``study_llm``), the LLM may reword question stems within a time budget;
the deterministic wording stays on any failure.

    quiz = make_quiz(bot, source="/path/doc.md", n=5, lang="zh")
    deck = make_flashcards(bot, topic="杠铃阅读法", n=10)
    quiz.to_markdown(); deck.to_markdown(); deck.to_tsv()  # tsv imports into Anki
"""
from __future__ import annotations

import concurrent.futures as cf
import csv
import hashlib
import io
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from bot.core.settings import Settings
from bot.core.citation import cite_label
from bot.core.text import CJK_CHARS, detect_lang, has_cjk, sentence_spans
from bot.core.types import Chunk, Hit
from bot.index.store import Index


class LibraryBot(Protocol):
    """What quizzes and flashcards use of ``bot.service.StudyBot``, which sits above this layer."""

    settings: Settings
    index: Index
    fact_pool: "FactPool"  # the process's cache of the library's facts (bot.components)

    def search(self, query: str, k: int = 5) -> list[Hit]: ...

    def chat_model(self) -> Any: ...

log = logging.getLogger("studybot")

Lang = Literal["zh", "en"]
MAX_ITEMS = 20
MAX_TOPIC_CHARS = 200
TOPIC_CUTOFF = 0.6  # share of the best passage's score a passage needs to count as on-topic


class StudyAidError(ValueError):
    """Bad input (unknown source, empty topic) or nothing in the library to build from."""


# --- models ---------------------------------------------------------------------------------------
class Passage(BaseModel):
    path: str
    title: str
    section: str | None = None
    page: int | None = None
    quote: str = Field(description="A verbatim slice of the indexed passage text.")
    chunk_id: str = ""

    def where(self) -> str:
        return cite_label(f"《{self.title}》" if has_cjk(self.title) else f"“{self.title}”", self.section, self.page)


class QuizQuestion(BaseModel):
    id: str
    kind: Literal["definition", "item"]
    question: str
    options: list[str]
    answer: int = Field(description="Index of the correct option.")
    explanation: str
    source: Passage

    @property
    def correct(self) -> str:
        return self.options[self.answer]


class Quiz(BaseModel):
    lang: Lang
    topic: str | None = None
    source_path: str | None = None
    questions: list[QuizQuestion]

    def to_markdown(self) -> str:
        t = LABELS[self.lang]
        lines = [f"# {t['quiz']}: {self.topic or os.path.basename(self.source_path or '')}", ""]
        for i, q in enumerate(self.questions, 1):
            lines.append(f"## {i}. {q.question}")
            lines += [f"- {'ABCD'[j]}. {o}" for j, o in enumerate(q.options)]
            lines += ["", f"<details><summary>{t['answer']}</summary>", "",
                      f"**{'ABCD'[q.answer]}. {q.correct}** — {q.explanation}", "",
                      f"> {q.source.quote}", "", f"`{q.source.path}`", "", "</details>", ""]
        return "\n".join(lines)


class Flashcard(BaseModel):
    id: str
    front: str
    back: str
    source: Passage


class Deck(BaseModel):
    lang: Lang
    topic: str | None = None
    source_path: str | None = None
    cards: list[Flashcard]

    def to_markdown(self) -> str:
        t = LABELS[self.lang]
        lines = [f"# {t['cards']}: {self.topic or os.path.basename(self.source_path or '')}", ""]
        for i, c in enumerate(self.cards, 1):
            lines += [f"## {i}. {c.front}", "", c.back, "", f"<sub>{c.source.where()} · `{c.source.path}`</sub>", ""]
        return "\n".join(lines)

    def rows(self) -> list[tuple[str, str, str]]:
        return [(c.front, f"{c.back}<br><small>{c.source.where()}</small>", "studybot") for c in self.cards]

    def to_tsv(self) -> str:
        """Anki 'Import File': front, back, tags, one note per line (tabs/newlines cannot appear in a field)."""
        def clean(s: str) -> str:
            return re.sub(r"[\t\r\n]+", " ", s)
        return "#separator:tab\n#html:true\n#tags column:3\n" + "".join(
            "\t".join(clean(x) for x in row) + "\n" for row in self.rows())

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["front", "back", "tags"])
        w.writerows(self.rows())
        return buf.getvalue()


LABELS = {
    "zh": {"quiz": "测验", "cards": "卡片", "answer": "答案与出处", "cloze": "填空：“{s}”", "item": "“{s}”说的是哪一项？",
           "explain": "正确答案是「{a}」。出处：{w}", "front_item": "{t}", "front_def": "什么是{t}？"},
    "en": {"quiz": "Quiz", "cards": "Flashcards", "answer": "Answer and source", "cloze": "Fill in the blank: “{s}”",
           "item": "Which item does this describe: “{s}”?", "explain": "The answer is “{a}”. Source: {w}",
           "front_item": "{t}", "front_def": "What is {t}?"},
}
BLANK = "____"


# --- facts ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fact:
    kind: str  # definition | item
    term: str
    statement: str  # the sentence with the term blanked (definition) or the item's description
    start: int  # quote span in chunk.text
    end: int
    chunk: Chunk

    @property
    def quote(self) -> str:
        return self.chunk.text[self.start:self.end]

    @property
    def key(self) -> str:
        return f"{self.chunk.source_hash}:{_norm(self.term)}:{_norm(self.statement)[:40]}"


# Labels that head list items in many documents with unrelated content: never an answer.
_GENERIC_TERMS = set("""优点 缺点 目标 任务 任务清单 例如 注意 示例 说明 结果 方法 步骤 问题 答案 备注 输入 输出 作用 特点 原因 影响 场景
挑战 优势 劣势 案例 工具 资源 建议 总结 结论 定义 概念 内容 要求 阶段 时间 周期 难度 链接 地址 网址 作者 来源 日期
q a note example tip goal goals pros cons summary result results step steps input output link source date author""".split())
_PRONOUN_START = re.compile(r"^(这|那|它|其|此|该|本|每|我|你|他|她|我们|你们|他们|一个|一种|如果|但|而|所以|因此|因为|同时)")
_EN_BAD_START = {"this", "that", "it", "there", "these", "those", "he", "she", "they", "we", "you", "i", "which", "what",
                 "one", "each", "all", "some", "here", "such", "our", "your", "its", "their", "his", "her", "my"}

_ITEM = re.compile(
    r"^\s*(?:[-*•+]|\d{1,2}[.)、])\s+(?:\*\*|__)?(?P<term>[^：:*_\n]{1,30}?)(?:\*\*|__)?\s*"
    r"(?P<gloss>（[^）\n]{1,40}）|\([^)\n]{1,40}\))?\s*[：:]\s*(?P<desc>\S.*?)\s*$")
_DEF_ZH = re.compile(r"^(?P<term>[^，。：:；、\s“”「」（）()]{2,16}?)(?:的定义)?[，,]?(?P<verb>是指|指的是|就是指|是一种|是一项|是一类|是一门|指)(?P<rest>.+)$")
_DEF_EN = re.compile(
    r"^(?:The |An? )?(?P<term>[A-Za-z][\w+#-]*(?: [\w+#-]+){0,3}?)(?: \([^)]{1,40}\))? "
    r"(?P<verb>refers to|is defined as|means|is an?|are) (?P<rest>.+)$")


def _norm(s: str) -> str:
    return re.sub(r"[\s\W_]+", "", s.lower())


def _line_spans(chunk: Chunk):
    """(start, end) of each line's content, with glued-on headings skipped: the splitter prepends a
    section's heading to its first line ('杠铃阅读法在纳西姆……')."""
    heads = [h.strip() for h in (chunk.section or "").split(" > ") if h.strip()]
    pos = 0
    text = chunk.text
    for line in text.split("\n"):
        a, b = pos, pos + len(line)
        pos = b + 1
        left = list(heads)
        stripped = True
        while stripped:  # each heading at most once: the body may start with the heading's words
            stripped = False
            seg = text[a:b].lstrip()
            a = b - len(seg)
            for h in left:
                rest = seg[len(h):].lstrip()
                # English body text may begin with its heading's words ("Retrieval augmented …" under
                # "Retrieval"): a glued heading is followed by a new sentence, i.e. a capital.
                if seg.startswith(h) and rest and (has_cjk(h) or not rest[0].islower()):
                    a += len(h)
                    left.remove(h)
                    stripped = True
                    break
        seg = text[a:b]
        a += len(seg) - len(seg.lstrip())
        b -= len(seg) - len(seg.rstrip())
        if b > a:
            yield a, b


def _good_term(term: str) -> bool:
    t = term.strip()
    low = t.lower()
    if not (2 <= len(t) <= (24 if has_cjk(t) else 40)) or low in _GENERIC_TERMS or t.isdigit() or t.startswith("@"):
        return False
    if re.search(r".第.{1,3}(阶段|章|节|部分)$", t):  # a heading glued onto a label
        return False
    if any(x in t for x in ("http", "`", "$", "\\", "|", "→", "=", "。", "，", ",", "?", "？", "!", "！")):
        return False
    if not has_cjk(t):
        words = low.split()
        if len(words) > 4 or words[0] in _EN_BAD_START:
            return False
    elif _PRONOUN_START.match(t):
        return False
    return bool(re.search(rf"[A-Za-z{CJK_CHARS}]", t))


def _good_statement(s: str) -> bool:
    if any(x in s for x in ("http", "```", "\\(", "$$", "|")):
        return False
    n = len(s) if has_cjk(s) else len(s.split()) * 5
    return 10 <= n <= 160


def _blank(text: str, term: str) -> str:
    return re.sub(re.escape(term), BLANK, text, flags=re.I)


_GLUED_NUMBERED = re.compile(rf"(?<=[{CJK_CHARS}])[一二三四五六七八九十]+、.*$")
_SHORT_TAIL = re.compile(r"(?<=[。！？.!?])[^。！？.!?，,：:；;（）()“”\s]{2,12}$")


def _trim_tail(desc: str, headings: tuple[str, ...]) -> str:
    """The splitter glues the next heading onto a list item ('……受众需求内容创作技能树'): cut it off."""
    for h in headings:
        if len(h) >= 2 and desc.endswith(h) and len(desc) > len(h) + 4:
            return desc[: -len(h)].rstrip()
    m = _GLUED_NUMBERED.search(desc) or _SHORT_TAIL.search(desc)
    return desc[: m.start()].rstrip() if m and m.start() > 4 else desc


def extract_facts(chunk: Chunk, headings: tuple[str, ...] = ()) -> list[Fact]:
    """``headings``: other headings of the chunk's document, to cut glued-on ones from item ends."""
    out: list[Fact] = []
    text = chunk.text
    heads = tuple({*headings, *(h.strip() for h in (chunk.section or "").split(" > ") if h.strip())})
    for a, b in _line_spans(chunk):
        line = text[a:b]
        m = _ITEM.match(line)
        if m:
            term = m.group("term").strip()
            desc = _trim_tail(m.group("desc").strip(), heads)
            end = a + m.start("desc") + len(desc)
            desc = desc.rstrip("。.;；")
            if _good_term(term) and _good_statement(desc):
                out.append(Fact("item", term, _blank(desc, term), a, end, chunk))
            continue
        for sa, sb in sentence_spans(line):
            sent = line[sa:sb]
            sa, sb = a + sa, a + sb
            dm = (_DEF_ZH if has_cjk(sent) else _DEF_EN).match(sent)
            if not dm:
                continue
            term = dm.group("term").strip()
            rest = dm.group("rest").strip()
            if not _good_term(term) or not _good_statement(rest) or _norm(term) in _norm(rest)[:4]:
                continue
            v = dm.start("verb")
            if has_cjk(sent):
                statement = BLANK + sent[v - 1 if sent[v - 1] in "，," else v:]
            else:
                statement = BLANK + " " + sent[v:]
            out.append(Fact("definition", term, _blank(statement, term), sa, sb, chunk))
    return out


# --- the pool of facts (all of the library), cached per index generation --------------------------
class FactPool:
    """The library's facts per index, kept until that index's generation moves: extracting them reads
    every passage, too slow to repeat for each quiz. One per process (``bot.components``), shared by
    the UI's sessions, hence the lock."""

    def __init__(self) -> None:
        self._by_manifest: dict[str, tuple[tuple[int, int], list[Fact]]] = {}
        self._lock = threading.Lock()

    def facts(self, index: Index) -> list[Fact]:
        m = index.manifest
        key = str(m.path)
        gen = (m.generation(), m.disabled_version())  # a source disabled or enabled changes the pool too
        with self._lock:
            hit = self._by_manifest.get(key)
            if hit and hit[0] == gen:
                return hit[1]
        pool = _extract_pool(index)
        with self._lock:
            self._by_manifest[key] = (gen, pool)
        return pool


def library_facts(bot: LibraryBot) -> list[Fact]:
    """Every usable fact in the library, deduplicated (chunk overlaps repeat lines), ambiguous ones out."""
    return bot.fact_pool.facts(bot.index)


def _extract_pool(index: Index) -> list[Fact]:
    m = index.manifest
    facts: dict[str, Fact] = {}
    chunks = m.all_chunks(enabled_only=True)
    heads: dict[str, set[str]] = {}
    for c in chunks:
        for h in (c.section or "").split(" > "):
            heads.setdefault(c.source_hash, set()).add(re.sub(r"^[\d.]+\s*", "", h.strip()))
    for c in chunks:
        for f in extract_facts(c, tuple(heads.get(c.source_hash, ()))):
            facts.setdefault(f.key, f)
    uniq = list(facts.values())
    # A term glossed differently in different places, or a statement that fits two terms, has no
    # single right answer.
    by_term: dict[str, set[str]] = {}
    by_stmt: dict[str, set[str]] = {}
    for f in uniq:
        by_term.setdefault(_norm(f.term), set()).add(_norm(f.statement))
        by_stmt.setdefault(_norm(f.statement), set()).add(_norm(f.term))
    return [f for f in uniq if len(by_term[_norm(f.term)]) == 1 and len(by_stmt[_norm(f.statement)]) == 1]


def documents(bot: LibraryBot) -> list[dict]:
    """Indexed documents for a picker: path, title, lang, chunks."""
    rows = bot.index.manifest.documents()
    return [{"path": r["path"], "title": r["title"] or os.path.basename(r["path"]), "lang": r["lang"] or "en",
             "chunks": r["n_chunks"]} for r in rows]


def match_source(source: str, titles: dict[str, str]) -> str | None:
    """The path in ``titles`` (path -> title) that ``source`` names: the path itself, or the only
    one with that tail or title. Only ever a listed path: ``source`` is never opened itself."""
    if source in titles:
        return source
    ends = [p for p, title in titles.items() if p.endswith("/" + source.lstrip("/")) or title == source]
    return ends[0] if len(ends) == 1 else None


def _resolve_source(bot: LibraryBot, source: str) -> str:
    titles = {d["path"]: d["title"] for d in documents(bot)}
    absolute = os.path.abspath(os.path.expanduser(source))
    found = next((p for p in (source, absolute) if p in titles), None) or match_source(source, titles)
    if found:
        return found
    raise StudyAidError(f"not an indexed source: {source!r} (see `studybot sources`)")


def _selected(bot: LibraryBot, topic: str | None, source: str | None) -> tuple[list[Fact], str | None, str]:
    """Facts to ask about, best first, and the source path and the language of the material."""
    pool = library_facts(bot)
    if source:
        path = _resolve_source(bot, source)
        chosen = [f for f in pool if f.chunk.path == path]
        chosen.sort(key=lambda f: (f.chunk.ordinal, f.start))
        lang = next((d["lang"] for d in documents(bot) if d["path"] == path), None)
        return _spread(chosen), path, lang if lang in ("zh", "en") else detect_lang(" ".join(f.quote for f in chosen))
    topic = (topic or "").strip()
    if not topic:
        raise StudyAidError("give a topic or a source")
    if len(topic) > MAX_TOPIC_CHARS:
        # A topic is searched (embedded, tokenized) as it is: a pasted page would cost every learner time.
        raise StudyAidError(f"the topic is {len(topic)} characters long; keep it under {MAX_TOPIC_CHARS}")
    hits = bot.search(topic, 12)
    # Fused scores are relative: passages far below the best one are about something else.
    hits = [h for h in hits if h.score >= TOPIC_CUTOFF * hits[0].score] if hits else []
    rank = {h.chunk.id: i for i, h in enumerate(hits)}
    chosen = [f for f in pool if f.chunk.id in rank]
    chosen.sort(key=lambda f: (rank[f.chunk.id], f.start))
    return _spread(chosen), None, "zh" if has_cjk(topic) else "en"


def _spread(facts: list[Fact]) -> list[Fact]:
    """Round-robin over passages (definitions first within each) so a quiz covers the material."""
    groups: dict[str, list[Fact]] = {}
    for f in facts:
        groups.setdefault(f.chunk.id, []).append(f)
    for g in groups.values():
        g.sort(key=lambda f: (f.kind != "definition", f.start))
    out: list[Fact] = []
    seen: set[str] = set()
    while any(groups.values()):
        for g in groups.values():
            if g:
                f = g.pop(0)
                if _norm(f.term) not in seen:  # one question per term
                    seen.add(_norm(f.term))
                    out.append(f)
    return out


def _stable(*parts: str) -> int:
    return int(hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:12], 16)


def _distractors(fact: Fact, pool: list[Fact], k: int = 3) -> list[str]:
    """Terms of other facts, same kind and same document first; none a variant of the answer."""
    ans = _norm(fact.term)
    stmt = _norm(fact.statement)
    cjk = has_cjk(fact.term)
    tiers: list[list[tuple[int, str]]] = [[], [], [], []]
    for f in pool:
        t = _norm(f.term)
        if not t or t == ans or t in ans or ans in t or t in stmt:
            continue
        tier = (0 if f.kind == fact.kind else 2) + (0 if f.chunk.source_hash == fact.chunk.source_hash else 1)
        if has_cjk(f.term) != cjk:
            tier = 3
        tiers[tier].append((_stable(fact.key, f.term), f.term))
    out: list[str] = []
    for tier in tiers:
        for _, term in sorted(tier):
            t = _norm(term)
            if all(t != _norm(o) and t not in _norm(o) and _norm(o) not in t for o in out):
                out.append(term)
            if len(out) == k:
                return out
    return out


def _passage(f: Fact) -> Passage:
    c = f.chunk
    return Passage(path=c.path, title=c.title, section=c.section, page=c.page, quote=f.quote, chunk_id=c.id)


def _question(fact: Fact, pool: list[Fact], lang: Lang) -> QuizQuestion | None:
    wrong = _distractors(fact, pool)
    if len(wrong) < 3:
        return None
    options = list(wrong)
    pos = _stable("pos", fact.key) % 4
    options.insert(pos, fact.term)
    t = LABELS[lang]
    stem = t["cloze" if fact.kind == "definition" else "item"].format(s=fact.statement)
    src = _passage(fact)
    return QuizQuestion(id=hashlib.sha1(fact.key.encode()).hexdigest()[:10], kind=fact.kind, question=stem,
                        options=options, answer=pos, explanation=t["explain"].format(a=fact.term, w=src.where()),
                        source=src)


def _lang(lang: str | None, material: str) -> Lang:
    if lang in ("zh", "en"):
        return lang  # type: ignore[return-value]
    if lang not in (None, "", "auto"):
        raise StudyAidError(f"language must be zh or en, got {lang!r}")
    return "zh" if material == "zh" else "en"


def _count(n: int) -> int:
    if not 1 <= int(n) <= MAX_ITEMS:
        raise StudyAidError(f"ask for 1 to {MAX_ITEMS} items, not {n}")
    return int(n)


def make_quiz(bot: LibraryBot, *, topic: str | None = None, source: str | None = None, n: int = 5,
              lang: str | None = None) -> Quiz:
    n = _count(n)
    facts, path, material = _selected(bot, topic, source)
    lang_ = _lang(lang, material)
    pool = library_facts(bot)
    questions: list[QuizQuestion] = []
    for f in facts:
        q = _question(f, pool, lang_)
        if q is not None:
            questions.append(q)
        if len(questions) == n:
            break
    if not questions:
        raise StudyAidError(_nothing(lang_))
    quiz = Quiz(lang=lang_, topic=None if path else topic, source_path=path, questions=questions)
    if bot.settings.study_llm and bot.settings.llm != "none":
        quiz = reword(quiz, bot)
    return quiz


def make_flashcards(bot: LibraryBot, *, topic: str | None = None, source: str | None = None, n: int = 10,
                    lang: str | None = None) -> Deck:
    n = _count(n)
    facts, path, material = _selected(bot, topic, source)
    lang_ = _lang(lang, material)
    t = LABELS[lang_]
    cards = []
    for f in facts[:n]:
        front = t["front_def" if f.kind == "definition" else "front_item"].format(t=f.term)
        back = f.statement.replace(BLANK, f.term)
        cards.append(Flashcard(id=hashlib.sha1(f.key.encode()).hexdigest()[:10], front=front, back=back, source=_passage(f)))
    if not cards:
        raise StudyAidError(_nothing(lang_))
    return Deck(lang=lang_, topic=None if path else topic, source_path=path, cards=cards)


def _nothing(lang: str) -> str:
    return ("这些资料里没有找到适合出题的定义或要点，换一个主题或来源试试。" if lang == "zh" else
            "No definitions or glossary items to build from in that material: try another topic or source.")


# --- optional LLM rewording -----------------------------------------------------------------------
REWORD = {
    "zh": "把下面的测验题改写得更自然、简洁，保留“____”和引号里的原文，不要给出答案。只输出改写后的题目。\n题目：{q}",
    "en": "Rewrite this quiz question to read naturally and concisely. Keep “____” and the quoted text; do not "
          "reveal the answer. Reply with the question only.\nQuestion: {q}",
}


def reword(quiz: Quiz, bot: LibraryBot) -> Quiz:
    """Each stem reworded by the LLM, all within ``study_llm_seconds``; a stem that fails a check,
    errs or is late keeps its deterministic wording."""
    deadline = time.monotonic() + bot.settings.study_llm_seconds
    pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="study-llm")
    out = []
    try:
        model = bot.chat_model()
        for q in quiz.questions:
            left = deadline - time.monotonic()
            if left <= 0:
                out.append(q)
                continue
            fut = pool.submit(model.invoke, REWORD[quiz.lang].format(q=q.question))
            try:
                text = str(getattr(fut.result(timeout=left), "content", "") or "").strip()
            except Exception as e:  # noqa: BLE001 - timeout or provider error: keep the original
                log.info("quiz rewording skipped: %s", e)
                out.append(q)
                continue
            out.append(q.model_copy(update={"question": text}) if _reword_ok(text, q) else q)
    except Exception as e:  # noqa: BLE001 - no model at all
        log.info("quiz rewording unavailable: %s", e)
        return quiz
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return quiz.model_copy(update={"questions": out})


def _reword_ok(text: str, q: QuizQuestion) -> bool:
    """The rewording must keep the blank/quote and must not give the answer away."""
    if not text or len(text) > 2 * len(q.question) + 40 or "\n" in text.strip():
        return False
    if _norm(q.correct) in _norm(text):
        return False
    return BLANK in text if BLANK in q.question else True
