"""Answer votes in SQLite: the API the admin console imports, the UI's vote handler, the CLI."""
from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import make_settings

from bot.features import feedback
from bot.features.feedback import feedback_path, list_feedback, record_feedback


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "lib", tmp_path / "index")


@pytest.fixture
def store(settings):
    """The votes database as the served chat holds it (Components.feedback)."""
    from bot.components import Components

    return Components(settings).feedback()


def test_record_and_list_roundtrip(settings):
    a = record_feedback(settings, question="什么是杠铃阅读法？", answer="只读两端。", vote=1,
                        citations=["新范式 · 杠铃阅读法 (002.txt)"], provider="fake:fake")
    b = record_feedback(settings, question="Q2", answer="A2", vote=-1, comment="  wrong source  ")
    assert feedback_path(settings) == settings.index_dir / "feedback.sqlite"
    rows = list_feedback(settings)
    assert [r["id"] for r in rows] == [b, a]  # newest first
    assert set(rows[0]) == {"id", "ts", "vote", "comment", "question", "answer", "citations", "provider"}
    assert rows[0]["comment"] == "wrong source" and rows[0]["vote"] == -1 and rows[0]["citations"] == []
    assert rows[1]["citations"] == ["新范式 · 杠铃阅读法 (002.txt)"] and rows[1]["provider"] == "fake:fake"
    assert len(list_feedback(settings, limit=1)) == 1


def test_bad_vote_is_refused_and_nothing_is_written(settings):
    with pytest.raises(ValueError):
        record_feedback(settings, question="q", answer="a", vote=0)
    assert list_feedback(settings) == []


def test_list_without_database_is_empty_and_creates_nothing(settings):
    assert list_feedback(settings) == []
    assert not feedback_path(settings).exists()


def test_feedback_db_setting_moves_the_file(tmp_path):
    s = make_settings(tmp_path / "lib", tmp_path / "index", feedback_db=tmp_path / "votes" / "fb.sqlite")
    record_feedback(s, question="q", answer="a", vote=1)
    assert (tmp_path / "votes" / "fb.sqlite").exists()
    assert not (tmp_path / "index" / "feedback.sqlite").exists()


def test_sizes_are_capped_whoever_calls(settings):
    from bot.features.feedback import MAX_ANSWER, MAX_CITATION, MAX_CITATIONS, MAX_COMMENT, MAX_PROVIDER, MAX_QUESTION

    fid = record_feedback(settings, question="问" * 10**6, answer="答" * 10**6, vote=1, comment="c" * 10**5,
                          citations=["x" * 10**4] * 1000, provider="p" * 10**4)
    row = list_feedback(settings)[0]
    assert (len(row["question"]), len(row["answer"]), len(row["comment"]), len(row["provider"])) == (
        MAX_QUESTION, MAX_ANSWER, MAX_COMMENT, MAX_PROVIDER)
    assert len(row["citations"]) == MAX_CITATIONS and {len(c) for c in row["citations"]} == {MAX_CITATION}
    assert feedback.set_comment(settings, fid, "  " + "长" * 10**5)
    assert list_feedback(settings)[0]["comment"] == "长" * MAX_COMMENT
    assert feedback_path(settings).stat().st_size < 200_000


ANSWER = "根据资料：只读时间线两端。\n\n<sub>fake:fake · 0.3s</sub>"
SOURCES = "**[1] 新范式 · 番外 > 杠铃阅读法**  \n> 杠铃式阅读法是指……  \n<sub>`002_c0490f06c8b4e4df.txt`</sub>"
HISTORY = [
    {"role": "user", "content": "什么是杠铃阅读法？"},
    {"role": "assistant", "content": ANSWER},
    {"role": "assistant", "metadata": {"title": "📚 来源（1）", "status": "done"}, "content": SOURCES,
     "options": [{"value": "信息甄别具体讲了什么？"}]},
]
EXCHANGE = {"question": "什么是杠铃阅读法？", "answer": "根据资料：只读时间线两端。",
            "citations": ["新范式 · 番外 > 杠铃阅读法 (002_c0490f06c8b4e4df.txt)"], "provider": "fake:fake"}


@pytest.fixture
def answers():
    from ui.answer_log import AnswerLog

    log = AnswerLog()
    log.record([ANSWER, SOURCES], **EXCHANGE)
    return log


def test_chat_records_what_it_displayed_in_the_answer_log(seed_index, components):
    from bot.service import StudyBot
    from ui.answer_log import AnswerLog
    from ui.chat import respond

    log = AnswerLog()
    msgs = list(respond(StudyBot(seed_index, components=components), "什么是杠铃阅读法？", [], log=log))[-1]
    evidence, answer, sources = (m["content"] for m in msgs)
    assert log.find(evidence) is not None  # the evidence shown above the answer is part of the exchange
    key, ex = log.find(answer)
    assert log.find(sources) == (key, ex)  # a vote on the sources part is a vote on the answer
    assert ex["question"] == "什么是杠铃阅读法？" and answer.startswith(ex["answer"]) and "<sub>" not in ex["answer"]
    assert ex["provider"].startswith("fake") and ex["provider"] in answer
    assert ex["citations"] and all(c.endswith(".txt)") and c.split(" (")[0] in sources for c in ex["citations"])
    assert log.find(answer + " ") is None and log.find("") is None


def test_answer_log_is_bounded():
    from ui.answer_log import AnswerLog

    log = AnswerLog(max_keys=4)
    for i in range(10):
        log.record([f"a{i}", f"s{i}"], question=f"q{i}", answer=f"a{i}")
    assert log.find("a9")[1]["question"] == "q9" and log.find("s8")[1]["question"] == "q8"
    assert log.find("a7") is None and len(log._keys) == 4
    log.record(["long"], question="问" * 10**6, answer="答" * 10**6)
    assert len(log.find("long")[1]["question"]) == feedback.MAX_QUESTION


def test_ui_vote_lands_in_sqlite_switches_comments_and_retracts(settings, answers, store):
    from ui.feedback_ui import on_comment, on_vote

    for idx in (1, [1], 2):  # the answer, Gradio's list form, the sources part of the bubble: one row
        votes, msg = on_vote(store, answers, HISTORY, {}, idx, True)
        assert "👍" in msg
        rows = list_feedback(settings)
        assert len(rows) == 1 and {k: rows[0][k] for k in EXCHANGE} == EXCHANGE
        feedback.retract_feedback(settings, rows[0]["id"])
    votes, _ = on_vote(store, answers, HISTORY, {}, 1, True)
    db = sqlite3.connect(feedback_path(settings))
    votes, _ = on_vote(store, answers, HISTORY, votes, 1, False)  # switched thumbs: same row
    assert db.execute("SELECT vote FROM feedback").fetchall() == [(-1,)]
    assert on_comment(store, votes, "来源不对") == "✓ 备注已保存 / Comment saved"
    row = list_feedback(settings)[0]
    assert (row["vote"], row["comment"]) == (-1, "来源不对")
    assert json.dumps(row["citations"], ensure_ascii=False).count("002_c0490f06c8b4e4df.txt") == 1
    votes, _ = on_vote(store, answers, HISTORY, votes, 1, "")  # clicked again: withdrawn
    assert list_feedback(settings) == []
    assert "Vote first" in on_comment(store, votes, "late comment")


def test_vote_stores_the_servers_exchange_never_the_clients(settings, answers, store):
    from ui.feedback_ui import UNKNOWN, on_vote

    tampered = [{"role": "user", "content": "伪造的问题" * 1000}, *HISTORY[1:]]
    on_vote(store, answers, tampered, {}, 1, True)
    assert {k: list_feedback(settings)[0][k] for k in EXCHANGE} == EXCHANGE
    forged = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x" * 10**6}]
    for history, index in ((forged, 1), (HISTORY, 0), (HISTORY, 5), (HISTORY, -1), (HISTORY, "x"), ([], 0)):
        votes, msg = on_vote(store, answers, history, {}, index, True)
        assert (votes, msg) == ({}, UNKNOWN)
    assert len(list_feedback(settings)) == 1


def test_votes_of_a_session_are_bounded(settings, store):
    from ui.answer_log import AnswerLog
    from ui.feedback_ui import MAX_VOTES, on_vote

    log = AnswerLog()
    votes: dict = {}
    for i in range(MAX_VOTES + 20):
        log.record([f"answer {i}"], question=f"q{i}", answer=f"answer {i}")
        votes, _ = on_vote(store, log, [{"role": "assistant", "content": f"answer {i}"}], votes, 0, True)
    assert len(votes) == MAX_VOTES + 1 and votes["last"] == list_feedback(settings)[0]["id"]
    # The newest still switch in place.
    votes, _ = on_vote(store, log, [{"role": "assistant", "content": f"answer {MAX_VOTES + 19}"}], votes, 0, False)
    assert len(list_feedback(settings, limit=1000)) == MAX_VOTES + 20 and list_feedback(settings)[0]["vote"] == -1


def test_cli_lists_feedback_as_json(settings, capsys, monkeypatch):
    from ui import cli

    feedback.record_feedback(settings, question="q1", answer="a1", vote=1, comment="good")
    assert cli.main(["feedback", "--index-dir", str(settings.index_dir), "--json", "--limit", "5"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["question"] == "q1" and rows[0]["comment"] == "good"
    assert cli.main(["feedback", "--index-dir", str(settings.index_dir)]) == 0
    assert "👍" in capsys.readouterr().out
