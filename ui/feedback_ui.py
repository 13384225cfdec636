"""Thumbs up/down on chat answers (the Chatbot's like event) and an optional comment.

The vote handler reads the conversation Gradio passes in: the liked bubble's answer, the question
before it and the sources message after it, so nothing per-answer has to be kept on the server.
"""
# No `from __future__ import annotations` here: Gradio reads the `gr.LikeData` hint of the vote
# handler at run time to know it must pass the event data.
import re
from typing import Any

from bot import feedback
from bot.settings import Settings
from ui.chat import _field, content_text

THANKS = {1: "👍 谢谢反馈！可以补充一句备注 / Thanks! Add a comment if you like",
          -1: "👎 谢谢反馈！哪里不对？/ Thanks! What was wrong?"}
SAVED = "✓ 备注已保存 / Comment saved"
RETRACTED = "已撤回 / Vote removed"
_FOOTER = re.compile(r"\n*<sub>([^<]*)</sub>\s*$")
_CITE = re.compile(r"\*\*\[\d+\]\s*(.+?)\*\*.*?<sub>`([^`]+)`</sub>", re.S)


def _index(index: Any) -> int:
    return int(index[0] if isinstance(index, (list, tuple)) else index)


def _is_sources(m: Any) -> bool:
    meta = _field(m, "metadata") or {}
    return isinstance(meta, dict) and bool(meta.get("title"))


def vote_target(history: list, index: Any) -> dict:
    """question, answer, citations and provider of the answer bubble at ``index``."""
    msgs = list(history or [])
    i = min(_index(index), len(msgs) - 1)
    while i > 0 and (_is_sources(msgs[i]) or _field(msgs[i], "role") != "assistant"):
        i -= 1  # a vote on the sources part of the bubble is a vote on its answer
    raw = content_text(_field(msgs[i], "content")) if msgs else ""
    m = _FOOTER.search(raw)
    answer = raw[: m.start()].strip() if m else raw.strip()
    provider = m.group(1).split(" · ")[0].strip() if m else ""
    question = next((content_text(_field(x, "content")).strip() for x in reversed(msgs[:i])
                     if _field(x, "role") == "user"), "")
    citations: list[str] = []
    j = i + 1
    while j < len(msgs) and _is_sources(msgs[j]):
        citations += [f"{label} ({name})" for label, name in _CITE.findall(content_text(_field(msgs[j], "content")))]
        j += 1
    return {"question": question, "answer": answer, "citations": citations, "provider": provider}


def on_vote(settings: Settings, history: list, votes: dict | None, index: Any, liked: Any) -> tuple[dict, str]:
    """Records, switches or retracts the vote on one answer. ``votes`` maps bubble index -> feedback id
    for this session, so switching thumbs updates the row instead of adding a second one."""
    votes = dict(votes or {})
    key = str(_index(index))
    if liked is True or liked is False:
        vote = 1 if liked else -1
        if key in votes and feedback.set_vote(settings, votes[key], vote):
            fid = votes[key]
        else:
            fid = feedback.record_feedback(settings, vote=vote, **vote_target(history, index))
        votes[key] = fid
        votes["last"] = fid
        return votes, THANKS[vote]
    # Gradio sends "" when a thumb is clicked a second time (vote withdrawn).
    fid = votes.pop(key, None)
    if fid is not None:
        feedback.retract_feedback(settings, fid)
        if votes.get("last") == fid:
            votes.pop("last")
    return votes, RETRACTED


def on_comment(settings: Settings, votes: dict | None, comment: str) -> str:
    fid = (votes or {}).get("last")
    if fid is None:
        return "先点 👍 或 👎 / Vote first"
    if not (comment or "").strip():
        return "备注是空的 / The comment is empty"
    feedback.set_comment(settings, fid, comment)
    return SAVED


def wire_feedback(chatbot, settings: Settings) -> None:
    """Adds the vote handler and a comment box (shown after a vote) under the chat."""
    import gradio as gr

    votes = gr.State({})
    # The note gets its own line: beside the box it is squeezed into a column on a phone.
    with gr.Column(visible=False, elem_id="sb-feedback") as row:
        note = gr.Markdown(elem_id="sb-feedback-note")
        with gr.Row(equal_height=True):
            comment = gr.Textbox(placeholder="可选：补充说明 / Optional comment", show_label=False, scale=4,
                                 elem_id="sb-feedback-comment", max_lines=3, container=False)
            send = gr.Button("发送 / Send", scale=1, min_width=90, size="sm", elem_id="sb-feedback-send")

    def like(history, state, data: gr.LikeData):
        state, msg = on_vote(settings, history, state, data.index, data.liked)
        return state, gr.update(visible=True), msg, ""

    def save(state, text):
        return on_comment(settings, state, text), ""

    chatbot.like(like, [chatbot, votes], [votes, row, note, comment], api_visibility="undocumented", queue=False)
    gr.on([send.click, comment.submit], save, [votes, comment], [note, comment], api_visibility="undocumented",
          queue=False)
    chatbot.clear(lambda: ({}, gr.update(visible=False)), None, [votes, row], api_visibility="undocumented",
                  queue=False)
