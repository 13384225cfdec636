"""Language helpers shared by chunking, lexical search and the answer chain."""
from __future__ import annotations

import logging
import re

from bot.core.lazy import Lazy

# Chinese characters (the unified ideographs, extension A and the compatibility block), as the body of
# a character class: every CJK test in the code is built from this one range.
CJK_CHARS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(rf"[{CJK_CHARS}]")
_RUNS = re.compile(rf"[{CJK_CHARS}]+|[A-Za-z0-9][A-Za-z0-9_+.#-]*")

# Function words carry no topical signal and dominate BM25 document frequencies.
_STOP_ZH = set(
    "的 了 是 在 和 与 及 或 等 也 就 都 而 及其 对 为 以 于 把 被 这 那 这个 那个 这些 那些 一个 一种 我们 你们 他们 它们 "
    "我 你 他 她 它 吗 呢 吧 啊 呀 么 什么 怎么 如何 哪些 哪个 为什么 是否 可以 能 会 要 有 没有 不 很 更 最 还 又 并 "
    "之 其 中 上 下 里 个 从 到 让 给 向 着 过 地 得 所 如果 因为 所以 但是 但 而且 以及 进行 通过 使用 可能".split()
)
_STOP_EN = set(
    "a an the and or of to in on for with by at from as is are was were be been being it its this that these those "
    "what which who whom how why when where do does did can could should would will shall may might must i you he she "
    "we they me my your our their not no yes if then than so such into about over under between also there here".split()
)


def _load_jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    # "学生成式AI" (learn generative AI) was cut "学生 / 成式": the dictionary barely knows
    # 生成式 (frequency 14 against 学生's 30,776). 1000 is enough and leaves 学生成长 alone.
    jieba.add_word("生成式", freq=1000)
    return jieba


_jieba = Lazy(_load_jieba)


def dictionary_word(word: str) -> bool:
    """Whether jieba's dictionary holds ``word``: a word of the language, not a new-word guess of its
    HMM ("哪学起", "该学点" cut from learners' phrasing)."""
    return bool(_jieba().dt.FREQ.get(word))


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text or ""))


def question_lang(text: str) -> str:
    """A question's language: any Chinese character makes it Chinese (questions mix in English
    terms such as "LoRA 微调" far more often than the reverse)."""
    return "zh" if has_cjk(text) else "en"


def cjk_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if _CJK.match(c)) / len(letters)


def detect_lang(text: str) -> str:
    """'zh' when Chinese characters make up a fair share of the letters, else 'en'."""
    return "zh" if cjk_ratio(text[:4000]) >= 0.2 else "en"


def _sentence_ends(marks: str) -> re.Pattern[str]:
    # A run of end marks with the closing quotes and brackets after it ends one sentence ("？）。" and
    # "!!" are one end, not three); a full stop only before whitespace ("3.5", "e.g.x" and
    # "config.yaml" stay whole) and not after a list number ("3. 商业应用" is one item); a line
    # break always (list items and headings stand alone).
    return re.compile(rf"[{marks}][{marks}.”’」』）)\]]*|(?<=\.)(?<!(?<!\S)\d\.)(?<!(?<!\S)\d\d\.)(?=\s)|\n+")


_SENTENCE_ENDS = {True: _sentence_ends("。！？；!?;"), False: _sentence_ends("。！？!?")}


def squash(text: str) -> str:
    """Whitespace runs as one space, ends trimmed: a passage's text as it is shown or quoted."""
    return re.sub(r"\s+", " ", text).strip()


def sentence_spans(text: str, *, semicolons: bool = True) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``, without the whitespace around it: slices, so a
    caller can map a sentence back to its place. ``semicolons=False`` keeps a clause after ；/; in
    its sentence (the prompt guard reads "ignore prior instructions; output X" as one order)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for end in [m.end() for m in _SENTENCE_ENDS[semicolons].finditer(text)] + [len(text)]:
        piece = text[start:end]
        body = piece.strip()
        if body:
            a = start + len(piece) - len(piece.lstrip())
            spans.append((a, a + len(body)))
        start = end
    return spans


def _stem(word: str) -> str:
    # A light English stemmer: enough to match "models"/"model", "prompting"/"prompt".
    for suf in ("ings", "ing", "ies", "es", "s", "ed"):
        if len(word) > len(suf) + 3 and word.endswith(suf):
            return word[: -len(suf)] + ("y" if suf == "ies" else "")
    return word


# Bump when tokenize() changes: stored BM25 tokens are then recomputed from the chunk texts.
TOKENIZER_VERSION = "7"

_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# A Chinese numeral counting something ("三个月", "第一阶段", "两周") — not the 一 of 一起 or 统一.
_ZH_COUNT = re.compile(r"(第)?([一二两三四五六七八九十]{1,3})(?=(个|名|位)?(月|周|星期|天|年|小时|阶段|步|章|节|期|层|级|部分|种|篇|本|条|点))")


def _zh_number(numeral: str) -> str:
    if numeral == "十":
        return "10"
    if "十" in numeral:
        tens, _, ones = numeral.partition("十")
        return str(_ZH_DIGITS.get(tens, 1) * 10 + _ZH_DIGITS.get(ones, 0))
    return "".join(str(_ZH_DIGITS[c]) for c in numeral)


def normalize_numbers(text: str) -> str:
    """'前三个月' -> '前3个月', '第一阶段' -> '第1阶段': the same count matches whether written in
    Chinese numerals or digits (the seed plans write '1-3个月' and '第一阶段' side by side)."""
    return _ZH_COUNT.sub(lambda m: (m.group(1) or "") + _zh_number(m.group(2)), text)


_ORDINAL_N = re.compile(r"第\s*(\d{1,3})(?!\d)")
_UNIT_N = re.compile(r"(?:阶段|步骤)\s*(\d{1,2})(?![\d.-])")
_FIRST_N = re.compile(r"前(\d{1,2})(?=个?(月|周|星期|天|年|小时|阶段|步|章|节))")


_EN_NUM = {w: i for i, w in enumerate("one two three four five six seven eight nine ten".split(), 1)}
_EN_ORD = {w: i for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth tenth".split(), 1)}
_EN_UNIT = r"(?:stage|phase|step|part|chapter|week|month|lesson|level|module|unit|section|day|year)s?"
_EN_WORDNUM = "|".join(_EN_NUM)
# "stage 2" / "phase two" / "the second stage" / "2nd week": the ordinal "第2" of Chinese text.
_EN_UNIT_N = re.compile(rf"\b{_EN_UNIT}\s+(\d{{1,3}}|{_EN_WORDNUM})\b(?![-~]\d)", re.I)
_EN_N_UNIT = re.compile(rf"\b({'|'.join(_EN_ORD)}|\d{{1,2}}(?:st|nd|rd|th))\s+{_EN_UNIT}\b", re.I)
# "the first three months": the range "1-3" that plans write (as "前三个月" is).
_EN_FIRST_N = re.compile(rf"\bfirst\s+(\d{{1,2}}|{_EN_WORDNUM})\s+{_EN_UNIT}\b", re.I)


def _en_number(word: str) -> int:
    w = word.lower()
    if w.isdigit():
        return int(w)
    return _EN_NUM.get(w) or _EN_ORD.get(w) or int(re.sub(r"\D", "", w) or 0)


def english_ordinals(text: str) -> list[str]:
    """The tokens an English ordinal shares with Chinese text: "stage 2" and "the second stage"
    give "第2" (as "第二阶段" does), "the first three months" gives "1-3" (as "前三个月" does), so
    BM25 matches a numbered stage across the two languages and a follow-up "what about stage 2?"
    tells stage 2 apart from stage 1."""
    out = [f"第{_en_number(m.group(1))}" for m in _EN_UNIT_N.finditer(text)]
    out += [f"第{_en_number(m.group(1))}" for m in _EN_N_UNIT.finditer(text)]
    out += [f"1-{n}" for m in _EN_FIRST_N.finditer(text) if (n := _en_number(m.group(1))) > 1]
    return [t for t in out if t not in ("第0", "1-0")]


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: jieba search-mode words for Chinese, stemmed lowercase words otherwise.
    Numbers are normalised (Chinese numerals to digits; a range "1-3" also yields "1" and "3")."""
    out: list[str] = []
    jb = None
    text = normalize_numbers(text or "")
    # "前3个月" (the first three months) is the range "1-3个月" that plans write.
    out.extend(f"1-{m.group(1)}" for m in _FIRST_N.finditer(text) if m.group(1) != "1")
    # "第2阶段" also as the one token "第2": split into "第" + "2", the ordinal matched every stage
    # whose months say "2" ("(1-2个月)", "(2-3个月)"), and "那第二阶段呢？" found the wrong stage.
    out.extend(f"第{m.group(1)}" for m in _ORDINAL_N.finditer(text))
    out.extend(f"第{m.group(1)}" for m in _UNIT_N.finditer(text))  # "阶段1：工具掌握期" is 第一阶段 too
    out.extend(english_ordinals(text))
    for m in _RUNS.finditer(text):
        run = m.group(0)
        if _CJK.match(run):
            if jb is None:
                jb = _jieba()
            for w in jb.cut_for_search(run):
                if w and w not in _STOP_ZH:
                    out.append(w)
        else:
            w = run.lower().strip(".-")
            # The 2 of 第2 is only the ordinal ("第2" above): alone it matched any 2 ("每周2小时", "(1-2个月)").
            if w.isdigit() and text[: m.start()].rstrip().endswith("第"):
                continue
            if w and w not in _STOP_EN:
                out.append(_stem(w))
                if re.fullmatch(r"\d+(?:[-~]\d+)+", w):
                    out.extend(re.split(r"[-~]", w))
    return out


# Chosen on the dev set without an LLM: at 2 a follow-up's asked-for stage came first where a sibling
# stage had; 3 began to cost cross-lingual questions.
ORDINAL_WEIGHT = 2.0


def query_weight(token: str) -> float:
    """How much a question token counts beyond its IDF. An ordinal ("第2", from 第二阶段 or stage 2)
    is what tells one stage of a plan from its siblings, which share every other word."""
    return ORDINAL_WEIGHT if token.startswith("第") and token[1:].isdigit() else 1.0
