"""Finding: feedback flood. The 👍/👎 event stored the question and answer of the chat history the client
sent, with no size or rate limit: five anonymous POSTs of the like event grew feedback.sqlite by 21 MB
and put forged question/answer pairs in the admin's feedback table.

Now a vote stores the exchange the server itself answered (found by the rated bubble's text), sizes are
capped, and votes and comments are rate-limited per session and per client address. Driven over raw
HTTP against the served app, as an attacker would."""
from __future__ import annotations

import itertools
import json
import secrets
import shutil
import sqlite3
import types

import httpx
import pytest
from attack import app_events, call_event
from conftest import SEEDS, make_settings
from stubs import free_port

from bot.features.feedback import MAX_COMMENT, feedback_path
from ui.feedback_ui import PER_CLIENT, PER_SESSION, TOO_MANY, UNKNOWN

pytestmark = pytest.mark.timeout(300)

QUESTION = "什么是杠铃阅读法？"
MB = 1024 * 1024
_addresses = itertools.count(2)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from bot.service import StudyBot
    from ingest.pipeline import ingest
    from ui.app import build_server, start_server

    base = tmp_path_factory.mktemp("flood")
    lib = base / "library"
    (lib / "seeds").mkdir(parents=True)
    shutil.copy(SEEDS / "002_c0490f06c8b4e4df.txt", lib / "seeds")  # the one about 杠铃阅读法
    port = free_port()
    settings = make_settings(lib, base / "index", llm="fake", port=port)
    assert not ingest(None, settings).failed
    server = start_server(build_server(settings, StudyBot(settings)), "127.0.0.1", port)
    url = f"http://127.0.0.1:{port}"
    events = app_events(url)
    # The built-in events have generated names: find them by their trigger.
    like = next(e for e in events if e["api_name"] == "like" or [t[1] for t in e["targets"] or []] == ["like"])
    save = next(e for e in events if e["api_name"] == "save")
    chat = next(e for e in events if e["api_name"] == "chat")
    yield types.SimpleNamespace(url=url, settings=settings, like=like, save=save, chat=chat)
    server.should_exit = True
    server.thread.join(10)


@pytest.fixture
def client():
    """Each test calls from its own loopback address, so the per-address limit of one test leaves the
    others alone."""
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{next(_addresses)}")
    with httpx.Client(transport=transport, timeout=120) as c:
        yield c


def rows(site) -> list[dict]:
    path = feedback_path(site.settings)
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY id")]
    finally:
        db.close()


def db_bytes(site) -> int:
    """The database with its write-ahead log: a vote lands in the -wal file first."""
    path = feedback_path(site.settings)
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def on_the_wire(history: list[dict]) -> list[dict]:
    """The chat as the page holds and sends it (each content a list of typed blocks)."""
    import gradio as gr

    return gr.Chatbot().postprocess(history).model_dump()


def vote(site, client, history: list, session: str, *, index: int = 1, liked=True) -> str:
    """The like event as the page sends it: the whole chat, the bubble's index and contents, the thumb."""
    msgs = on_the_wire(history)
    value = [m["content"] for m in msgs[index:index + 2]]
    status, text = call_event(site.url, site.like, [msgs, None], client=client, session_hash=session,
                              event_data={"index": index, "value": value, "liked": liked})
    assert status == 200, text[:300]
    return text


def comment(site, client, session: str, text: str) -> str:
    status, out = call_event(site.url, site.save, [None, text], client=client, session_hash=session)
    assert status == 200, out[:300]
    return out


def ask(site, client, session: str, question: str = QUESTION) -> list[dict]:
    """A real exchange through the app's ``chat`` endpoint (the queue, as the page asks): the messages
    the server displayed."""
    status, text = call_event(site.url, site.chat, [question, None, None], client=client, session_hash=session)
    assert status == 200, text[:300]
    done = [json.loads(line[5:]) for line in text.splitlines() if '"process_completed"' in line]
    assert done and done[-1]["success"], text[-500:]
    shown = done[-1]["output"]["data"][0]
    # The evidence above the answer is the library's text, not the answer: votes name the answer.
    assert (shown[0].get("metadata") or {}).get("title", "").startswith("📌"), shown
    msgs = shown[1:]
    assert "<sub>fake:" in msgs[0]["content"] and len(msgs) == 2, msgs  # answer + sources
    return msgs


def test_a_forged_history_writes_nothing(site, client):
    before = (rows(site), db_bytes(site))
    # 1 MB question and answer (the gate refuses bodies over 4 MB; the event data repeats the answer).
    for forged in (
        [{"role": "user", "content": "forged? " * (MB // 8)}, {"role": "assistant", "content": "forged! " * (MB // 8)}],
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a" * (MB // 2)},
         {"role": "assistant", "content": "s" * (MB // 2), "metadata": {"title": "📚 来源（1）"}}],
    ):
        for i in range(3):
            assert UNKNOWN in vote(site, client, forged, f"forger-{i}", liked=i % 2 == 0)
    assert (rows(site), db_bytes(site)) == before


def test_a_genuine_answer_is_recorded_as_the_server_gave_it(site, client):
    session = secrets.token_hex(8)
    msgs = ask(site, client, session)
    answer = msgs[0]["content"].split("\n\n<sub>")[0]
    n = len(rows(site))
    tampered = [{"role": "user", "content": "管理员请看：伪造的问题 " * 5000}, *msgs]
    assert "👍" in vote(site, client, tampered, session)
    assert "👎" in vote(site, client, tampered, session, liked=False)  # switched: the same row
    new = rows(site)[n:]
    assert len(new) == 1
    row = new[0]
    assert (row["question"], row["answer"], row["vote"]) == (QUESTION, answer, -1)
    assert row["provider"].startswith("fake:fake") and row["provider"] in msgs[0]["content"]
    cites = json.loads(row["citations_json"])
    assert cites and all(c.endswith("(002_c0490f06c8b4e4df.txt)") for c in cites)
    # An edited answer is not the server's: nothing.
    edited = [*tampered[:1], {**msgs[0], "content": msgs[0]["content"] + " 而且是管理员推荐的"}]
    assert UNKNOWN in vote(site, client, edited, secrets.token_hex(8))
    # Clicked again: withdrawn.
    assert "已撤回" in vote(site, client, tampered, session, liked="")
    assert len(rows(site)) == n


def test_votes_beyond_the_session_limit_write_nothing(site, client):
    session = secrets.token_hex(8)
    msgs = ask(site, client, session)
    history = [{"role": "user", "content": QUESTION}, *msgs]
    for i in range(PER_SESSION):  # 👍 👎 👍 …: each one is a write
        assert TOO_MANY not in vote(site, client, history, session, liked=i % 2 == 0)
    row = rows(site)[-1]
    assert row["vote"] == -1
    for i in range(5):
        assert TOO_MANY in vote(site, client, history, session, liked=True)
        assert TOO_MANY in comment(site, client, session, f"comment {i}")
    assert rows(site)[-1] == row  # not even the timestamp moved


def test_new_sessions_do_not_escape_the_limit_per_address(site, client):
    msgs = ask(site, client, secrets.token_hex(8))
    history = [{"role": "user", "content": QUESTION}, *msgs]
    n = len(rows(site))
    notes = [vote(site, client, history, f"fresh-{i}") for i in range(PER_CLIENT + 5)]
    assert all(TOO_MANY not in t for t in notes[:PER_CLIENT]) and all(TOO_MANY in t for t in notes[PER_CLIENT:])
    assert len(rows(site)) == n + PER_CLIENT
    # Another address is not affected.
    with httpx.Client(transport=httpx.HTTPTransport(local_address=f"127.0.0.{next(_addresses)}")) as other:
        assert "👍" in vote(site, other, history, "fresh-other")


def test_comment_size_is_capped(site, client):
    session = secrets.token_hex(8)
    assert "Vote first" in comment(site, client, session, "x" * MB)
    msgs = ask(site, client, session)
    vote(site, client, [{"role": "user", "content": QUESTION}, *msgs], session)
    before = db_bytes(site)
    assert "备注已保存" in comment(site, client, session, "长" * MB)
    assert rows(site)[-1]["comment"] == "长" * MAX_COMMENT
    assert db_bytes(site) - before < 64 * 1024


def test_the_database_stays_small(site):
    """All of the above — megabytes of forged text sent many times — left a small file."""
    assert db_bytes(site) < MB
