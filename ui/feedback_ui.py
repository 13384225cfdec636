"""Thumbs up/down on chat answers (the Chatbot's like event) and an optional comment.

Every event is an HTTP endpoint anyone can call with any payload, so the history the like event
passes in only says which bubble was rated: what is stored is the exchange the server itself
produced under that bubble's text (ui/answer_log.py), or nothing. Votes and comments are
rate-limited per session and per client address.
"""
# No `from __future__ import annotations` here: Gradio reads the `gr.LikeData` and `gr.Request`
# hints of the handlers at run time to know it must pass the event data and the request.
from typing import Any

from bot.features.feedback import FeedbackStore
from ui.answer_log import AnswerLog
from ui.chat import _field, content_text
from ui.limits import Rate, client_key

THANKS = {1: "👍 谢谢反馈！可以补充一句备注 / Thanks! Add a comment if you like",
          -1: "👎 谢谢反馈！哪里不对？/ Thanks! What was wrong?"}
SAVED = "✓ 备注已保存 / Comment saved"
RETRACTED = "已撤回 / Vote removed"
UNKNOWN = "这条回答无法评价（可能来自服务重启之前）/ This answer can't be rated (it may predate a restart)"
TOO_MANY = "评价太频繁了，请一分钟后再试 / Too many ratings: please wait a minute"

# Votes and comments together, per minute: a learner rates an answer or two a minute; a session id
# is the client's to choose, hence the wider limit per address (a classroom behind one NAT included).
PER_SESSION = 20
PER_CLIENT = 60
# Answers one session can have a vote on (switch or take back); the oldest are forgotten first.
MAX_VOTES = 200


def liked_text(history: list, index: Any) -> str:
    """The text of the message at ``index`` of the chat (Gradio sends the bubble's first message, the
    answer; a sources message is known to the answer log too). "" if there is no such message."""
    msgs = list(history or [])
    try:
        i = int(index[0] if isinstance(index, (list, tuple)) else index)
    except (TypeError, ValueError, IndexError):
        return ""
    if not 0 <= i < len(msgs) or _field(msgs[i], "role") != "assistant":
        return ""
    return content_text(_field(msgs[i], "content"))


def on_vote(store: FeedbackStore, log: AnswerLog, history: list, votes: dict | None, index: Any,
            liked: Any) -> tuple[dict, str]:
    """Records, switches or retracts the vote on one answer. ``votes`` maps exchange id -> feedback id
    for this session, so switching thumbs updates the row instead of adding a second one."""
    votes = dict(votes or {})
    found = log.find(liked_text(history, index))
    if found is None:
        return votes, UNKNOWN
    key, exchange = found
    if liked is True or liked is False:
        vote = 1 if liked else -1
        fid = votes.pop(key, None)
        if fid is None or not store.set_vote(fid, vote):
            fid = store.record(vote=vote, **exchange)
        votes[key] = fid  # re-inserted: the most recent vote is the last to be forgotten
        votes["last"] = fid
        while len(votes) > MAX_VOTES + 1:  # + "last"
            votes.pop(next(k for k in votes if k != "last"))
        return votes, THANKS[vote]
    # Gradio sends "" when a thumb is clicked a second time (vote withdrawn).
    fid = votes.pop(key, None)
    if fid is not None:
        store.retract(fid)
        if votes.get("last") == fid:
            votes.pop("last")
    return votes, RETRACTED


def on_comment(store: FeedbackStore, votes: dict | None, comment: str) -> str:
    fid = (votes or {}).get("last")
    if fid is None:
        return "先点 👍 或 👎 / Vote first"
    if not (comment or "").strip():
        return "备注是空的 / The comment is empty"
    store.set_comment(fid, comment)
    return SAVED


def wire_feedback(chatbot, store: FeedbackStore, log: AnswerLog) -> None:
    """Adds the vote handler and a comment box (shown after a vote) under the chat. ``store``: the
    process's votes database (``Components.feedback``); ``log``: the exchanges the app's chat
    function recorded."""
    import gradio as gr

    per_session = Rate(limit=PER_SESSION, window=60)
    per_client = Rate(limit=PER_CLIENT, window=60)

    def allowed(request: gr.Request) -> bool:
        host = request.client.host if request.client else None
        return per_session.allow(f"session:{request.session_hash}") and per_client.allow(client_key(host))

    votes = gr.State({})
    # The note gets its own line: beside the box it is squeezed into a column on a phone.
    with gr.Column(visible=False, elem_id="sb-feedback") as row:
        note = gr.Markdown(elem_id="sb-feedback-note")
        with gr.Row(equal_height=True):
            comment = gr.Textbox(placeholder="可选：补充说明 / Optional comment", show_label=False, scale=4,
                                 elem_id="sb-feedback-comment", max_lines=3, container=False)
            send = gr.Button("发送 / Send", scale=1, min_width=90, size="sm", elem_id="sb-feedback-send")

    def like(history, state, data: gr.LikeData, request: gr.Request):
        if not allowed(request):
            return state, gr.update(visible=True), TOO_MANY, gr.update()
        state, msg = on_vote(store, log, history, state, data.index, data.liked)
        return state, gr.update(visible=True), msg, ""

    def save(state, text, request: gr.Request):
        if not allowed(request):
            return TOO_MANY, gr.update()
        return on_comment(store, state, text), ""

    chatbot.like(like, [chatbot, votes], [votes, row, note, comment], api_visibility="undocumented", queue=False)
    gr.on([send.click, comment.submit], save, [votes, comment], [note, comment], api_visibility="undocumented",
          queue=False)
    chatbot.clear(lambda: ({}, gr.update(visible=False)), None, [votes, row], api_visibility="undocumented",
                  queue=False)
