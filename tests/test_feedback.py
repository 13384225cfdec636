"""Answer votes in SQLite: the API the admin console imports, the UI's vote handler, the CLI."""
from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import make_settings

from bot import feedback
from bot.feedback import feedback_path, list_feedback, record_feedback


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "lib", tmp_path / "index")


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


HISTORY = [
    {"role": "user", "content": "什么是杠铃阅读法？"},
    {"role": "assistant", "content": "根据资料：只读时间线两端。\n\n<sub>fake:fake · 0.3s</sub>"},
    {"role": "assistant", "metadata": {"title": "📚 来源（1）", "status": "done"},
     "content": "**[1] 新范式 · 番外 > 杠铃阅读法**  \n> 杠铃式阅读法是指……  \n<sub>`002_c0490f06c8b4e4df.txt`</sub>",
     "options": [{"value": "信息甄别具体讲了什么？"}]},
]


def test_vote_target_reads_question_answer_sources_and_provider():
    from ui.feedback_ui import vote_target

    for idx in (1, 2, [1]):  # the answer, its sources part, Gradio's list form
        t = vote_target(HISTORY, idx)
        assert t["question"] == "什么是杠铃阅读法？"
        assert t["answer"] == "根据资料：只读时间线两端。"
        assert t["provider"] == "fake:fake"
        assert t["citations"] == ["新范式 · 番外 > 杠铃阅读法 (002_c0490f06c8b4e4df.txt)"]


def test_ui_vote_lands_in_sqlite_switches_comments_and_retracts(settings):
    from ui.feedback_ui import on_comment, on_vote

    votes, msg = on_vote(settings, HISTORY, {}, 1, True)
    assert "👍" in msg
    db = sqlite3.connect(feedback_path(settings))
    assert db.execute("SELECT vote, question FROM feedback").fetchall() == [(1, "什么是杠铃阅读法？")]
    votes, _ = on_vote(settings, HISTORY, votes, 1, False)  # switched thumbs: same row
    assert db.execute("SELECT vote FROM feedback").fetchall() == [(-1,)]
    assert on_comment(settings, votes, "来源不对") == "✓ 备注已保存 / Comment saved"
    row = list_feedback(settings)[0]
    assert (row["vote"], row["comment"]) == (-1, "来源不对")
    assert json.dumps(row["citations"], ensure_ascii=False).count("002_c0490f06c8b4e4df.txt") == 1
    votes, _ = on_vote(settings, HISTORY, votes, 1, "")  # clicked again: withdrawn
    assert list_feedback(settings) == []
    assert "Vote first" in on_comment(settings, votes, "late comment")


def test_cli_lists_feedback_as_json(settings, capsys, monkeypatch):
    from bot import cli

    feedback.record_feedback(settings, question="q1", answer="a1", vote=1, comment="good")
    assert cli.main(["feedback", "--index-dir", str(settings.index_dir), "--json", "--limit", "5"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["question"] == "q1" and rows[0]["comment"] == "good"
    assert cli.main(["feedback", "--index-dir", str(settings.index_dir)]) == 0
    assert "👍" in capsys.readouterr().out
