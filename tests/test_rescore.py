"""The re-scorer, the translation gate and the "not covered" floor."""
from __future__ import annotations

import pytest

from bot.core.text import tokenize
from bot.retrieval.rescore import RescoreWeights, rescore
from bot.retrieval.retriever import FusionConfig, translation_weight
from bot.service import StudyBot


def _idf(rare: set[str]):
    return lambda t: 5.0 if t in rare else 0.5


def test_passage_holding_the_rare_words_together_moves_up():
    q = "杠铃阅读法的另一端读什么"
    texts = {
        "a": "阅读很重要。" * 20,  # common words only, first by fused rank
        "b": "学习方法有很多。" * 10 + "杠铃阅读法：一端读经典，另一端读前沿论文。",
        "c": "另一端在这里。" + "无关内容。" * 40 + "杠铃出现在很远的地方。",
    }
    tokens = {c: tokenize(t) for c, t in texts.items()}
    order, ev = rescore(["a", "c", "b"], texts, tokens, [q], {"a": 0.85, "b": 0.85, "c": 0.85},
                        _idf({"杠铃", "阅读法", "另一端"}))
    assert order[0] == "b"
    assert ev["b"][0] > ev["c"][0] > ev["a"][0]  # best-stretch share: together > scattered > absent


def test_cosine_breaks_ties_and_fused_rank_still_counts():
    texts = {c: "同样的内容。" for c in "xyz"}
    tokens = {c: tokenize(t) for c, t in texts.items()}
    order, _ = rescore(["x", "y", "z"], texts, tokens, ["问题"], {"x": 0.80, "y": 0.90, "z": 0.80}, _idf(set()))
    assert order[0] == "y"
    order, _ = rescore(["x", "y", "z"], texts, tokens, ["问题"], {"x": 0.80, "y": 0.80, "z": 0.80}, _idf(set()))
    assert order == ["x", "y", "z"]  # nothing to tell them apart: fused order kept


def test_ids_without_text_keep_their_place_after_the_rescored():
    texts = {"a": "杠铃", "b": "杠铃阅读法"}
    order, _ = rescore(["a", "ghost", "b"], texts, {c: tokenize(t) for c, t in texts.items()}, ["杠铃阅读法"], {},
                       _idf({"杠铃", "阅读法"}), RescoreWeights(top=3))
    assert order == ["b", "a", "ghost"]


@pytest.mark.parametrize("own,other,expect", [(0.92, 0.84, "low"), (0.84, 0.92, "high"), (0.88, 0.88, "half")])
def test_translation_counts_when_it_matches_better(own, other, expect):
    w = translation_weight(own, other, FusionConfig())
    assert {"low": w < 0.01, "high": w > 0.99, "half": abs(w - 0.5) < 1e-9}[expect]


def test_off_topic_question_is_not_covered_and_on_topic_is(seed_index, components):
    bot = StudyBot(seed_index.with_overrides(llm="none"), components=components)
    off = "红烧肉怎么做才好吃？"
    assert bot.refuses(off, bot.search(off))
    ans = bot.ask(off)
    assert ans.status == "not_covered" and not ans.citations
    for q in ("什么是杠铃阅读法？", "学习计划的第一阶段学什么？"):
        assert not bot.refuses(q, bot.search(q)), q
        assert bot.ask(q).status == "retrieval_only"


def test_floor_can_be_turned_off(seed_index, components):
    bot = StudyBot(seed_index.with_overrides(llm="none", refuse_below_match=0.0), components=components)
    assert not bot.refuses("红烧肉怎么做才好吃？", bot.search("红烧肉怎么做才好吃？"))


def test_question_needing_a_translation_it_did_not_get_is_not_refused(seed_index, components):
    # The seeds are Chinese: an English question scores low against them whether or not they
    # answer it, so without its translation the bot shows what it found instead of refusing.
    bot = StudyBot(seed_index.with_overrides(llm="none"), components=components)
    q = "What is the barbell reading method?"
    assert not bot.refuses(q, bot.search(q))
