"""Cross-lingual retrieval: translate the question into the library's other language.

e5-small matches an English question to Chinese passages only loosely, and BM25 cannot match
across scripts at all. When the library holds a real share of text in the other language, the
chat model (already loaded for the answer) translates the question — a few dozen tokens — and
both phrasings are searched and fused.
"""
from __future__ import annotations

import re
import threading

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from bot.core.text import has_cjk, question_lang

# A language must hold at least this share of the library's passages to be worth a translation.
MIN_SHARE = 0.05

_PROMPT = {
    "zh": "把下面的问题翻译成简体中文。只输出译文，不要解释，不要回答问题。",
    "en": "Translate the question below into English. Output only the translation; do not answer it or explain.",
}


def target_language(question: str, chunks_by_lang: dict[str, int]) -> str | None:
    """'zh' or 'en' when the question's language differs from a real share of the library's."""
    total = sum(chunks_by_lang.values())
    if not total or not question.strip():
        return None
    target = "en" if question_lang(question) == "zh" else "zh"
    return target if chunks_by_lang.get(target, 0) / total >= MIN_SHARE else None


def first_line(text: str, labels: str) -> str:
    """The first non-empty line of a model's short reply, without a leading label (``labels``: a regex
    alternation such as "译文|translation") or the quotes small models wrap it in; "" when there is none."""
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    return re.sub(rf"^({labels})\s*[:：]\s*", "", lines[0], flags=re.I).strip(" \"'“”「」")


def short_reply(chat, msgs, max_tokens: int) -> str:
    """The text of one short model call. Raises what the chat model raises."""
    # Only the in-process model takes per-call limits; remote ones stop at end of turn anyway.
    kw = {"max_tokens": max_tokens, "temperature": 0.0} if getattr(chat, "_llm_type", "") == "llama-cpp" else {}
    reply = chat.invoke(msgs, **kw)
    return reply.content if isinstance(reply.content, str) else ""


def clean_translation(text: str, question: str, target: str) -> str | None:
    """The first line of the model's output, without quotes or labels; None when it is unusable."""
    out = first_line(text, "译文|翻译|translation")
    # Small models sometimes answer instead of translating: an output far longer than the
    # question, or still in the question's language, would only add noise to retrieval.
    if not out or len(out) > 3 * len(question) + 20:
        return None
    if (target == "zh") != has_cjk(out):
        return None
    # A statement that answers instead ("Mistral 7B was released under the MIT license.") is kept:
    # dropping every non-question was tried and did worse on the dev set, since such outputs still
    # carry the question's key terms.
    return out


class TranslationCache:
    """Translations already made, per chat model, so a repeated question costs no model call. Bounded:
    cleared at ``limit`` entries. One per process (``bot.components.Components.translations``),
    shared by bots with different models; thread-safe, as the UI answers several sessions at once.

    An entry holds its model: the model's id() stays its own while the entry lives, so a later model
    (another bot's) can never be served this one's translations."""

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self._seen: dict[tuple[int, str, str], tuple[object, str | None]] = {}
        self._lock = threading.Lock()

    def get(self, chat, question: str, target: str) -> tuple[bool, str | None]:
        """(known, translation): known is False when ``chat`` has not translated this yet."""
        with self._lock:
            entry = self._seen.get((id(chat), question, target))
        return (True, entry[1]) if entry is not None and entry[0] is chat else (False, None)

    def put(self, chat, question: str, target: str, translation: str | None) -> None:
        with self._lock:
            if len(self._seen) >= self.limit:
                self._seen.clear()
            self._seen[(id(chat), question, target)] = (chat, translation)


# A worked example: small models otherwise render "the first three months" as "第一三个月". (A second
# one, a factual question about a named model, was tried and did worse on the dev set: the 1.5B then
# left English words untranslated — "barbell' 读法是什么？" — and cross-lingual retrieval fell.)
_EXAMPLE = {
    "zh": ("What should I learn in the first two weeks?", "前两周应该学什么？"),
    "en": ("前两周应该学什么？", "What should I learn in the first two weeks?"),
}


def translate(chat, question: str, target: str, max_tokens: int = 64,
              cache: TranslationCache | None = None) -> str | None:
    """Raises what the chat model raises (the caller turns it into the usual LLM-failure message).
    ``cache``: earlier translations to reuse and add to (none: always ask the model)."""
    if cache is not None:
        known, out = cache.get(chat, question.strip(), target)
        if known:
            return out
    ex_q, ex_a = _EXAMPLE[target]
    msgs = [SystemMessage(_PROMPT[target]), HumanMessage(ex_q), AIMessage(ex_a), HumanMessage(question.strip())]
    out = clean_translation(short_reply(chat, msgs, max_tokens), question, target)
    if cache is not None:
        cache.put(chat, question.strip(), target, out)
    return out
