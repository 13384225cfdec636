"""Query planning, the first retrieval stage: what to search for a question. A follow-up
("那第二阶段呢？") borrows the last user turn (``contextual_query``)."""
from __future__ import annotations

import re

from bot.core.text import has_cjk

_REFERENTIAL = re.compile(
    r"^(那|那么|这|它|他们|其|还有|然后|接下来|下一|上面|之后)|呢[？?]?$|\b(it|its|this|that|these|those|they|them|then|next|the second|the third)\b"
    r"|^(and|but|so|also)\b|\b(what|how) about\b",
    re.I,
)


BORROW_CHARS = 200


def contextual_query(question: str, history: list[dict] | None) -> str:
    """Rewrite a follow-up ("那第二阶段呢？") into a standalone retrieval query using the last user turn."""
    if not history:
        return question
    prev = next((m.get("content") for m in reversed(history) if m.get("role") == "user" and m.get("content")), None)
    if not isinstance(prev, str) or not prev.strip():
        return question
    q = question.strip()
    # Only a fragment ("多久？", "why?") leans on the last turn by length alone; a short question
    # with its own subject ("What is the barbell reading method?") stands on its own.
    fragment = len(re.sub(r"\W", "", q)) <= 4 if has_cjk(q) else len(q.split()) <= 2
    if fragment or _REFERENTIAL.search(q):
        # The turn borrowed is clipped as the prompt clips it: whole, a pasted page (refused as a
        # question) came back inside every short follow-up's query and slowed everyone's search.
        prev = prev.strip()[:BORROW_CHARS]
        if _ORDINAL.search(q):
            # "那第二阶段呢？" after "第一阶段学什么？": the new number replaces the old one. Kept, the
            # old one matches every sibling passage ("第一/三/六阶段…") as well as the one asked for.
            prev = re.sub(r"\s+", " ", _ORDINAL.sub("", prev)).strip() or prev
        return f"{prev} {q}"
    return question


# An ordinal or numbered item: 第二阶段 / 第3章 / step 2 / the second / chapter 5.
_ORDINAL = re.compile(
    r"第\s*[一二三四五六七八九十百\d]+|\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\b"
    r"|\b(?:step|stage|phase|part|chapter|week|month|lesson|level)\s*\d+\b",
    re.I,
)
