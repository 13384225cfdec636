"""Quizzes and flashcards: every question has one right answer among distinct options, and every
explanation quotes an indexed passage verbatim (Chinese seed library and an English source)."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil

import pytest
from conftest import SEEDS, make_settings

from bot.features.study_aids import (BLANK, Quiz, StudyAidError, documents, extract_facts, make_flashcards, make_quiz,
                            reword)
from bot.core.types import Chunk

EN_DOC = """# Machine learning glossary

## Core terms

- **Overfitting**: a model memorises noise in its training data and fails on new examples.
- **Gradient descent**: an optimisation method that follows the negative gradient of the loss.
- **Tokenizer**: splits raw text into the units a language model reads.
- **Embedding**: a dense vector that places similar items close together.
- **Learning rate**: the step size used when updating the weights during training.

## Retrieval

Retrieval augmented generation refers to answering with passages fetched from a library at question time.
A vector database is a store that indexes embeddings for nearest-neighbour search.
"""


def chunk_texts(bot) -> dict[str, str]:
    return {c.id: c.text for c in bot.index.manifest.all_chunks()}


def check_quiz(quiz: Quiz, bot) -> None:
    texts = chunk_texts(bot)
    assert quiz.questions
    for q in quiz.questions:
        assert len(q.options) == 4
        assert len({o.strip().lower() for o in q.options}) == 4, q.options
        assert 0 <= q.answer < 4
        # Exactly one option is the fact's term; no distractor is a variant of it.
        right = q.options[q.answer]
        assert sum(o == right for o in q.options) == 1
        assert not any(o != right and (o in right or right in o) for o in q.options)
        assert right not in q.question  # the stem does not give the answer away
        assert right in q.source.quote
        assert q.source.quote in texts[q.source.chunk_id]  # verbatim slice of the indexed passage
        assert os.path.exists(q.source.path)
        assert right in q.explanation and q.source.title in q.explanation


@pytest.fixture(scope="module")
def en_settings(tmp_path_factory, components):
    """An English source indexed next to a copy of the seeds (BM25 only: quizzes from a source need no vectors)."""
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("en")
    lib = base / "library"
    shutil.copytree(SEEDS, lib / "seeds")
    (lib / "docs").mkdir()
    (lib / "docs" / "ml_glossary.md").write_text(EN_DOC, encoding="utf-8")
    settings = make_settings(lib, base / "index", llm="none")
    rep = ingest(None, settings, embed=False, index=components.index(settings))
    assert not rep.failed
    return settings


@pytest.fixture
def bot_for(components):
    """A StudyBot on the session's components (one open index, one fact pool per library)."""
    from bot.service import StudyBot

    return lambda settings: StudyBot(settings, components=components)


def test_extracts_definitions_and_glossary_items_with_verbatim_spans():
    zh = Chunk(id="z", path="/x.md", title="T", section="优质信息在哪里？ > 一手信息",
               text="一手信息一手信息，指直接从原始数据源获得的信息，例如观察和实验。\n- 优点：很多\n- 生成式AI原理：理解GPT、Diffusion等模型的工作逻辑")
    facts = {f.term: f for f in extract_facts(zh)}
    assert set(facts) == {"一手信息", "生成式AI原理"}  # the glued heading is skipped; "优点" is too generic
    d = facts["一手信息"]
    assert d.kind == "definition" and d.statement.startswith(BLANK + "，指直接从原始数据源")
    assert d.quote == "一手信息，指直接从原始数据源获得的信息，例如观察和实验。" and d.quote in zh.text
    en = Chunk(id="e", path="/y.md", title="T", section="Core", text=EN_DOC)
    terms = {f.term: f for f in extract_facts(en)}
    assert {"Overfitting", "Tokenizer", "Retrieval augmented generation", "vector database"} <= set(terms)
    assert terms["vector database"].statement == BLANK + " is a store that indexes embeddings for nearest-neighbour search."
    assert "This" not in terms and all(f.quote in en.text for f in terms.values())


def test_quiz_from_every_seed_source_is_well_formed(seed_index, bot_for):
    bot = bot_for(seed_index)
    docs = documents(bot)
    assert len(docs) == 5
    total = 0
    for d in docs:
        try:
            quiz = make_quiz(bot, source=d["path"], n=5)
        except StudyAidError:
            continue  # a source without definitions or glossary items yields a clear error, not nonsense
        assert quiz.lang == "zh" and quiz.source_path == d["path"]
        assert all(q.source.path == d["path"] for q in quiz.questions)
        check_quiz(quiz, bot)
        total += len(quiz.questions)
    assert total >= 12


def test_topic_quiz_is_on_topic_and_deterministic(seed_index, bot_for):
    bot = bot_for(seed_index)
    quiz = make_quiz(bot, topic="杠铃阅读法", n=3)
    check_quiz(quiz, bot)
    assert quiz.questions[0].options[quiz.questions[0].answer] == "杠铃式阅读法"
    assert make_quiz(bot, topic="杠铃阅读法", n=3) == quiz
    en = make_quiz(bot, topic="杠铃阅读法", n=3, lang="en")
    assert en.questions[0].question.startswith("Fill in the blank") and en.lang == "en"


def test_flashcards_and_exports(seed_index, bot_for):
    bot = bot_for(seed_index)
    deck = make_flashcards(bot, source="002_c0490f06c8b4e4df.txt", n=6)  # a path's tail is enough
    texts = chunk_texts(bot)
    assert 1 <= len(deck.cards) <= 6
    for c in deck.cards:
        assert c.front and c.back and BLANK not in c.back
        assert c.source.quote in texts[c.source.chunk_id]
    tsv = deck.to_tsv().splitlines()
    body = [line for line in tsv if not line.startswith("#")]
    assert len(body) == len(deck.cards) and all(line.count("\t") == 2 for line in body)
    rows = list(csv.reader(io.StringIO(deck.to_csv())))
    assert rows[0] == ["front", "back", "tags"] and len(rows) == len(deck.cards) + 1
    md = deck.to_markdown()
    assert deck.cards[0].front in md and deck.cards[0].source.path in md


def test_english_source_gives_english_quiz(en_settings, bot_for):
    bot = bot_for(en_settings)
    path = next(d["path"] for d in documents(bot) if d["path"].endswith("ml_glossary.md"))
    quiz = make_quiz(bot, source=path, n=5)
    assert quiz.lang == "en" and len(quiz.questions) == 5
    check_quiz(quiz, bot)
    assert all(q.question.startswith(("Which item", "Fill in the blank", "Which of these is listed")) for q in quiz.questions)
    md = quiz.to_markdown()
    assert md.startswith("# Quiz: ml_glossary.md") and md.count("<details>") == 5
    cards = make_flashcards(bot, source=path, n=3, lang="zh")
    assert cards.lang == "zh" and len(cards.cards) == 3


def test_bad_input_is_a_clear_error(en_settings, bot_for):
    bot = bot_for(en_settings)
    with pytest.raises(StudyAidError, match="not an indexed source"):
        make_quiz(bot, source="/nope/missing.md")
    with pytest.raises(StudyAidError, match="topic or a source"):
        make_quiz(bot, topic="  ")
    with pytest.raises(StudyAidError, match="1 to 20"):
        make_quiz(bot, source="ml_glossary.md", n=0)
    with pytest.raises(StudyAidError, match="zh or en"):
        make_flashcards(bot, source="ml_glossary.md", lang="fr")


class StubModel:
    def __init__(self, reply):
        self.reply = reply

    def invoke(self, prompt):
        if isinstance(self.reply, Exception):
            raise self.reply
        from langchain_core.messages import AIMessage

        return AIMessage(content=self.reply(prompt))


def test_llm_rewording_is_checked_and_falls_back(en_settings, bot_for):
    bot = bot_for(en_settings.with_overrides(study_llm=True, study_llm_seconds=5))
    quiz = make_quiz(bot, source="ml_glossary.md", n=3)  # llm=none: no rewording attempted
    cloze = next(q for q in quiz.questions if BLANK in q.question)

    bot.use_chat_model(StubModel(lambda p: "Complete: " + p.split("Question: ", 1)[1].split(": ", 1)[1]))
    better = reword(quiz, bot)
    assert [q.answer for q in better.questions] == [q.answer for q in quiz.questions]
    assert next(q for q in better.questions if q.id == cloze.id).question.startswith("Complete: ")

    bot.use_chat_model(StubModel(lambda p: f"The answer is {cloze.correct}: ____"))  # gives the answer away
    assert next(q for q in reword(quiz, bot).questions if q.id == cloze.id).question == cloze.question
    bot.use_chat_model(StubModel(RuntimeError("model down")))
    assert reword(quiz, bot) == quiz


def test_cli_quiz_json(seed_index, capsys):
    from ui import cli

    argv = ["quiz", "--topic", "杠铃阅读法", "--n", "2", "--json", "--index-dir", str(seed_index.index_dir),
            "--llm", "none"]
    os.environ["STUDYBOT_LIBRARY_DIR"] = str(seed_index.library_dir)
    try:
        assert cli.main(argv) == 0
    finally:
        del os.environ["STUDYBOT_LIBRARY_DIR"]
    quiz = Quiz.model_validate(json.loads(capsys.readouterr().out))
    assert quiz.questions and quiz.topic == "杠铃阅读法"
    assert cli.main(["quiz", "--index-dir", str(seed_index.index_dir)]) == 2


# --- every kind of item, in both languages; topic drift; English grammar -------------------------------
GUIDE_EN = """# Fine-tuning guide

## How to fine-tune a model

Fine-tuning takes a few steps in order. The fine-tuning process has these steps:

1. Collect the training data
2. Clean the examples
3. Train the model
4. Evaluate the results
5. Deploy the model

## Decoding

Decoding decides how the model picks the next token from its probability distribution.

Popular decoding strategies include:

- Greedy search
- Beam search
- Top-k sampling
- Nucleus sampling

## Prompting or fine-tuning

Prompting and fine-tuning are two ways to adapt a model to a task.

Unlike fine-tuning, prompting does not change the model weights.
To explain how tasks are split is a good exercise for new learners.

## History

Large language models have a short history.

The Transformer architecture was introduced in 2017 by researchers at Google.
A typical context window holds 4096 tokens.
"""
GUIDE_ZH = """# 微调指南

## 微调的步骤

微调要按顺序做几件事。微调的流程如下：

1. 收集训练数据
2. 清洗样本
3. 训练模型
4. 评估效果
5. 部署上线

## 解码

解码决定模型如何从概率分布中选出下一个词。

常见的解码策略包括：

- 贪心搜索
- 束搜索
- 温度采样
- 核采样

## 提示还是微调

提示和微调是让模型完成任务的两种方式。

与微调不同，提示工程不会改变模型的权重。

## 历史

大模型的历史并不长。

Transformer 架构于2017年由谷歌的研究者提出。
"""
MEMORY_ZH = """# 记忆方法

## 间隔重复阅读法

间隔重复阅读法是指按照遗忘曲线安排复习时间的一种阅读方法。

间隔重复的复习间隔通常是1天、3天、7天，每次复习只需要10分钟。
"""


@pytest.fixture(scope="module")
def kinds_settings(tmp_path_factory, components):
    """The seeds plus an English and a Chinese guide holding a procedure, a list, a comparison and facts, and a
    note on 间隔重复阅读法 (a reading method that is not 杠铃阅读法). BM25 only."""
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("kinds")
    lib = base / "library"
    shutil.copytree(SEEDS, lib / "seeds")
    (lib / "docs").mkdir()
    for name, text in (("guide_en.txt", GUIDE_EN), ("guide_zh.txt", GUIDE_ZH), ("memory_zh.txt", MEMORY_ZH)):
        (lib / "docs" / name).write_text(text, encoding="utf-8")
    settings = make_settings(lib, base / "index", llm="none")
    assert not ingest(None, settings, embed=False, index=components.index(settings)).failed
    return settings


def by_kind(quiz: Quiz) -> dict[str, list]:
    out: dict[str, list] = {}
    for q in quiz.questions:
        out.setdefault(q.kind, []).append(q)
    return out


@pytest.mark.parametrize("doc,lang", [("guide_en.txt", "en"), ("guide_zh.txt", "zh")])
def test_every_kind_of_item(kinds_settings, bot_for, doc, lang):
    bot = bot_for(kinds_settings)
    quiz = make_quiz(bot, source=doc, n=20)
    assert quiz.lang == lang
    check_quiz(quiz, bot)
    kinds = by_kind(quiz)
    assert {"step", "member", "compare", "cloze"} <= set(kinds), {k: [q.question for q in v] for k, v in kinds.items()}
    steps = ["Collect the training data", "Clean the examples", "Train the model", "Evaluate the results",
             "Deploy the model"] if lang == "en" else ["收集训练数据", "清洗样本", "训练模型", "评估效果", "部署上线"]
    for q in kinds["step"]:  # the right option is the step right after the one in the question
        before = next(s for s in steps if f"“{s}”" in q.question)
        assert q.correct == steps[steps.index(before) + 1]
        assert sum(o in steps for o in q.options) >= 3  # the procedure's own steps are the wrong options first
    members = ["Greedy search", "Beam search", "Top-k sampling", "Nucleus sampling"] if lang == "en" else \
        ["贪心搜索", "束搜索", "温度采样", "核采样"]
    for q in kinds["member"]:  # one listed item, three that are not in the list
        assert q.correct in members and sum(o in members for o in q.options) == 1
    cmp = kinds["compare"][0]
    assert cmp.correct == ("prompting" if lang == "en" else "提示工程")
    assert ("fine-tuning" if lang == "en" else "微调") in cmp.options  # the other side is the trap
    cloze = next(q for q in kinds["cloze"] if "2017" in q.correct)
    assert cloze.correct == ("2017" if lang == "en" else "2017年") and BLANK in cloze.question
    assert len({o for o in cloze.options}) == 4 and all(o[:2] in ("20", "19") for o in cloze.options)
    if lang == "en":
        assert cloze.question == "Fill in the blank: “The Transformer architecture was introduced in ____ by " \
                                 "researchers at Google.”"
        q = next(q for q in kinds["step"] if "“Collect the training data”" in q.question)
        assert q.question == "In “The fine-tuning process”, which step comes right after “Collect the training data”?"
    deck = make_flashcards(bot, source=doc, n=20)
    fronts = [c.front for c in deck.cards]
    assert any(("comes after" if lang == "en" else "之后是哪一步") in f for f in fronts)
    assert any(("What does" if lang == "en" else "列出了哪几项") in f for f in fronts)


def test_english_cards_are_grammatical(kinds_settings, bot_for):
    bot = bot_for(kinds_settings)
    deck = make_flashcards(bot, source="guide_en.txt", n=20)
    fronts = [c.front for c in deck.cards]
    assert not any(f.startswith(("What is To", "What is to ", "What are To")) for f in fronts), fronts
    chunk = Chunk(id="g", path="/g.md", title="T", section="S",
                  text="To explain how tasks are split is a good exercise. Using tools is a skill. "
                       "Transformers are neural networks that process sequences in parallel.")
    facts = {f.term: f for f in extract_facts(chunk)}
    assert set(facts) == {"Transformers"}  # "To explain how tasks", "Using tools": clauses, not things
    from bot.features.study_aids import LABELS, card_text

    assert card_text(facts["Transformers"], LABELS["en"])[0] == "What are Transformers?"


def test_topic_quiz_does_not_drift(kinds_settings, bot_for):
    bot = bot_for(kinds_settings)
    quiz = make_quiz(bot, topic="杠铃阅读法", n=10)
    check_quiz(quiz, bot)
    for q in quiz.questions:
        text = q.question + " ".join(q.options) + q.source.quote + (q.source.section or "")
        assert "杠铃" in text and "间隔重复" not in q.source.quote, q.question
    deck = make_flashcards(bot, topic="杠铃阅读法", n=10)
    assert deck.cards and all("间隔重复" not in c.source.quote for c in deck.cards)
    # The other reading method still has its own quiz.
    other = make_quiz(bot, topic="间隔重复阅读法", n=5)
    assert all("杠铃" not in q.source.quote for q in other.questions)


def test_a_topic_in_other_words_than_the_library_still_gets_a_quiz_from_its_best_passages(en_settings, bot_for):
    # Asked "信息来源"; the seed says "信息源" / "二手信息": no fact holds most of the topic's words.
    bot = bot_for(en_settings)
    quiz = make_quiz(bot, topic="信息来源", n=3)
    check_quiz(quiz, bot)
    assert quiz.questions and all("信息" in q.source.quote for q in quiz.questions)


def test_one_question_per_list_not_one_per_member(en_settings, bot_for):
    bot = bot_for(en_settings)
    quiz = make_quiz(bot, topic="提示词", n=5)
    stems = [q.question for q in quiz.questions]
    assert len(stems) == len(set(stems)), stems
