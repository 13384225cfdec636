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
from bot.core.text import CJK_CHARS, detect_lang, has_cjk, sentence_spans, tokenize
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
    kind: Literal["definition", "item", "step", "member", "compare", "cloze"]
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
           "explain": "正确答案是「{a}」。出处：{w}", "front_item": "{t}", "front_def": "什么是{t}？",
           "front_defs": "什么是{t}？",
           "step": "在「{c}」中，“{p}”的下一步是什么？", "front_step": "「{c}」：“{p}”之后是哪一步？",
           "member": "下列哪一项是「{c}」中列出的？", "front_member": "「{c}」列出了哪几项？",
           "compare": "填空（比较）：“{s}”", "front_compare": "比较：“{s}”", "front_cloze": "填空：“{s}”"},
    "en": {"quiz": "Quiz", "cards": "Flashcards", "answer": "Answer and source", "cloze": "Fill in the blank: “{s}”",
           "item": "Which item does this describe: “{s}”?", "explain": "The answer is “{a}”. Source: {w}",
           "front_item": "{t}", "front_def": "What is {t}?", "front_defs": "What are {t}?",
           "step": "In “{c}”, which step comes right after “{p}”?", "front_step": "“{c}”: what comes after “{p}”?",
           "member": "Which of these is listed under “{c}”?", "front_member": "What does “{c}” list?",
           "compare": "Fill in the blank (comparison): “{s}”", "front_compare": "Compare: “{s}”",
           "front_cloze": "Fill in the blank: “{s}”"},
}
BLANK = "____"


# --- facts ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fact:
    """One thing to ask about. ``term`` is always the answer; ``statement`` the stem's text: a sentence
    with the answer blanked (definition, compare, cloze), an item's description (item), the step before
    (step) or the list's lead (member). ``context``: the procedure's or list's name; ``siblings``: the
    other steps or items of the same procedure or list (never distractors for a member question)."""
    kind: str  # definition | item | step | member | compare | cloze
    term: str
    statement: str
    start: int  # quote span in chunk.text
    end: int
    chunk: Chunk
    context: str = ""
    siblings: tuple[str, ...] = ()
    distractors: tuple[str, ...] = ()  # own wrong options (the other side of a comparison, nearby numbers)

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
# A subject that starts with one of these is a clause, not a thing: "To explain how tasks … is a …" made
# the flashcard "What is To explain how tasks?". Verbs (imperatives), infinitives, modals, conjunctions.
_EN_NOT_NOUN_START = {
    "to", "use", "using", "make", "get", "let", "try", "see", "note", "remember", "learn", "explain", "consider",
    "click", "go", "add", "create", "run", "start", "read", "write", "ask", "keep", "find", "do", "does", "did",
    "can", "could", "should", "would", "will", "may", "might", "must", "is", "are", "was", "were", "be", "been",
    "have", "has", "had", "if", "when", "while", "because", "so", "but", "and", "or", "also", "then", "now", "just",
    "only", "not", "for", "in", "on", "at", "by", "with", "from", "as", "of", "how", "why", "where", "who", "whose",
    "both", "either", "neither", "many", "most", "more", "less", "another", "other", "any", "every", "no", "yes",
    "first", "next", "finally", "after", "before", "since", "although", "though", "however", "thus", "instead",
    "give", "take", "put", "set", "build", "define", "imagine", "suppose", "think", "say", "call", "show", "check",
    "notice", "recall", "look", "following", "below", "above"}
# …nor ends like a phrase cut off mid-way ("the output of").
_EN_BAD_END = {"the", "a", "an", "of", "to", "for", "with", "in", "on", "and", "or", "by", "as", "at", "from", "that",
               "this", "its", "their", "is", "are", "be", "can", "will", "which", "who", "we", "you", "they", "it", "i",
               "he", "she", "here", "there"}

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
        if len(words) > 4 or words[0] in _EN_BAD_START or words[0] in _EN_NOT_NOUN_START or words[-1] in _EN_BAD_END:
            return False
        if re.fullmatch(r"[a-z]+(?:ed|ly)", words[0]) and len(words) > 1:  # "Given the …", "Finally the …"
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


# "History The Transformer architecture was…": a heading the splitter glued onto the next sentence.
_GLUED_HEAD = re.compile(r"^[A-Z][\w-]*(?: [\w-]+){0,3} (?=(?:The|A|An|In|On|For|When|This|It|We|You|Most|Many|Each|"
                         r"Unlike|Compared|Popular|Common|Some)\b)")
_GLUED_NUMBERED = re.compile(rf"(?<=[{CJK_CHARS}])[一二三四五六七八九十]+、.*$")
_SHORT_TAIL = re.compile(r"(?<=[。！？.!?])[^。！？.!?，,：:；;（）()“”\s]{2,12}$")


def _trim_tail(desc: str, headings: tuple[str, ...]) -> str:
    """The splitter glues the next heading onto a list item ('……受众需求内容创作技能树'): cut it off."""
    for h in headings:
        if len(h) >= 2 and desc.endswith(h) and len(desc) > len(h) + 4:
            return desc[: -len(h)].rstrip()
    m = _GLUED_NUMBERED.search(desc) or _SHORT_TAIL.search(desc)
    return desc[: m.start()].rstrip() if m and m.start() > 4 else desc


def extract_facts(chunk: Chunk, headings: tuple[str, ...] = (), names: set[str] | frozenset[str] = frozenset()
                  ) -> list[Fact]:
    """``headings``: other headings of the chunk's document, to cut glued-on ones from item ends;
    ``names``: the document's recurring names (see ``document_names``), for name clozes."""
    out: list[Fact] = extract_sequences(chunk)
    text = chunk.text
    heads = tuple({*headings, *(h.strip() for h in (chunk.section or "").split(" > ") if h.strip())})
    for a, b in _line_spans(chunk):
        line = text[a:b]
        m = _ITEM.match(line) if "](#" not in line else None
        if "](#" in line:
            continue
        if m:
            term = m.group("term").strip()
            desc = _trim_tail(m.group("desc").strip(), heads)
            end = a + m.start("desc") + len(desc)
            desc = desc.rstrip("。.;；")
            if _good_term(term) and _good_statement(desc):
                out.append(Fact("item", term, _blank(desc, term), a, end, chunk))
            continue
        for sa, sb in sentence_spans(line):
            glued = None if has_cjk(line[sa:sb]) else _GLUED_HEAD.match(line[sa:sb])
            if glued:
                sa += glued.end()
            sent = line[sa:sb]
            sa, sb = a + sa, a + sb
            dm = (_DEF_ZH if has_cjk(sent) else _DEF_EN).match(sent)
            if not dm:
                other = _compare(sent, sa, sb, chunk) or _cloze(sent, sa, sb, chunk, set(names))
                if other is not None:
                    out.append(other)
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


# --- procedures, lists, comparisons and facts -----------------------------------------------------
_NUMBERED = re.compile(r"^\s*(?:(?P<n>\d{1,2})[.)、]|第(?P<zh>[一二三四五六七八九十]{1,2})步[：:，,、]?|"
                       r"[Ss]tep\s+(?P<en>\d{1,2})[:.)]?)\s*(?P<body>\S.*)$")
_BULLET = re.compile(r"^\s*[-*•+]\s+(?P<body>\S.*)$")
# A numbered list is a procedure (ask "what comes next?") only when it says so; otherwise it is a list.
_PROCEDURE = re.compile(r"步骤|流程|第.步|过程|怎么做|如何|方法|做法|操作|\bsteps?\b|\bhow to\b|\bprocess\b|"
                        r"\bprocedure\b|\bworkflow\b|\bpipeline\b|\bstages\b", re.I)
_ZH_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _clean_item(body: str) -> str:
    """A list line's text as an option: markup and links gone, a "label: explanation" cut to its label."""
    t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", body)
    t = re.sub(r"\*\*|__|`", "", t).strip()
    m = re.match(r"(?P<label>[^：:]{2,30})[：:]", t)
    if m:
        t = m.group("label").strip()
    t = t.rstrip("。.;；,，").strip()
    return t if t in body else ""  # an option must be quotable from the passage as it stands


def _short_enough(item: str) -> bool:
    if any(x in item for x in ("@", "http", "|", "`", "$", "\\")):
        return False
    if has_cjk(item):
        return 2 <= len(item) <= 36
    words = item.lower().split()
    if not words or words[0] in _EN_BAD_START and len(words) < 3 or words[-1] in _EN_BAD_END:
        return False  # "What is", "The": a fragment, not an item
    return len(words) <= 12 and len(item) >= 3


# "常见的解码策略包括：" / "The process has these steps:" name the list without their last words.
_LEAD_TAIL = re.compile(r"(?:主要)?(?:包括|包含|如下|有以下几[个点步种类]|分为|有)$|\s+(?:include|includes|are|has these steps|"
                        r"have these steps|is as follows|are as follows|as follows|the following)$", re.I)


def _lead(prev: str | None, chunk: Chunk) -> str:
    """What a list is about: the line before it when it ends with a colon, else the nearest heading."""
    if prev:
        p = re.sub(r"\*\*|__|`|^#+\s*", "", prev).strip()
        if p.endswith(("：", ":")):
            p = p.rstrip("：:").strip()
            p = re.split(r"(?<=[。！？.!?])\s*", p)[-1].strip() or p  # the sentence that introduces the list
            p = _LEAD_TAIL.sub("", p).strip() or p
            p = p.rstrip("?？")
            if 2 <= len(p) <= (40 if has_cjk(p) else 90):
                return p
    heads = [h.strip() for h in (chunk.section or "").split(" > ") if h.strip()]
    return re.sub(r"^[\d.]+\s*", "", heads[-1]).rstrip("?？") if heads else ""


def _runs(chunk: Chunk) -> list[tuple[str, str, list[tuple[int, int, str]]]]:
    """Runs of ≥3 list lines: (kind "numbered"|"bullet", lead, [(start, end, item text)])."""
    text = chunk.text
    out = []
    spans = list(_line_spans(chunk))
    i = 0
    while i < len(spans):
        a, b = spans[i]
        kind = "numbered" if _NUMBERED.match(text[a:b]) else "bullet" if _BULLET.match(text[a:b]) else None
        if kind is None:
            i += 1
            continue
        j, items, last_n = i, [], None
        while j < len(spans):
            ja, jb = spans[j]
            line = text[ja:jb]
            m = (_NUMBERED if kind == "numbered" else _BULLET).match(line)
            if not m or "](#" in line:
                break  # a table of contents links to headings; it lists nothing to learn
            if kind == "numbered":
                n = int(m.group("n") or m.group("en") or 0) or _ZH_NUM.get(m.group("zh") or "", 0)
                if last_n is not None and n != last_n + 1:
                    break
                last_n = n
            body = m.group("body")
            if body.rstrip().endswith(("：", ":")):
                break  # the splitter glued the next heading and the next list's lead onto this item
            glued = re.search(r" (?=[A-Z][a-z]+ [A-Z][a-z])", body) if not has_cjk(body) else None
            items.append((ja, jb if glued is None else ja + m.start("body") + glued.start(),
                          _clean_item(body[: glued.start()] if glued else body)))
            j += 1
        if len(items) >= 3:
            prev = text[spans[i - 1][0]:spans[i - 1][1]] if i > 0 else None
            if prev and (_NUMBERED.match(prev) or _BULLET.match(prev)):
                # A list item with the next heading and lead glued on: the lead is what follows the heading,
                # which cannot be told apart in Chinese; in English it starts at the last capitalised run.
                # After a sentence's end the lead is whole ("…一个词。常见的解码策略包括："); otherwise there is
                # no telling what the list is about, and no question is better than a wrong one.
                glued = re.search(r"(?<=[。！？.!?])\s*(?P<lead>[^。！？.!?]{2,60}[:：])\s*$", prev)
                if glued is None:
                    i = max(j, i + 1)
                    continue
                prev = glued.group("lead")
            lead = _lead(prev, chunk)
            if not (prev and prev.rstrip().endswith(("：", ":"))):
                # A heading inside the passage beats the passage's own (first) section.
                for pa, pb in reversed(spans[:i]):
                    h = re.match(r"^#{1,6}\s+(?:[\d.]+\s*)?(?P<h>\S.{0,40})$", text[pa:pb])
                    if h:
                        lead = h.group("h").strip().rstrip("?？")
                        break
            out.append((kind, lead, items))
        i = max(j, i + 1)
    return out


def extract_sequences(chunk: Chunk) -> list[Fact]:
    """Procedures ("what comes after X?") and lists ("which of these is listed under …?")."""
    out: list[Fact] = []
    for kind, lead, items in _runs(chunk):
        if len(items) > 3 and not _short_enough(items[-1][2]):
            items = items[:-1]  # the next heading and paragraph glued onto the last item by the splitter
        names = [t for _, _, t in items]
        if not lead or not all(_short_enough(t) for t in names) or len({_norm(t) for t in names}) < len(names):
            continue
        if any(_norm(t) in _norm(lead) for t in names):
            continue
        start, end = items[0][0], items[-1][1]
        procedure = kind == "numbered" and bool(_PROCEDURE.search(lead + " " + (chunk.section or "")))
        if procedure:
            for k in sorted({0, (len(items) - 1) // 2}):  # two questions per procedure at most
                if k + 1 < len(items):
                    out.append(Fact("step", names[k + 1], names[k], start, end, chunk, context=lead,
                                    siblings=tuple(names)))
        else:
            for k in sorted({0, len(items) // 2}):
                out.append(Fact("member", names[k], lead, start, end, chunk, context=lead, siblings=tuple(names)))
    return out


_CMP_AFTER = r"(?=则|更|能|会|可以|不|没有|是|只|需要|往往|通常|的|也)"
_CMP_ZH = [
    re.compile(rf"(?:与|和|跟)(?P<a>[^，。、；：\s]{{2,12}}?)(?:不同|相比|相反|比起来)，(?P<b>[^，。、；：\s]{{2,12}}?){_CMP_AFTER}"),
    re.compile(rf"(?:相比|相较|比起)(?:于)?(?P<a>[^，。、；：\s]{{2,12}}?)，(?P<b>[^，。、；：\s]{{2,12}}?){_CMP_AFTER}"),
]
_EN_NP = r"(?:the |an? )?[A-Za-z][\w+#-]*(?: [\w+#-]+){0,3}?"
_CMP_EN = [
    re.compile(rf"^(?:Unlike|In contrast to|Compared (?:to|with)) (?P<a>{_EN_NP}), (?P<b>{_EN_NP}) "
               r"(?=is|are|does|do|can|has|have|uses|use|requires|require|works|only|needs|need|relies|rely|lets|allows|"
               r"doesn't|don't|cannot|can't|will|may|tends|makes|produces|learns)"),
    re.compile(rf"^(?P<b>{_EN_NP}) (?:is|are) (?:much |far |generally |usually )?(?:more|less|\w+er) (?:\w+ )?than "
               rf"(?P<a>{_EN_NP})[.,;]"),
]


def _compare(sent: str, sa: int, sb: int, chunk: Chunk) -> Fact | None:
    """A comparison sentence, blanked on one side; the other side is always one of the wrong options."""
    if sent.lstrip().startswith(("#", "-", "*", "|", ">")) or _NOT_A_FACT.search(sent):
        return None
    for rx in (_CMP_ZH if has_cjk(sent) else _CMP_EN):
        m = rx.search(sent)
        if not m:
            continue
        a, b = m.group("a").strip(), m.group("b").strip()
        if has_cjk(sent):
            b = re.sub(r"^(?:而|但|则)", "", b)
        else:
            a, b = re.sub(r"^(?:the|an?) ", "", a, flags=re.I), re.sub(r"^(?:the|an?) ", "", b, flags=re.I)
        if not (_good_term(a) and _good_term(b)) or _norm(a) == _norm(b) or _norm(a) in _norm(b) or _norm(b) in _norm(a):
            continue
        stmt = sent[: m.start("b")] + BLANK + sent[m.end("b"):]
        stmt = _blank(stmt, b) if b in stmt else stmt
        if BLANK not in stmt or b in stmt or not _good_statement(stmt):
            continue
        return Fact("compare", b, stmt, sa, sb, chunk, distractors=(a,))
    return None


_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.\-/#@])(?P<num>\d{1,3}(?:,\d{3})+|\d{1,5}(?:\.\d+)?)(?P<sp>\s?)(?P<unit>%|％|年|个月|月|周|天|小时|分钟|秒|倍|亿|万|"
    r"个|种|步|层|篇|次|元|美元|B\b|M\b|K\b|billion\b|million\b|thousand\b|percent\b|tokens?\b|parameters\b|"
    r"layers\b|hours\b|days\b|weeks\b|months\b|years\b|times\b|steps\b|examples\b|GB\b|MB\b)?(?![A-Za-z0-9_\-]|\.\d)")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
# Product and model names: an inner capital (ReAct, RoBERTa, HotPotQA, LLaMA, ChatGPT). Plain capitalised words
# were mostly sentence openers, places in worked examples and table labels.
_NAME = re.compile(r"(?<=[\s（(“\"])(?P<name>[A-Z][a-z]+[A-Z][A-Za-z]*|[A-Z]{2,}[a-z]+[A-Za-z]*)(?=[\s,，。.)）”\"]|$)")
# Citations, figure captions and worked examples (Thought/Action/Observation, Q:/A:) are not facts to learn.
_NOT_A_FACT = re.compile(r"et al|等人|[Ss]ource|来源|出处|Thought \d|Action|Observation|\bQ:|\bA:|问：|答：|`|\[\d+\]|"
                         r"https?:|!\[|首页|推荐阅读|关注|点赞|观察[:：]|思考[:：]|操作[:：]|\bvs\.?\b|Final Answer|^[》」）)\]，。、：:；;,.]")
_NOT_NAMES = {"The", "This", "That", "These", "Those", "When", "While", "What", "Which", "How", "Why", "Where", "For", "In",
              "On", "And", "But", "Or", "If", "It", "Its", "We", "You", "They", "Our", "Your", "Here", "There", "Note",
              "Step", "Figure", "Table", "Example", "Examples", "Chapter", "Section", "Prompt", "Output", "Input", "Answer",
              "Question", "Text", "Let", "First", "Then", "Next", "Finally", "However", "Also", "Some", "Many", "Most",
              "Each", "All", "One", "Two", "Three", "Now", "Today", "Source", "Sources", "English", "Chinese"}


def _nearby_numbers(num: str, unit: str) -> tuple[str, ...]:
    """Three wrong values of the same form: nearby years, or the number halved, doubled and half as big again."""
    try:
        v = float(num.replace(",", ""))
    except ValueError:
        return ()
    decimals = len(num.split(".")[1]) if "." in num else 0
    if _YEAR.match(num) and unit in ("", "年"):
        cands = [v - 2, v + 1, v + 3, v - 1]
    elif unit in ("%", "％", "percent") and v <= 100:
        cands = [x for x in (v - 20, v + 20, v - 10, v + 10, v / 2) if 0 < x < 100]
    elif v <= 10 and decimals == 0:
        cands = [x for x in (v + 1, v - 1, v + 2, v * 2, v + 3) if x > 0]
    else:
        cands = [v * 2, v / 2, v * 1.5, v * 3]

    def fmt(x: float) -> str:
        text = f"{x:.{decimals}f}" if decimals else str(int(round(x)))
        if "," in num:
            text = f"{int(round(x)):,}"
        return text
    out = []
    for x in cands:
        t = fmt(x)
        if t != num and t not in out and not (t in num or num in t):
            out.append(t)
    return tuple(out[:3])


def _cloze(sent: str, sa: int, sb: int, chunk: Chunk, names: set[str]) -> Fact | None:
    """A fact sentence (a number, a year or a name in it), blanked on that fact."""
    body = sent.strip()
    cjk = has_cjk(body)
    if not _good_statement(body) or body.endswith(("?", "？", ":", "：")) or body.startswith(("#", "-", "*", "|", ">")):
        return None
    if _NOT_A_FACT.search(body):
        return None
    if cjk:
        if _PRONOUN_START.match(body) or not body.endswith(("。", "！", "；")):
            return None
    else:
        first = body.split()[0].lower()
        if not body[0].isupper() or first in _EN_BAD_START or not body.endswith((".", "!")):
            return None
    for m in _NUMBER.finditer(sent):
        num, unit = m.group("num"), m.group("unit") or ""
        if m.start() == 0 or re.match(r"\d+(?:\.\d+)+\s", sent[m.start():]):
            continue  # "1.4 本文结构": a section number, not a quantity
        if not unit and not (_YEAR.match(num) and re.search(r"\b(?:in|In|since|Since|by|By)\s$", sent[: m.start()])):
            continue  # a bare number is usually a list index, a version, a citation's year or part of a name
        if sent.count(m.group(0)) > 1:
            continue
        wrong = _nearby_numbers(num, unit)
        if len(wrong) < 3:
            continue
        answer = sent[m.start():m.end()]
        sp = m.group("sp")
        stmt = sent[: m.start()] + BLANK + sent[m.end():]
        return Fact("cloze", answer, stmt, sa, sb, chunk, distractors=tuple(f"{w}{sp}{unit}" for w in wrong))
    for m in _NAME.finditer(sent):
        name = m.group("name")
        if name in _NOT_NAMES or name not in names or sent.count(name) > 1:
            continue
        others = tuple(sorted(n for n in names if n != name and n not in sent and _norm(n) not in _norm(name)
                              and _norm(name) not in _norm(n)))
        if len(others) < 3:
            continue
        stmt = sent.replace(name, BLANK)
        return Fact("cloze", name, stmt, sa, sb, chunk,
                    distractors=tuple(sorted(others, key=lambda n: _stable(sent, n))[:3]))
    return None


def document_names(chunks: list[Chunk]) -> set[str]:
    """Capitalised names a document uses more than once (products, people, organisations)."""
    seen: dict[str, int] = {}
    for c in chunks:
        for m in _NAME.finditer(c.text):
            seen[m.group("name")] = seen.get(m.group("name"), 0) + 1
    return {n for n, k in seen.items() if k >= 2 and n not in _NOT_NAMES}


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
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.source_hash, []).append(c)
        for h in (c.section or "").split(" > "):
            heads.setdefault(c.source_hash, set()).add(re.sub(r"^[\d.]+\s*", "", h.strip()))
    names = {doc: document_names(cs) for doc, cs in by_doc.items()}
    for c in chunks:
        for f in extract_facts(c, tuple(heads.get(c.source_hash, ())), names.get(c.source_hash, set())):
            facts.setdefault(f.key, f)
    uniq = list(facts.values())
    # A term glossed differently in different places, or a statement that fits two terms, has no
    # single right answer. (Other kinds carry their own context: a name may be in many sentences.)
    glossed = [f for f in uniq if f.kind in ("definition", "item")]
    by_term: dict[str, set[str]] = {}
    by_stmt: dict[str, set[str]] = {}
    for f in glossed:
        by_term.setdefault(_norm(f.term), set()).add(_norm(f.statement))
        by_stmt.setdefault(_norm(f.statement), set()).add(_norm(f.term))
    return [f for f in uniq if f.kind not in ("definition", "item")
            or (len(by_term[_norm(f.term)]) == 1 and len(by_stmt[_norm(f.statement)]) == 1)]


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
    # Retrieval finds passages near the topic; a passage also holds sentences about other things (the
    # paragraph after 杠铃阅读法 is about something else), so each fact must itself be about the topic.
    chosen = [f for f in pool if f.chunk.id in rank and about_topic(f, topic)]
    if not chosen:
        # No fact names the topic in the learner's words ("信息来源" asked, "信息源" written): the best
        # passages' facts that share one of its words, rather than no quiz at all.
        chosen = [f for f in pool if rank.get(f.chunk.id, FALLBACK_PASSAGES) < FALLBACK_PASSAGES
                  and about_topic(f, topic, share=0.0)]
    chosen.sort(key=lambda f: (rank[f.chunk.id], f.start))
    return _spread(chosen), None, "zh" if has_cjk(topic) else "en"


TOPIC_SHARE = 0.6  # of the topic's words (Chinese: character pairs) a fact's text or heading must hold
FALLBACK_PASSAGES = 3  # when no fact holds that share: the best passages whose facts share one word


def _topic_units(text: str) -> set[str]:
    """Chinese: character pairs ("杠铃阅读法" -> 杠铃 铃阅 阅读 读法), so 杠铃式阅读法 still matches;
    other scripts: stemmed content words."""
    units: set[str] = set()
    for run in re.findall(rf"[{CJK_CHARS}]+", text):
        units |= {run[i:i + 2] for i in range(len(run) - 1)} if len(run) > 1 else {run}
    latin = re.sub(rf"[{CJK_CHARS}]+", " ", text)
    units |= {t for t in tokenize(latin) if len(t) > 1}
    return units


def about_topic(f: Fact, topic: str, share: float = TOPIC_SHARE) -> bool:
    """Whether a fact is about ``topic``: the topic's words in the fact's own text (its quote, answer and
    stem) or in the heading it sits under; an acronym topic ("RAG") must appear as a word."""
    want = _topic_units(topic)
    if not want:
        return False
    heads = [h.strip() for h in (f.chunk.section or "").split(" > ") if h.strip()]
    for text in (f.quote + " " + f.term + " " + f.context, heads[-1] if heads else ""):
        have = _topic_units(text)
        if len(want & have) >= max(1, share * len(want)):
            return True
    return False


KIND_ORDER = ("definition", "compare", "step", "member", "item", "cloze")


def _spread(facts: list[Fact]) -> list[Fact]:
    """Round-robin over passages (definitions first within each) so a quiz covers the material."""
    groups: dict[str, list[Fact]] = {}
    for f in facts:
        groups.setdefault(f.chunk.id, []).append(f)
    for g in groups.values():
        g.sort(key=lambda f: (KIND_ORDER.index(f.kind), f.start))
    out: list[Fact] = []
    seen: set[str] = set()
    while any(groups.values()):
        for g in groups.values():
            if g:
                f = g.pop(0)
                # One question per term, and one per list: its members' questions read the same.
                keys = {_norm(f.term)} | ({"list:" + _norm(f.statement)} if f.kind == "member" else set())
                if not keys & seen:
                    seen |= keys
                    out.append(f)
    return out


def _stable(*parts: str) -> int:
    return int(hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:12], 16)


def _distinct(term: str, taken: list[str]) -> bool:
    t = _norm(term)
    return bool(t) and all(t != _norm(o) and t not in _norm(o) and _norm(o) not in t for o in taken)


def _distractors(fact: Fact, pool: list[Fact], k: int = 3) -> list[str]:
    """The fact's own wrong options first (the other side of a comparison, nearby numbers, the other steps
    of its procedure); then answers of other facts, same kind and same document first; never a variant of
    the answer, never another item of the same list (that would be right too)."""
    ans = _norm(fact.term)
    stmt = _norm(fact.statement)
    # Options in the question's material's language: a list's is its lead's ("学习资源" lists "Fast.ai" too).
    cjk = has_cjk(fact.context) if fact.kind == "member" else has_cjk(fact.term)
    out: list[str] = []
    own = list(fact.distractors)
    if fact.kind == "step":  # the procedure's other steps, except the one asked about and the answer
        own += [x for x in fact.siblings if _norm(x) not in (ans, stmt)]
    for term in own:
        if _norm(term) != ans and _distinct(term, [fact.term, *out]) and len(out) < k:
            out.append(term)
    if fact.kind == "cloze" or len(out) == k:
        return out  # a number or a name is only ever confused with its own kind
    banned = {_norm(x) for x in fact.siblings}
    tiers: list[list[tuple[int, str]]] = [[], [], [], []]
    for f in pool:
        t = _norm(f.term)
        if not t or t == ans or t in ans or ans in t or t in stmt or t in banned or f.kind == "cloze":
            continue
        if has_cjk(f.term) != cjk:
            continue  # an option in the other language gives itself away
        same_doc = f.chunk.source_hash == fact.chunk.source_hash
        if fact.kind == "member":
            # Lists of one document nest (an "open-source projects" list inside "resources"): an item listed
            # elsewhere in the same document may be under the asked heading too. Other documents' items are not.
            if same_doc:
                continue
            tier = 0 if f.kind in ("member", "step") else 2
        else:
            tier = (0 if f.kind == fact.kind else 2) + (0 if same_doc else 1)
        tiers[tier].append((_stable(fact.key, f.term), f.term))
    for tier in tiers:
        for _, term in sorted(tier):
            if _distinct(term, [fact.term, *out]):
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
    if fact.kind == "step":
        stem = t["step"].format(c=fact.context, p=fact.statement)
    elif fact.kind == "member":
        stem = t["member"].format(c=fact.context)
    elif fact.kind == "item":
        stem = t["item"].format(s=fact.statement)
    else:
        stem = t["compare" if fact.kind == "compare" else "cloze"].format(s=fact.statement)
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
    fronts: set[str] = set()
    for f in facts:
        front, back = card_text(f, t)
        if front in fronts:  # two items of one list make the same card
            continue
        fronts.add(front)
        if len(cards) == n:
            break
        cards.append(Flashcard(id=hashlib.sha1(f.key.encode()).hexdigest()[:10], front=front, back=back, source=_passage(f)))
    if not cards:
        raise StudyAidError(_nothing(lang_))
    return Deck(lang=lang_, topic=None if path else topic, source_path=path, cards=cards)


def card_text(f: Fact, t: dict[str, str]) -> tuple[str, str]:
    """A flashcard's front and back for each kind of fact, in the labels' language."""
    if f.kind == "definition":
        plural = not has_cjk(f.term) and f.statement.startswith(BLANK + " are ")
        return t["front_defs" if plural else "front_def"].format(t=f.term), f.statement.replace(BLANK, f.term)
    if f.kind == "step":
        return t["front_step"].format(c=f.context, p=f.statement), f.term
    if f.kind == "member":
        sep = "、" if has_cjk("".join(f.siblings)) else "; "
        return t["front_member"].format(c=f.context), sep.join(f.siblings)
    if f.kind in ("compare", "cloze"):
        full = f.statement.replace(BLANK, f.term)
        return t["front_compare" if f.kind == "compare" else "front_cloze"].format(s=f.statement), f"{f.term} — {full}"
    return t["front_item"].format(t=f.term), f.statement.replace(BLANK, f.term)


def _nothing(lang: str) -> str:
    return ("这些资料里没有找到适合出题的内容（定义、步骤、列表、比较或事实），换一个主题或来源试试。" if lang == "zh" else
            "Nothing to build from in that material (no definitions, steps, lists, comparisons or facts on the "
            "topic): try another topic or source.")


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
