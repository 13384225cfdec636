"""Follow-up questions from retrieved sections: wording, order, nothing already asked."""
from __future__ import annotations

from bot.answering.followups import as_question, heading_of, suggest_followups
from bot.core.types import Chunk, Hit


def chunk(i: int, section: str | None, title: str = "学习计划") -> Chunk:
    return Chunk(id=f"c{i}", text=f"text {i}", path="/lib/plan.md", title=title, section=section, ordinal=i,
                 source_hash="doc")


def test_heading_of_strips_path_numbering_and_remarks():
    assert heading_of("学习路径 > 第二阶段：文本生成 (2-3个月)") == "第二阶段：文本生成"
    assert heading_of("2. 核心概念与联系 > 2.1 大模型技术简介") == "大模型技术简介"
    assert heading_of("三、关键资源导航") == "关键资源导航"
    assert heading_of("工具 > 1、GitUI") == "GitUI"  # a newsletter item ("1、" numbering, seen as "、GitUI")
    assert heading_of(None) == ""


def test_question_wording_follows_language_and_heading_kind():
    assert as_question("第二阶段：文本生成", "zh") == "第二阶段：文本生成具体学什么？"
    assert as_question("杠铃阅读法", "zh") == "杠铃阅读法具体讲了什么？"
    assert as_question("杠铃阅读法", "en") == "What does the library say about “杠铃阅读法”?"
    assert as_question("Stage 2: fine-tuning", "en") == "What do I learn in Stage 2: fine-tuning?"
    assert as_question("Q：未来发展趋势是什么？", "zh") == "未来发展趋势是什么？"
    assert as_question("学习路径", "zh", "AIGC学习计划：入门") == "《AIGC学习计划》中的“学习路径”讲了什么？"


def test_next_section_first_then_other_hits_without_repeats_or_asked():
    doc = [chunk(0, "学习路径 > 第一阶段：基础 (1-2个月)"), chunk(1, "学习路径 > 第一阶段：基础 (1-2个月)"),
           chunk(2, "学习路径 > 第二阶段：文本生成 (2-3个月)"), chunk(3, "参考资料"), chunk(4, "杠铃阅读法")]

    def neighbours(c):
        return (doc[c.ordinal - 1] if c.ordinal > 0 else None, doc[c.ordinal + 1] if c.ordinal + 1 < len(doc) else None)

    hits = [Hit(doc[0], 1.0), Hit(doc[3], 0.9), Hit(doc[4], 0.8), Hit(doc[2], 0.7)]
    got = suggest_followups("前两个月学什么？", hits, neighbours=neighbours)
    # The section after the answer's (skipping its second chunk), then other hits; boilerplate dropped.
    assert got == ["第二阶段：文本生成具体学什么？", "杠铃阅读法具体讲了什么？"]
    assert suggest_followups("前两个月学什么？", hits, neighbours=neighbours, asked=["杠铃阅读法是什么"]) == [
        "第二阶段：文本生成具体学什么？"]
    en = suggest_followups("What should I learn first?", hits, neighbours=neighbours)
    assert en[0] == "What do I learn in “第二阶段：文本生成”?"
    assert suggest_followups("x", [], neighbours=neighbours) == []


def test_chat_answer_carries_followups_as_gradio_options(seed_index, components):
    from bot.service import StudyBot
    from ui.chat import respond

    bot = StudyBot(seed_index, components=components)
    steps = list(respond(bot, "学习计划第一阶段学什么？", []))
    assert "🔎" in steps[0][0]["content"]  # something is shown before retrieval finishes
    last = steps[-1]
    options = last[-1]["options"]
    assert 2 <= len(options) <= 3
    values = [o["value"] for o in options]
    assert "第二阶段：文本生成具体学什么？" in values
    assert all("第一阶段" not in v for v in values)
    # Clicking an option asks it: the suggestion itself finds an answer in the library.
    again = list(respond(bot, values[0], [{"role": "user", "content": "学习计划第一阶段学什么？"}]))[-1]
    assert any((m.get("metadata") or {}).get("title") for m in again)
    en = list(respond(bot, "What does the study plan recommend in the first three months?", []))[-1]
    assert all(o["value"].startswith("What ") for o in en[-1]["options"])


def test_chat_error_is_shown_not_raised(seed_index, components):
    from bot.service import StudyBot
    from ui.chat import respond

    bot = StudyBot(seed_index, components=components)

    def broken(*a, **k):
        raise RuntimeError("database /srv/secret-dir/index/manifest.sqlite is locked")
        yield  # pragma: no cover

    bot.ask_stream = broken
    last = list(respond(bot, "什么是杠铃阅读法？", []))[-1]
    # The learner sees that it failed and the kind of failure, never the server paths in its text.
    assert "⚠️" in last[0]["content"] and "RuntimeError" in last[0]["content"]
    assert "secret-dir" not in last[0]["content"]
