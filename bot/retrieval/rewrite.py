"""Follow-ups made standalone by the chat model: "Which models use it?" after "What is BPE tokenization?"
becomes "Which models use BPE tokenization?", a question retrieval can match on its own words.

The rule-based rewrite (``query_plan.contextual_query``) glues the last question in front of the
follow-up: it keeps the topic but also every word of the old question, which pulls the old passages
back. The model is asked only when the rule sees a follow-up, and its output is kept only when it is
a short question in the follow-up's own language; otherwise the rule's query stands.
"""
from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from bot.core.text import has_cjk, question_lang
from bot.retrieval.translate import first_line, short_reply

_PROMPT = {
    "zh": "把用户的追问改写成一个独立、完整的问题，补上它指代的内容。只输出改写后的问题，不要回答，不要解释。",
    "en": "Rewrite the follow-up as one standalone question, filling in what it refers to from the previous "
          "question. Output only the rewritten question; do not answer or explain.",
}
_TURN = {"zh": "上一个问题：{prev}\n追问：{q}", "en": "Previous question: {prev}\nFollow-up: {q}"}
# A worked example keeps a small model from answering instead of rewriting.
_EXAMPLE = {
    "zh": (("第一阶段要学什么？", "那第二阶段呢？"), "第二阶段要学什么？"),
    "en": (("What is BPE tokenization?", "Which models use it?"), "Which models use BPE tokenization?"),
}


def clean_rewrite(text: str, question: str, previous: str) -> str | None:
    """The first line of the model's output without labels or quotes; None when it is unusable."""
    out = first_line(text, "改写后的问题|改写|问题|rewritten question|question")
    # An answer instead of a question runs long; a question in the other language would search the
    # wrong half of the library.
    if not out or len(out) > 2 * (len(question) + len(previous)) + 20 or has_cjk(out) != has_cjk(question):
        return None
    return out


def rewrite_followup(chat, previous: str, question: str, max_tokens: int = 64) -> str | None:
    """Raises what the chat model raises."""
    lang = question_lang(question)
    (ex_prev, ex_q), ex_a = _EXAMPLE[lang]
    msgs = [SystemMessage(_PROMPT[lang]),
            HumanMessage(_TURN[lang].format(prev=ex_prev, q=ex_q)), AIMessage(ex_a),
            HumanMessage(_TURN[lang].format(prev=previous.strip(), q=question.strip()))]
    return clean_rewrite(short_reply(chat, msgs, max_tokens), question, previous)
