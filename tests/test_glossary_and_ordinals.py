"""Cross-lingual search without a model: the glossary's other-language terms, and English ordinals
that share the Chinese ordinal's token."""
from __future__ import annotations

import os

import pytest

from bot.core.text import tokenize
from bot.retrieval.glossary import glossary_phrasing, glossary_terms
from bot.service import StudyBot


def test_english_field_terms_get_their_chinese_words():
    terms = glossary_terms("How should a beginner start fine-tuning large language models?", "zh")
    assert {"微调", "大语言模型", "入门"} <= set(terms)
    # Plural and spacing variants match; words that are not field terms add nothing.
    assert "微调" in glossary_terms("Is fine tuning worth it?", "zh")
    assert glossary_phrasing("hello there, nice weather", "zh") is None


def test_chinese_terms_get_one_english_word_each():
    terms = glossary_terms("微调7B模型的推理成本是多少？", "en")
    assert terms[0] == "fine-tuning" and "cost" in terms
    assert not {"fine-tune", "finetuning", "fine-tuned"} & set(terms)  # one English word for 微调


def test_a_term_the_question_already_has_is_not_repeated():
    assert "LoRA" not in glossary_terms("What is LoRA?", "zh") and "低秩适配" in glossary_terms("What is LoRA?", "zh")


def test_admins_extend_the_glossary_with_a_tsv(tmp_path):
    f = tmp_path / "extra.tsv"
    f.write_text("barbell reading\t杠铃阅读法\t杠铃式阅读\n", encoding="utf-8")
    assert {"杠铃阅读法", "杠铃式阅读"} <= set(glossary_terms("What is barbell reading?", "zh", str(f)))
    assert "barbell reading" in glossary_terms("什么是杠铃阅读法？", "en", str(f))
    f.write_text("barbell reading\t杠铃阅读法\nwarm-up\t热身\n", encoding="utf-8")  # edited: re-read
    os.utime(f, (f.stat().st_atime, f.stat().st_mtime + 5))
    assert "热身" in glossary_terms("A warm-up exercise", "zh", str(f))
    with pytest.raises(FileNotFoundError):  # a typo in the setting is an error, not a silent no-op
        glossary_terms("What is barbell reading?", "zh", str(tmp_path / "missing.tsv"))


def test_english_ordinals_share_the_chinese_ordinal_token():
    for q in ("What about stage 2?", "And the second stage?", "phase two", "the 2nd stage"):
        assert "第2" in tokenize(q), q
    assert "第2" in tokenize("第二阶段") and "1-3" in tokenize("the first three months") and "1-3" in tokenize("前三个月")
    # "first" alone is not an ordinal of anything, and a range is not a numbered item.
    assert not [t for t in tokenize("First, read the months 1-3 plan.") if t.startswith("第")]


def test_glossary_finds_a_chinese_passage_for_an_english_question_without_a_model(seed_index, components):
    """The seeds are Chinese; with no LLM to translate, the glossary's terms are the only bridge."""
    q = "What does a content creator gain from fine-tuning a model, and what does inference cost?"
    needle = "$0.005"

    def rank(settings):
        hits = StudyBot(settings, components=components).search(q, k=10)
        return next((i for i, h in enumerate(hits) if needle in h.chunk.text), None)

    with_glossary = rank(seed_index.with_overrides(llm="fake"))
    without = rank(seed_index.with_overrides(llm="fake", glossary=False))
    assert with_glossary is not None and with_glossary < 5, with_glossary
    assert without is None or with_glossary < without, (with_glossary, without)


def test_the_stage_asked_for_outranks_its_siblings_in_bm25():
    """Siblings share every word but the number; the question's ordinal decides between them."""
    from bot.index.lexical import BM25

    docs = {
        "s2": "第二阶段：文本生成 (2-3个月) 语言模型基础",
        "s4": "第四阶段：音频生成 (1-2个月) 学习计划 阶段 学习 语音合成 学习计划 阶段",
        "s1": "第一阶段：生成式AI基础 (1-2个月) 学习计划 阶段 学习 学习计划",
    }
    bm = BM25().build(list(docs), [tokenize(t) for t in docs.values()])
    for q in ("学习计划的第二阶段学什么？", "What does stage 2 of the plan cover? 学习计划 阶段"):
        assert bm.search(q, 3)[0][0] == "s2", (q, bm.search(q, 3))


def test_an_unreadable_glossary_file_falls_back_to_the_built_in_one(seed_index, tmp_path, caplog, components):
    bot = StudyBot(seed_index.with_overrides(llm="fake", glossary_file=str(tmp_path / "gone.tsv")), components=components)
    assert "微调" in bot.glossary_terms("Is fine-tuning worth it?")[0]
    assert "gone.tsv" in caplog.text
    assert bot.ask("Is fine-tuning worth it for a content creator?").status == "ok"
