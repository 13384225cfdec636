"""Chat turns for the UI: the bot's streamed answer plus a collapsible sources message.

Kept free of Gradio widgets so the same functions serve the browser, the `chat` API endpoint
and the tests.
"""
from __future__ import annotations

import json
import logging
import os
import re
from typing import Any, Iterator

from bot.answering.chain import answer_lang
from bot.answering.evidence import Evidence
from bot.answering.followups import suggest_followups
from bot.core.citation import cite_label
from bot.core.types import Citation
from bot.service import Answer, StudyBot
from ui.answer_log import AnswerLog
from ui.viewer import source_url

logger = logging.getLogger("studybot")

SOURCES_TITLE = {"zh": "📚 来源（{n}）", "en": "📚 Sources ({n})"}
# When the model found no answer in them, the passages are not sources of its reply: say what they are.
# Worded as the model's finding, not ours: a small model also declines passages that do answer
# (seen: an English question over the Chinese passage holding the figures).
CLOSEST_TITLE = {"zh": "🔍 最接近的段落（{n}，模型未从中找到答案）",
                 "en": "🔍 Closest passages ({n}; the model found no answer in them)"}
STATUS_NOTE = {
    "retrieval_only": {"zh": "仅检索模式", "en": "retrieval only"},
    "llm_error": {"zh": "语言模型不可用，已显示相关段落", "en": "model unavailable, passages shown"},
    "declined": {"zh": "资料未覆盖", "en": "not covered"},
    "plan": {"zh": "来自你保存的路线图", "en": "from your roadmap"},
    "ungrounded": {"zh": "回答缺少资料依据，已换成资料原文", "en": "answer not supported by the library: evidence shown instead"},
    "restated": {"zh": "回答只复述了问题，已换成资料原文", "en": "answer only restated the question: evidence shown instead"},
    "unmentioned": {"zh": "问题问到的内容资料中没有，未让模型作答", "en": "the library never mentions what was asked about: the model was not asked"},
}
SEARCHING = {"zh": "🔎 正在资料库中查找…", "en": "🔎 Searching the library…"}
# Shown open above the answer, before the model's first token; a titled message, so it is never read
# back as conversation history (plain_history) and the learner can fold it away.
EVIDENCE_TITLE = {"zh": "📌 资料原文（{n}）", "en": "📌 From the library ({n})"}
WRITING = {"zh": "✍️ 正在根据资料作答…", "en": "✍️ Writing the answer from these passages…"}
# Found while other learners' answers are written, before the gate and the translation judged it.
TENTATIVE_TITLE = {"zh": "🔍 初步找到的资料（{n}，尚待核对）", "en": "🔍 First look at the library ({n}, not yet checked)"}
QUEUED = {"zh": "⏳ 模型正在回答其他同学的问题：前面还有 {n} 个", "en": "⏳ The model is answering other learners first: {n} ahead of you"}
QUEUED_ETA = {"zh": "，预计约 {s} 秒后轮到你", "en": ", about {s} s until your turn"}


def queued_text(ahead: int, eta_s: float | None, lang: str) -> str:
    text = QUEUED[lang].format(n=ahead)
    if eta_s is not None:
        text += QUEUED_ETA[lang].format(s=max(5, int(round(eta_s / 5) * 5)))
    return text + ("。" if lang == "zh" else ".")
# Only the exception's type reaches the learner: its text can name server paths (the log has it all).
FAILED = {"zh": "⚠️ 出错了，请稍后再试：{err}", "en": "⚠️ Something went wrong, please try again: {err}"}


def content_text(content: Any) -> str:
    """Gradio history content may be a string, a list of typed blocks, or a component dict."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    if isinstance(content, (list, tuple)):
        return "".join(content_text(c) for c in content)
    return ""


def _field(m: Any, name: str) -> Any:
    return m.get(name) if isinstance(m, dict) else getattr(m, name, None)


# Only the last exchanges matter (a follow-up reads the one before it); the history is the client's
# to send, so how much of it is read and kept is bounded here.
HISTORY_MESSAGES = 12
HISTORY_CHARS = 4000


def plain_history(history: list | None, max_question_chars: int | None = None) -> list[dict]:
    """The recent conversation without the app's own sources/status messages. A user turn longer than
    ``max_question_chars`` was refused as a question, so it and the reply to it are left out: kept,
    it came back inside every short follow-up's search."""
    out: list[dict] = []
    refused = False
    for m in list(history or [])[-HISTORY_MESSAGES:]:
        meta = _field(m, "metadata") or {}
        if isinstance(meta, dict) and meta.get("title"):
            continue
        role = _field(m, "role")
        text = content_text(_field(m, "content")).strip()
        if role == "user":
            refused = max_question_chars is not None and len(text) > max_question_chars
        if role in ("user", "assistant") and text and not refused:
            out.append({"role": role, "content": text[:HISTORY_CHARS]})
    return out


def _where(c: Citation) -> str:
    # A passage without a title is named by its file.
    return cite_label(c.title or os.path.basename(c.path), c.section, c.page, date=c.date, ocr=c.ocr)


_WEB_LINK = re.compile(r"https?://[^\s<>\"'`]+\Z", re.I)


def link_markdown(url: str | None) -> str:
    """A passage's web address as a Markdown link (a newsletter item's article), or "" for anything
    but a plain http(s) address: library text must not plant javascript: or data: links."""
    if not url or not _WEB_LINK.match(url):
        return ""
    target = url.replace("(", "%28").replace(")", "%29")
    shown = re.sub(r"^https?://(www\.)?", "", url, flags=re.I).rstrip("/")
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    return f"[{_md(shown)}]({target})"


VIEW = "🔎 查看原文 / view in source"


def view_link(chunk_id: str, quote: str = "", label: str = VIEW) -> str:
    """A Markdown link to the source viewer (ui/viewer.py), or "" without a chunk id. Gradio's chat opens
    Markdown links in a new tab, so the conversation stays where it was."""
    url = source_url(chunk_id, quote)
    return f"[{label}]({url})" if url else ""


def sources_markdown(citations: list[Citation]) -> str:
    lines = []
    for i, c in enumerate(citations, 1):
        quote = c.quote.replace("\n", " ").strip()
        web = link_markdown(c.link)
        view = view_link(c.chunk_id, quote)
        where = " · ".join(x for x in (f"`{os.path.basename(c.path)}`", web, view) if x)
        lines.append(f"**[{i}] {_where(c)}**  \n> {quote}  \n<sub>{where}</sub>")
    return "\n\n".join(lines)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def _md(text: str) -> str:
    """Library text shown as literal Markdown: its own * _ [ ] < > would format or hide parts of it."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def evidence_markdown(evidence: list[Evidence], citations: list[Citation]) -> str:
    """Each excerpt bold inside its passage, then the citation it belongs to."""
    lines = []
    for e in evidence:
        c = citations[e.n - 1] if 0 < e.n <= len(citations) else None
        label = f"[{e.n}] " + (_md(_where(c)) + " " + view_link(c.chunk_id, e.text, "🔎") if c is not None else "")
        lines.append(f"> {_md(e.before)}**{_md(e.text)}**{_md(e.after)}  \n> <sub>{label}</sub>")
    return "\n\n".join(lines)


# Where a search looked first when the learner named a source or a language version (Answer.scope).
SCOPE_DOCS = {"zh": "名为“{named}”的 {n} 份资料", "en": "the {n} documents called “{named}”"}
SCOPE_DOC = {"zh": "《{title}》", "en": "“{title}”"}
SCOPE_LANG = {"zh": {"zh": "中文版", "en": "英文版"}, "en": {"zh": "the Chinese version", "en": "the English version"}}
SCOPE_SEARCHED = {"zh": "先查了{where}", "en": "searched first in {where}"}
SCOPE_VERSION_OF = {"zh": "{where}的{version}", "en": "{version} of {where}"}


def scope_text(scope: dict | None, lang: str) -> str:
    """"searched first in “科技爱好者周刊（第 300 期）”" (Markdown), or "" when the search looked everywhere alike."""
    if not scope:
        return ""
    n, version = int(scope.get("documents") or 0), SCOPE_LANG[lang].get(scope.get("lang") or "")
    if n == 1 and scope.get("title"):
        where = SCOPE_DOC[lang].format(title=_md(str(scope["title"])))  # library text, shown as Markdown
    elif n > 1:
        where = SCOPE_DOCS[lang].format(n=n, named=_md(" ".join(scope.get("named") or ())))
    else:
        where = ""
    if version:
        where = SCOPE_VERSION_OF[lang].format(where=where, version=version) if where else version
    return SCOPE_SEARCHED[lang].format(where=where) if where else ""


def evidence_message(evidence: list[Evidence], citations: list[Citation], lang: str, tentative: bool = False,
                     scope: dict | None = None) -> dict:
    title = (TENTATIVE_TITLE if tentative else EVIDENCE_TITLE)[lang].format(n=len(evidence))
    where = scope_text(scope, lang)
    return {"role": "assistant", "content": evidence_markdown(evidence, citations),
            "metadata": {"title": title + (" · " + where if where else "")}}


def sources_message(answer: Answer, lang: str) -> dict | None:
    if not answer.citations:
        return None
    return {
        "role": "assistant",
        "content": sources_markdown(answer.citations),
        "metadata": {"title": (CLOSEST_TITLE if answer.status == "declined" else SOURCES_TITLE)[lang].format(
            n=len(answer.citations)), "status": "done"},
    }


def provider_label(answer: Answer) -> str:
    return f"{answer.provider}:{answer.model}" if answer.model else answer.provider


def footer(answer: Answer, lang: str) -> str:
    t = answer.timings or {}
    bits = [provider_label(answer)]
    if answer.status in STATUS_NOTE:
        bits.append(STATUS_NOTE[answer.status][lang])
    if answer.scope and not answer.evidence:  # otherwise the evidence's title says it
        bits.append(scope_text(answer.scope, lang))
    if t.get("total_ms") is not None:
        bits.append(f"{t['total_ms'] / 1000:.1f}s")
    return "\n\n<sub>" + " · ".join(bits) + "</sub>"


def followup_options(bot: StudyBot, answer: Answer, question: str, history: list | None) -> list[dict]:
    """Gradio message options: clicking one asks it (ChatInterface's option_select)."""
    if not answer.hits or answer.status == "not_covered":
        return []
    asked = [m["content"] for m in plain_history(history, bot.settings.max_question_chars) if m["role"] == "user"]
    qs = suggest_followups(question, answer.hits, asked=asked, neighbours=bot.index.manifest.neighbours)
    return [{"value": q, "label": "➜ " + q} for q in qs]


def respond(bot: StudyBot, message: Any, history: list | None, plan: Any = None,
            log: AnswerLog | None = None) -> Iterator[list[dict]]:
    """Yields the assistant's messages so far: the growing answer, then answer + sources (+ follow-ups).
    ``plan``: the learner's current roadmap JSON, for questions about its stages. ``log``: where each
    finished exchange is recorded, for the 👍/👎 handler to find by the displayed text."""
    question = content_text(message).strip()
    lang = answer_lang(question)
    if not question:
        yield [{"role": "assistant", "content": "请输入问题。" if lang == "zh" else "Please type a question."}]
        return
    # Retrieval (and query translation) runs before the first token: say something meanwhile.
    yield [{"role": "assistant", "content": SEARCHING[lang]}]
    text = ""
    shown: list[dict] = []  # the evidence, once found: it stays above the answer
    status = WRITING[lang]  # under the evidence until the first token: writing, or the place in line
    try:
        for ev in bot.ask_stream(question, plain_history(history, bot.settings.max_question_chars), plan=plan):
            if ev.kind == "evidence" and ev.evidence:  # a first look, then the full search's: the last one stands
                shown = [evidence_message(ev.evidence, ev.citations or [], lang, ev.tentative, ev.scope)]
                if not ev.tentative:
                    status = WRITING[lang]
                yield shown + [{"role": "assistant", "content": text or status}]
            elif ev.kind == "queued":
                status = queued_text(ev.ahead, ev.eta_s, lang)
                yield shown + [{"role": "assistant", "content": (text + "\n\n" if text else "") + status}]
            elif ev.kind == "token":
                text += ev.text
                yield shown + [{"role": "assistant", "content": text}]
            elif ev.kind == "done" and ev.answer is not None:
                ans = ev.answer
                msgs = ([evidence_message(ans.evidence, ans.citations, lang, scope=ans.scope)] if ans.evidence else [])
                msgs.append({"role": "assistant", "content": ans.text + footer(ans, lang)})
                src = sources_message(ans, lang)
                if src:
                    msgs.append(src)
                if log is not None:
                    log.record([m["content"] for m in msgs], question=question, answer=ans.text,
                               citations=[f"{_where(c)} ({os.path.basename(c.path)})" for c in ans.citations],
                               provider=provider_label(ans))
                options = followup_options(bot, ans, question, history)
                if options:  # Gradio shows the options of the last message of the last bubble
                    msgs[-1]["options"] = options
                yield msgs
    except Exception as e:  # noqa: BLE001 - the learner sees what went wrong instead of a dead spinner
        logger.exception("chat failed")
        yield shown + [{"role": "assistant", "content": (text + "\n\n" if text else "") + FAILED[lang].format(err=type(e).__name__)}]


class BadRequest(ValueError):
    """The API caller's input, explained (shown to the caller as is)."""


def parse_history(raw: Any) -> list[dict]:
    """The ``ask`` API's history: JSON text (or a list) of {"role": "user"|"assistant", "content": str}."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as e:
            raise BadRequest(f"history is not JSON: {e}") from None
    if not isinstance(raw, list) or not all(isinstance(m, dict) and m.get("role") in ("user", "assistant")
                                            and isinstance(m.get("content"), str) for m in raw):
        raise BadRequest('history must be a list of {"role": "user" | "assistant", "content": "..."}')
    return raw


def api_turns(bot: StudyBot, history: Any) -> list[dict]:
    """An API caller's history (see ``parse_history``) read as the chat reads its own: the last
    ``HISTORY_MESSAGES``, clipped, refused questions left out."""
    return plain_history(parse_history(history), bot.settings.max_question_chars)


def learner_json(bot: StudyBot, ans: Answer) -> dict:
    """``Answer.to_json()`` with paths as learners see them (never the server's directory layout)."""
    from bot.features.admin import short_path

    out = ans.to_json()
    for c in out["citations"]:
        c["path"] = short_path(c["path"], bot.settings.library_dir, learner=True)
    return out


def ask_json(bot: StudyBot, question: str, history: Any = None) -> str:
    """One answer for another front-end: the JSON of ``studybot ask --json`` (with the evidence), paths as
    learners see them. A follow-up is read against ``history`` exactly as in the chat."""
    turns = api_turns(bot, history)
    return json.dumps(learner_json(bot, bot.ask(content_text(question).strip(), turns)), ensure_ascii=False)
